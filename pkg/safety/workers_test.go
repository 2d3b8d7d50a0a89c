package safety

import (
	"context"
	"strings"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// TestCheckWorkers: the worker pods are counted against --max-workers, --max-pods and the capacity the rest of the
// run leaves free; within all of them the check passes and the plan records the figures.
func TestCheckWorkers(t *testing.T) {
	limits := DefaultLimits()
	capacity := Capacity{Nodes: 1, CPUMillis: 1000, MemoryMi: 1000, Pods: 20}
	for _, tc := range []struct {
		w    WorkersRequirements
		ok   bool
		want string
	}{
		{WorkersRequirements{N: 3, Max: 50, CPUMillis: 220, MemoryMi: 103}, true, "3 worker pods per step (6 over the run), 660m CPU and 309Mi memory at once"},
		{WorkersRequirements{N: 3, Max: 2, CPUMillis: 100, MemoryMi: 100}, false, "1 more than --max-workers 2"},
		{WorkersRequirements{N: 5, Max: 50, CPUMillis: 220, MemoryMi: 100}, false, "100m CPU more than the 1000m the run leaves free"},
		{WorkersRequirements{N: 4, Max: 50, CPUMillis: 100, MemoryMi: 300}, false, "200Mi memory more than the 1000Mi"},
	} {
		p := Plan{Total: modes.Cost{Namespaces: 3}}
		checkWorkers(&tc.w, 2, limits, capacity, &p)
		c := p.Checks[len(p.Checks)-1]
		if c.Name != CheckWorkers || c.OK != tc.ok || p.Blocked == tc.ok || !strings.Contains(c.Message, tc.want) {
			t.Errorf("%+v: %+v blocked %v, want ok %v and %q", tc.w, c, p.Blocked, tc.ok, tc.want)
		}
		if p.Workers == nil || p.Workers.PerStep != tc.w.N || p.Workers.Total != 2*tc.w.N {
			t.Errorf("plan.Workers %+v", p.Workers)
		}
	}
}

// TestWorkersFlowSchemaAccesses: --workers-flowschema needs creating, reading and deleting flowschemas and
// prioritylevelconfigurations (cluster scope, required); without it none of the writes is asked for.
func TestWorkersFlowSchemaAccesses(t *testing.T) {
	with := runNeeds{StepNamespace: "s", Probe: probe.Config{Namespace: "p"}, Workers: true, WorkersFlowSchema: true}.Accesses(nil)
	for _, r := range []string{"flowschemas", "prioritylevelconfigurations"} {
		for _, v := range []string{"create", "get", "list", "delete"} {
			want := v + " " + r + ".flowcontrol.apiserver.k8s.io"
			found := false
			for _, a := range with {
				if a.String() == want {
					found = true
					if a.Optional || a.Namespace != "" || a.Reason == "" {
						t.Errorf("%s: want required, cluster-scoped, with a reason: %+v", want, a)
					}
				}
			}
			if !found {
				t.Errorf("--workers-flowschema must ask for %q", want)
			}
		}
	}
	for _, a := range (runNeeds{StepNamespace: "s", Probe: probe.Config{Namespace: "p"}, Workers: true}).Accesses(nil) {
		if a.Group == "flowcontrol.apiserver.k8s.io" && a.Verb != "list" && a.Verb != "get" {
			t.Errorf("without --workers-flowschema: %s asked for", a)
		}
	}
}

// TestCheckWorkersAPF: the plan names the two objects, the level copied with its figures, and the seat share the new
// level takes from every other (100 shares added to 120: 100/220 = 45.5%); never blocking.
func TestCheckWorkersAPF(t *testing.T) {
	level := func(name string, shares int32) *flowcontrolv1.PriorityLevelConfiguration {
		return &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr.To(shares), LendablePercent: ptr.To[int32](90),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}}}
	}
	sa := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "service-accounts"}, Spec: flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"}, MatchingPrecedence: 9000,
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
			Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "system:serviceaccounts"}}},
			ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}}},
		}}}}
	c := fake.NewClientset(sa, level("workload-low", 100), level("global-default", 20))
	p := Plan{Workers: &WorkersPlan{}}
	w := &WorkersRequirements{N: 2, Max: 50, FlowSchema: true, RunID: "abcd1234", Namespaces: []string{"pyrometer-abcd1234-step-1"}, Resources: []string{"configmaps"}}
	if err := checkWorkersAPF(context.Background(), c, w, &p); err != nil {
		t.Fatal(err)
	}
	ch := p.Checks[len(p.Checks)-1]
	for _, want := range []string{"workers-flowschema: creates FlowSchema pyrometer-abcd1234-workers (precedence 1000",
		"PriorityLevelConfiguration pyrometer-abcd1234-workers, a copy of workload-low (100 shares, lendable 90%, Reject; ",
		"through FlowSchema service-accounts", "its 100 shares join the 120 of every priority level: every other level's nominal seats shrink by 45.5%"} {
		if !strings.Contains(ch.Message, want) {
			t.Errorf("plan line lacks %q:\n%s", want, ch.Message)
		}
	}
	if ch.Name != CheckWorkersAPF || !ch.OK || p.Blocked || p.Workers.APF == nil || p.Workers.APF.OthersShrink != 0.4545 {
		t.Errorf("check %+v, blocked %v, apf %+v", ch, p.Blocked, p.Workers.APF)
	}
}
