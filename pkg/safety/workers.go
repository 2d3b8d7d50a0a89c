package safety

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/workers"
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
	// FlowSchema: --workers-flowschema; RunID, Namespaces (the step namespaces) and Resources (what the loads write)
	// say what it creates (workers.PlanAPF).
	FlowSchema bool
	RunID      string
	Namespaces []string
	Resources  []string
}

// WorkersPlan is the safety plan's account of the worker pods.
type WorkersPlan struct {
	PerStep   int   `json:"perStep"` // pods at once (a step's Job; deleted at the step's end)
	Total     int   `json:"total"`   // pods over the run
	CPUMillis int64 `json:"cpuMillis"`
	MemoryMi  int64 `json:"memoryMi"`
	// APF: --workers-flowschema, the FlowSchema and priority level the run creates and the seat share they take.
	APF *result.APF `json:"apf,omitempty"`
}

// CheckWorkersAPF is the plan's line for --workers-flowschema (never blocking: it says what is created and what
// it takes from every other priority level).
const CheckWorkersAPF = "workers-flowschema"

// apfAccesses are what --workers-flowschema needs: creating, reading and deleting a FlowSchema and a priority level
// (cluster-scoped).
func apfAccesses() []authz.Access {
	const why = "--workers-flowschema: the workers' FlowSchema and priority level"
	var out []authz.Access
	for _, r := range []string{"flowschemas", "prioritylevelconfigurations"} {
		for _, v := range []string{"create", "get", "list", "delete"} {
			out = append(out, authz.Access{Verb: v, Group: "flowcontrol.apiserver.k8s.io", Resource: r, Reason: why})
		}
	}
	return out
}

// checkWorkersAPF adds to plan what --workers-flowschema creates (from the cluster's FlowSchemas and priority levels
// as they are now): the two objects, the level copied, and the share of seats the new level takes.
func checkWorkersAPF(ctx context.Context, client kubernetes.Interface, w *WorkersRequirements, plan *Plan) error {
	ap, err := workers.ReadAPF(ctx, client, w.RunID, w.Namespaces, w.Resources)
	if err != nil {
		return err
	}
	doc := ap.Doc
	plan.Workers.APF = &doc
	plan.Checks = append(plan.Checks, PlanCheck{Name: CheckWorkersAPF, OK: true, Value: int64(doc.Spec.NominalConcurrencyShares),
		Message: fmt.Sprintf("%s: creates FlowSchema %s (precedence %d: every request of the workers' ServiceAccount in the step namespaces) "+
			"and PriorityLevelConfiguration %s, a copy of %s (%s; the workers' requests fall into it through FlowSchema %s), deleted at the teardown; "+
			"its %d shares join the %d of every priority level: every other level's nominal seats shrink by %.1f%% while it exists",
			CheckWorkersAPF, doc.FlowSchema, doc.MatchingPrecedence, doc.PriorityLevel, doc.CopiedFrom.PriorityLevel,
			describeSpec(doc.Spec), doc.CopiedFrom.FlowSchema, doc.Spec.NominalConcurrencyShares, doc.SharesSum, 100*doc.OthersShrink)})
	return nil
}

// describeSpec is "30 shares, lendable 50%, queues 64 x hand 6, length 50".
func describeSpec(s result.APFSpec) string {
	d := fmt.Sprintf("%d shares, lendable %d%%", s.NominalConcurrencyShares, s.LendablePercent)
	if s.BorrowingLimitPercent != nil {
		d += fmt.Sprintf(", borrowing limit %d%%", *s.BorrowingLimitPercent)
	}
	if s.LimitResponse == "Queue" {
		return d + fmt.Sprintf(", %d queues x hand %d, length %d", s.Queues, s.HandSize, s.QueueLengthLimit)
	}
	return d + ", " + s.LimitResponse
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
