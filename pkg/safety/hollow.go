package safety

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// CheckHollow is the check of the hollow nodes' pod capacity against the pods placed only on them.
const CheckHollow = "hollow-pod-slots"

// HollowRequirements are run --hollow-nodes' part of the requirements.
type HollowRequirements struct {
	Nodes       int    // --hollow-nodes
	Max         int    // --max-hollow-nodes
	PodsPerNode int    // each hollow node's pod capacity (0: 110)
	RunID       string // the run's id (the estimate's object names)
	// OnHollow are the modes whose pods go only to the hollow nodes (on: hollow): they count against the hollow
	// nodes' pod slots, not against the real nodes' free capacity.
	OnHollow []string
}

// HollowPlan is the safety plan's account of the hollow nodes.
type HollowPlan struct {
	Nodes       int    `json:"nodes"`
	Max         int    `json:"max"`
	PodsPerNode int    `json:"podsPerNode"`
	Pods        int    `json:"pods"`     // the run's pods placed only on them, all steps
	Etcd        string `json:"etcd"`     // the estimate of the etcd bytes they add (hollow.Estimate)
	PodCIDRs    string `json:"podCIDRs"` // the pod CIDR allocation check
	// TolerateAll are the DaemonSets whose pods tolerate every taint: one of their pods lands on every hollow node.
	TolerateAll []string `json:"tolerateAll,omitempty"`
	OtherKwok   string   `json:"otherKwok,omitempty"` // another kwok found in the cluster (left alone)
	Warnings    []string `json:"warnings,omitempty"`
}

// hollowAccesses are what deploying and removing the hollow nodes needs (pkg/hollow), in the run's probe
// namespace ns, including what kwok's ClusterRole grants (creating it needs holding it).
func hollowAccesses(ns string) []authz.Access {
	const why = "--hollow-nodes: kwok and its nodes"
	var out []authz.Access
	add := func(group, resource, namespace string, verbs ...string) {
		for _, v := range verbs {
			out = append(out, authz.Access{Verb: v, Group: group, Resource: resource, Namespace: namespace, Reason: why})
		}
	}
	add("", "nodes", "", "create", "get", "list", "watch", "delete")
	out = append(out, authz.Access{Verb: "deletecollection", Resource: "nodes", Optional: true, Reason: why + " (deleted at once)"},
		authz.Access{Verb: "deletecollection", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Optional: true,
			Reason: why + " (deleted at once)"})
	add("", "nodes/status", "", "patch", "update")
	add("coordination.k8s.io", "leases", "kube-node-lease", "create", "get", "list", "watch", "patch", "update", "delete")
	add("coordination.k8s.io", "leases", "", "create", "get", "list", "watch", "patch", "update")
	add(rbacGroup, "clusterroles", "", "create", "list", "delete")
	add(rbacGroup, "clusterrolebindings", "", "create", "list", "delete")
	add("apps", "deployments", ns, "create", "delete")
	add("apps", "deployments", "", "list")
	add("apps", "daemonsets", "", "list")
	add("", "serviceaccounts", ns, "create", "delete")
	add("", "serviceaccounts", "", "list")
	add("", "configmaps", ns, "create", "delete")
	add("", "pods", "", "get", "list", "watch", "delete", "patch", "update")
	add("", "pods/status", "", "patch", "update")
	add("", "events", "", "create", "patch", "update")
	return out
}

// checkHollow adds the hollow nodes to plan: the pods placed only on them are taken off the real nodes' capacity
// checks (cpu, memory, pod slots, fit: recomputed without them) and checked against the hollow nodes' pod slots;
// the cap, the DaemonSets that tolerate every taint, the etcd estimate, the pod CIDRs and another kwok are shown.
func checkHollow(ctx context.Context, client kubernetes.Interface, h *HollowRequirements, sel *modes.Selection, steps int, limits Limits, capacity Capacity, plan *Plan) error {
	hp := &HollowPlan{Nodes: h.Nodes, Max: h.Max, PodsPerNode: h.PodsPerNode}
	if hp.PodsPerNode == 0 {
		hp.PodsPerNode = 110
	}
	if h.Nodes > h.Max {
		return fmt.Errorf("invalid --hollow-nodes %d: above --max-hollow-nodes %d", h.Nodes, h.Max)
	}
	// the real nodes' checks without the pods placed on hollow nodes only
	real, hollowOnly := &modes.Selection{Settings: sel.Settings}, &modes.Selection{Settings: sel.Settings}
	for _, m := range sel.Modes {
		if slices.Contains(h.OnHollow, m.Name) {
			hollowOnly.Modes = append(hollowOnly.Modes, m)
		} else {
			real.Modes = append(real.Modes, m)
		}
	}
	if len(hollowOnly.Modes) > 0 {
		hc, err := hollowOnly.StepCost()
		if err != nil {
			return fmt.Errorf("safety plan: %w", err)
		}
		hp.Pods = hc.Pods * steps
		var realChecks []PlanCheck
		if len(real.Modes) > 0 {
			rp, err := Compute(real, steps, limits, capacity)
			if err != nil {
				return err
			}
			realChecks = rp.Checks
		}
		var keep []PlanCheck
		for _, c := range plan.Checks {
			switch c.Name {
			case CheckCPU, CheckMemory, CheckPodSlots, CheckFit:
				for _, rc := range realChecks {
					if rc.Name == c.Name {
						keep = append(keep, rc)
					}
				}
				continue
			}
			keep = append(keep, c)
		}
		slots := int64(h.Nodes * hp.PodsPerNode)
		c := PlanCheck{Name: CheckHollow, Value: int64(hp.Pods), Limit: slots, OK: int64(hp.Pods) <= slots}
		if c.OK {
			c.Message = fmt.Sprintf("%s: %d pods on the hollow nodes only (%s), within their %d pod slots", CheckHollow, hp.Pods, strings.Join(h.OnHollow, ", "), slots)
		} else {
			c.Message = fmt.Sprintf("%s: %d pods on the hollow nodes only (%s), %d more than their %d pod slots (maxPods would be exhausted)",
				CheckHollow, hp.Pods, strings.Join(h.OnHollow, ", "), int64(hp.Pods)-slots, slots)
		}
		plan.Checks = append(keep, c)
	}
	est := hollow.Estimate(hollow.Options{RunID: h.RunID, Nodes: h.Nodes, PodsPerNode: hp.PodsPerNode}, hp.Pods)
	hp.Etcd = est.String()
	if ds, err := hollow.TolerateAll(ctx, client); err != nil {
		hp.Warnings = append(hp.Warnings, "DaemonSets not checked: "+err.Error())
	} else if len(ds) > 0 {
		hp.TolerateAll = ds
		hp.Warnings = append(hp.Warnings, fmt.Sprintf("DaemonSets that tolerate every taint put a pod on each hollow node (%d more pods, which never run): %s",
			len(ds)*h.Nodes, strings.Join(ds, ", ")))
	}
	if cidrs, err := hollow.CheckPodCIDRs(ctx, client, ""); err != nil {
		hp.PodCIDRs = "pod CIDRs not checked: " + err.Error()
	} else {
		hp.PodCIDRs = cidrs.String()
		if !cidrs.Enough(h.Nodes) {
			hp.Warnings = append(hp.Warnings, fmt.Sprintf("only %d free pod CIDR blocks for %d hollow nodes: the rest get none (kwok gives their pods fake IPs; real nodes added later would get none)",
				cidrs.Free, h.Nodes))
		}
	}
	if other, err := hollow.Detect(ctx, client, h.RunID); err == nil && other.Found() {
		hp.OtherKwok = other.String()
	}
	plan.Hollow = hp
	plan.Blocked = len(plan.Failed()) > 0
	return nil
}

// writeHollow renders the hollow nodes' part of the plan text.
func (p Plan) writeHollow(ew *errWriter) {
	h := p.Hollow
	if h == nil {
		return
	}
	ew.printf("\nHOLLOW NODES (kwok): %d of at most %d (--max-hollow-nodes), %d pod slots each; created before the baseline, so every phase measures with them\n",
		h.Nodes, h.Max, h.PodsPerNode)
	ew.printf("  %s\n", h.Etcd)
	ew.printf("  %s\n", h.PodCIDRs)
	if h.OtherKwok != "" {
		ew.printf("  %s\n", h.OtherKwok)
	}
	for _, w := range h.Warnings {
		ew.printf("  WARNING: %s\n", w)
	}
}
