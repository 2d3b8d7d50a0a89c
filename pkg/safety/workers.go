package safety

import (
	"fmt"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
)

// CheckWorkers is the check of run --load-from cluster's worker pods: how many (within --max-workers) and what they
// request, against the free capacity left by the rest of the run.
const CheckWorkers = "load-workers"

// WorkersRequirements are run --load-from cluster's part of the requirements.
type WorkersRequirements struct {
	N   int // --workers: worker pods per step (one step's Job at a time)
	Max int // --max-workers
	// CPUMillis and MemoryMi are the requests (= limits) of one worker pod at the last (largest) step.
	CPUMillis, MemoryMi int64
}

// WorkersPlan is the safety plan's account of the worker pods.
type WorkersPlan struct {
	PerStep   int   `json:"perStep"` // pods at once (a step's Job; deleted at the step's end)
	Total     int   `json:"total"`   // pods over the run
	CPUMillis int64 `json:"cpuMillis"`
	MemoryMi  int64 `json:"memoryMi"`
}

// workersAccesses are what running the workers needs in the step namespace ns: their Job, ServiceAccount, Role and
// RoleBinding (granting the engines' own accesses, which the run holds already), reading their pods and logs, and
// the start ConfigMap.
func workersAccesses(ns string) []authz.Access {
	const why = "--load-from cluster: the load workers"
	var out []authz.Access
	add := func(group, resource string, verbs ...string) {
		for _, v := range verbs {
			out = append(out, authz.Access{Verb: v, Group: group, Resource: resource, Namespace: ns, Reason: why})
		}
	}
	add("batch", "jobs", "create", "get", "delete")
	add("", "serviceaccounts", "create")
	add(rbacGroup, "roles", "create")
	add(rbacGroup, "rolebindings", "create")
	add("", "pods", "get", "list", "deletecollection")
	add("", "pods/log", "get")
	add("", "configmaps", "create")
	return out
}

// checkWorkers adds the worker pods to plan: their count against --max-workers and --max-pods (with the run's other
// pods), their CPU and memory against the free capacity the run leaves (one step's workers at once).
func checkWorkers(w *WorkersRequirements, steps int, limits Limits, capacity Capacity, plan *Plan) {
	wp := &WorkersPlan{PerStep: w.N, Total: w.N * steps, CPUMillis: int64(w.N) * w.CPUMillis, MemoryMi: int64(w.N) * w.MemoryMi}
	plan.Workers = wp
	freeCPU, freeMem := capacity.CPUMillis-plan.Total.CPUMillis, capacity.MemoryMi-plan.Total.MemoryMi
	freePods := int64(capacity.Pods) - int64(plan.Total.Pods)
	c := PlanCheck{Name: CheckWorkers, Value: int64(w.N), Limit: int64(w.Max), OK: true}
	desc := fmt.Sprintf("%d worker pods per step (%d over the run), %dm CPU and %dMi memory at once (%dm, %dMi each)",
		w.N, wp.Total, wp.CPUMillis, wp.MemoryMi, w.CPUMillis, w.MemoryMi)
	switch {
	case w.N > w.Max:
		c.OK, c.Message = false, fmt.Sprintf("%s: %s, %d more than --max-workers %d", c.Name, desc, w.N-w.Max, w.Max)
	case plan.Total.Pods+wp.Total > limits.MaxPods:
		c.OK, c.Message = false, fmt.Sprintf("%s: %s; with the run's %d other pods %d more than --max-pods %d", c.Name, desc,
			plan.Total.Pods, plan.Total.Pods+wp.Total-limits.MaxPods, limits.MaxPods)
	case wp.CPUMillis > freeCPU:
		c.OK, c.Message = false, fmt.Sprintf("%s: %s, %dm CPU more than the %dm the run leaves free on %s", c.Name, desc, wp.CPUMillis-freeCPU, max(freeCPU, 0), capacity.where())
	case wp.MemoryMi > freeMem:
		c.OK, c.Message = false, fmt.Sprintf("%s: %s, %dMi memory more than the %dMi the run leaves free on %s", c.Name, desc, wp.MemoryMi-freeMem, max(freeMem, 0), capacity.where())
	case int64(w.N) > freePods:
		c.OK, c.Message = false, fmt.Sprintf("%s: %s, %d more than the %d free pod slots the run leaves on %s", c.Name, desc, int64(w.N)-freePods, max(freePods, 0), capacity.where())
	default:
		c.Message = fmt.Sprintf("%s: %s, within --max-workers %d and the free capacity on %s", c.Name, desc, w.Max, capacity.where())
	}
	plan.Checks = append(plan.Checks, c)
	if !c.OK {
		plan.Blocked = true
	}
}
