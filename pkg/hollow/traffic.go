package hollow

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// TrafficWatch counts kwok's writes for a run's hollow nodes as two watches see them (this machine's receive time,
// per second): lease renewals (MODIFIED events of the run's Leases in kube-node-lease: only kwok renews them) and
// node updates (MODIFIED events of the run's Nodes: kwok's status heartbeats, plus the rare write of another
// controller, e.g. the node lifecycle controller's taints). It is a client-side count of what the apiserver
// accepted and notified, not the apiserver's own account (which has no per-client figure); kwok's pod status writes
// and its reads (list/watch) are not counted.
type TrafficWatch struct {
	mu     sync.Mutex
	leases map[int64]int // unix second -> MODIFIED leases
	nodes  map[int64]int
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   []string
}

// WatchTraffic starts counting kwok's writes for runID's hollow nodes; Stop ends it.
func WatchTraffic(ctx context.Context, c kubernetes.Interface, runID string) (*TrafficWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	t := &TrafficWatch{leases: map[int64]int{}, nodes: map[int64]int{}, cancel: cancel}
	leaseSel := cluster.Selector(runID) + "," + cluster.ComponentLabel + "=" + ComponentLease
	nodeSel := cluster.Selector(runID) + "," + cluster.ComponentLabel + "=" + ComponentNode
	leases := c.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	l, err := leases.List(ctx, metav1.ListOptions{LabelSelector: leaseSel, Limit: 1})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to list the hollow nodes' leases: %w", err)
	}
	n, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: nodeSel, Limit: 1})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to list the hollow nodes: %w", err)
	}
	for _, w := range []struct {
		rv    string
		sel   string
		watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
		count map[int64]int
	}{
		{l.ResourceVersion, leaseSel, leases.Watch, t.leases},
		{n.ResourceVersion, nodeSel, c.CoreV1().Nodes().Watch, t.nodes},
	} {
		sel, watchFn := w.sel, w.watch
		rw, err := watchtools.NewRetryWatcherWithContext(ctx, w.rv, &cache.ListWatch{
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = sel
				return watchFn(ctx, o)
			}})
		if err != nil {
			cancel()
			t.wg.Wait()
			return nil, fmt.Errorf("failed to watch the hollow nodes: %w", err)
		}
		count := w.count
		t.wg.Go(func() {
			defer rw.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-rw.ResultChan():
					if !ok {
						return
					}
					switch ev.Type {
					case watch.Modified:
						t.mu.Lock()
						count[time.Now().Unix()]++
						t.mu.Unlock()
					case watch.Error:
						t.mu.Lock()
						t.errs = append(t.errs, fmt.Sprint(ev.Object))
						t.mu.Unlock()
					}
				}
			}
		})
	}
	return t, nil
}

// Stop ends the watches and waits for them.
func (t *TrafficWatch) Stop() {
	if t == nil {
		return
	}
	t.cancel()
	t.wg.Wait()
}

// Count returns the lease renewals and node updates seen in the seconds from from to to (whole seconds, from's
// included, to's excluded, so that adjacent phases never count a second twice).
func (t *TrafficWatch) Count(from, to time.Time) (leases, nodes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := from.Unix(); s < to.Unix(); s++ {
		leases += t.leases[s]
		nodes += t.nodes[s]
	}
	return leases, nodes
}

// Errors are the watch errors seen (the counts may miss events after one).
func (t *TrafficWatch) Errors() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.errs)
}

// Identity is who kwok's requests come from: its ServiceAccount's user name and groups.
func (h *Hollow) Identity() (user string, groups []string) {
	ns := h.opts.Namespace
	return "system:serviceaccount:" + ns + ":" + controllerName(h.opts.RunID),
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

// Request is one kind of request kwok makes, for FlowSchema matching.
type Request struct {
	Name      string // what it is, e.g. "lease renewal"
	Verb      string
	APIGroup  string
	Resource  string // with its subresource: nodes/status
	Namespace string // "" cluster-scoped
}

// KwokRequests are kwok's recurring writes for hollow nodes.
var KwokRequests = []Request{
	{Name: "lease renewal", Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: corev1.NamespaceNodeLease},
	{Name: "node status", Verb: "patch", APIGroup: "", Resource: "nodes/status"},
	{Name: "pod status", Verb: "patch", APIGroup: "", Resource: "pods/status", Namespace: "*"},
}

// FlowSchemaMatch is the API Priority and Fairness FlowSchema a request of kwok's falls in, and its priority level.
type FlowSchemaMatch struct {
	Request       string `json:"request"`
	FlowSchema    string `json:"flowSchema"`
	PriorityLevel string `json:"priorityLevel"`
	// Dedicated: the FlowSchema names kwok's ServiceAccount (or its namespace) itself, not only a group every
	// ServiceAccount is in.
	Dedicated bool `json:"dedicated"`
}

// MatchFlowSchemas says which FlowSchema each of reqs from user (in groups) falls in, by APF's rules: the first by
// matchingPrecedence (then name) with a rule matching both the subject and the request. A namespace of "*" in a
// request stands for any namespace (only rules matching every namespace match it).
func MatchFlowSchemas(schemas []flowcontrolv1.FlowSchema, user string, groups []string, reqs []Request) []FlowSchemaMatch {
	sorted := slices.Clone(schemas)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Spec.MatchingPrecedence != sorted[j].Spec.MatchingPrecedence {
			return sorted[i].Spec.MatchingPrecedence < sorted[j].Spec.MatchingPrecedence
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out []FlowSchemaMatch
	for _, req := range reqs {
		m := FlowSchemaMatch{Request: req.Name}
		for _, fs := range sorted {
			if dedicated, ok := matchSchema(fs, user, groups, req); ok {
				m.FlowSchema, m.PriorityLevel, m.Dedicated = fs.Name, fs.Spec.PriorityLevelConfiguration.Name, dedicated
				break
			}
		}
		out = append(out, m)
	}
	return out
}

func matchSchema(fs flowcontrolv1.FlowSchema, user string, groups []string, req Request) (dedicated, ok bool) {
	for _, rule := range fs.Spec.Rules {
		subj, named := false, false
		for _, s := range rule.Subjects {
			switch {
			case s.Kind == flowcontrolv1.SubjectKindUser && s.User != nil && (s.User.Name == "*" || s.User.Name == user):
				subj, named = true, named || s.User.Name == user
			case s.Kind == flowcontrolv1.SubjectKindGroup && s.Group != nil && (s.Group.Name == "*" || slices.Contains(groups, s.Group.Name)):
				subj = true
			case s.Kind == flowcontrolv1.SubjectKindServiceAccount && s.ServiceAccount != nil &&
				"system:serviceaccount:"+s.ServiceAccount.Namespace+":"+s.ServiceAccount.Name == user:
				subj, named = true, true
			case s.Kind == flowcontrolv1.SubjectKindServiceAccount && s.ServiceAccount != nil && s.ServiceAccount.Name == "*" &&
				slices.Contains(groups, "system:serviceaccounts:"+s.ServiceAccount.Namespace):
				subj, named = true, true
			}
		}
		if !subj {
			continue
		}
		for _, rr := range rule.ResourceRules {
			if matchResource(rr, req) {
				return named, true
			}
		}
	}
	return false, false
}

func matchResource(rr flowcontrolv1.ResourcePolicyRule, req Request) bool {
	in := func(list []string, v string) bool { return slices.Contains(list, "*") || slices.Contains(list, v) }
	if !in(rr.Verbs, req.Verb) || !in(rr.APIGroups, req.APIGroup) || !in(rr.Resources, req.Resource) {
		return false
	}
	if req.Namespace == "" {
		return rr.ClusterScope
	}
	if req.Namespace == "*" {
		return slices.Contains(rr.Namespaces, "*")
	}
	return in(rr.Namespaces, req.Namespace)
}

// FlowSchemas says which FlowSchema and priority level kwok's recurring requests fall in (MatchFlowSchemas with its
// identity and KwokRequests); an error when the FlowSchemas cannot be listed (e.g. not permitted).
func (h *Hollow) FlowSchemas(ctx context.Context, c kubernetes.Interface) ([]FlowSchemaMatch, error) {
	list, err := c.FlowcontrolV1().FlowSchemas().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("flowschemas not listed: %w", err)
	}
	user, groups := h.Identity()
	return MatchFlowSchemas(list.Items, user, groups, KwokRequests), nil
}
