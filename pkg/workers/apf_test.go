package workers

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
)

// groupSchema is a FlowSchema of the kind the apiserver's suggested configuration has: every request of group on
// level.
func groupSchema(name, level string, precedence int32, group string) flowcontrolv1.FlowSchema {
	return flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: level}, MatchingPrecedence: precedence,
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
			Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: group}}},
			ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"},
				ClusterScope: true, Namespaces: []string{"*"}}},
		}}}}
}

func limited(name string, shares int32, queues int32) flowcontrolv1.PriorityLevelConfiguration {
	return flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
		Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
			NominalConcurrencyShares: ptr.To(shares), LendablePercent: ptr.To[int32](90),
			LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue,
				Queuing: &flowcontrolv1.QueuingConfiguration{Queues: queues, HandSize: 6, QueueLengthLimit: 50}}}}}
}

// suggested is a small version of the apiserver's suggested APF configuration (shares sum 0+30+100+20 = 150).
func suggested() ([]flowcontrolv1.FlowSchema, []flowcontrolv1.PriorityLevelConfiguration) {
	schemas := []flowcontrolv1.FlowSchema{
		groupSchema("global-default", "global-default", 9900, "system:authenticated"),
		groupSchema("service-accounts", "workload-low", 9000, "system:serviceaccounts"),
		groupSchema("kube-system-service-accounts", "workload-high", 900, "system:serviceaccounts:kube-system"),
	}
	levels := []flowcontrolv1.PriorityLevelConfiguration{
		{ObjectMeta: metav1.ObjectMeta{Name: "exempt"}, Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt,
			Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](0)}}},
		limited("workload-high", 30, 64),
		limited("workload-low", 100, 128),
		limited("global-default", 20, 128),
	}
	return schemas, levels
}

func TestPlanAPFCopiesTheLevelTheWorkersFallInto(t *testing.T) {
	schemas, levels := suggested()
	nss := []string{cluster.StepNamespace("abcd1234", 1), cluster.StepNamespace("abcd1234", 2)}
	p, err := PlanAPF("abcd1234", nss, []string{"configmaps"}, schemas, levels)
	if err != nil {
		t.Fatal(err)
	}
	name := "pyrometer-abcd1234-workers"
	if p.PriorityLevel.Name != name || p.FlowSchema.Name != name || p.FlowSchema.Spec.PriorityLevelConfiguration.Name != name {
		t.Errorf("names: level %q, schema %q -> %q; want %q", p.PriorityLevel.Name, p.FlowSchema.Name, p.FlowSchema.Spec.PriorityLevelConfiguration.Name, name)
	}
	if !reflect.DeepEqual(p.PriorityLevel.Spec, levels[2].Spec) {
		t.Errorf("spec = %+v, want a copy of workload-low's %+v", p.PriorityLevel.Spec, levels[2].Spec)
	}
	p.PriorityLevel.Spec.Limited.LimitResponse.Queuing.Queues = 1 // a copy, not the listed object
	if levels[2].Spec.Limited.LimitResponse.Queuing.Queues != 128 {
		t.Error("the listed level was modified through the copy")
	}
	for _, labels := range []map[string]string{p.PriorityLevel.Labels, p.FlowSchema.Labels} {
		if labels[cluster.RunIDLabel] != "abcd1234" || labels[cluster.ManagedByLabel] != cluster.ManagedBy || labels[cluster.ComponentLabel] != APFComponent {
			t.Errorf("labels = %v, want the run's", labels)
		}
	}
	if pr := p.FlowSchema.Spec.MatchingPrecedence; !(pr > 900 && pr < 9000) {
		t.Errorf("matchingPrecedence %d: must win over service-accounts (9000) and stay after kube-system-service-accounts (900)", pr)
	}
	d := p.Doc
	if d.CopiedFrom.FlowSchema != "service-accounts" || d.CopiedFrom.PriorityLevel != "workload-low" || d.ServiceAccounts != 2 {
		t.Errorf("doc = %+v, want copied from service-accounts/workload-low with 2 ServiceAccounts", d)
	}
	if d.Spec.NominalConcurrencyShares != 100 || d.Spec.LimitResponse != "Queue" || d.Spec.Queues != 128 || d.Spec.HandSize != 6 ||
		d.Spec.QueueLengthLimit != 50 || d.Spec.LendablePercent != 90 {
		t.Errorf("spec figures = %+v", d.Spec)
	}
	if d.SharesSum != 150 || d.OthersShrink != 0.4 { // 100 / (150 + 100)
		t.Errorf("sharesSum %d, othersShrink %v; want 150, 0.4", d.SharesSum, d.OthersShrink)
	}

	// With the FlowSchema in place, the workers' requests in every step namespace go to the new level, any other
	// ServiceAccount's stay where they were.
	with := append(schemas, *p.FlowSchema)
	for _, ns := range nss {
		user, groups := Identity(ns)
		m := hollow.MatchFlowSchemas(with, user, groups, append(APFRequests(ns, []string{"configmaps", "secrets"}),
			hollow.Request{Name: "list pods", Verb: "list", Resource: "pods"}))
		for _, x := range m {
			if x.FlowSchema != name || x.PriorityLevel != name {
				t.Errorf("%s in %s: %s/%s, want %s", x.Request, ns, x.FlowSchema, x.PriorityLevel, name)
			}
		}
	}
	other := hollow.MatchFlowSchemas(with, "system:serviceaccount:"+nss[0]+":default",
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + nss[0], "system:authenticated"}, APFRequests(nss[0], []string{"configmaps"}))
	if other[0].PriorityLevel != "workload-low" {
		t.Errorf("another ServiceAccount of the step namespace: %s, want workload-low", other[0].PriorityLevel)
	}
}

func TestPlanAPFRefuses(t *testing.T) {
	schemas, levels := suggested()
	ns := []string{cluster.StepNamespace("abcd1234", 1)}
	exemptAll := append([]flowcontrolv1.FlowSchema{groupSchema("sa-exempt", "exempt", 500, "system:serviceaccounts")}, schemas...)
	secretsElsewhere := append(schemas, flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "secrets"}, Spec: flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "global-default"}, MatchingPrecedence: 800,
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
			Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "*"}}},
			ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{""}, Resources: []string{"secrets"}, Namespaces: []string{"*"}}},
		}}}})
	for _, tc := range []struct {
		name      string
		nss, res  []string
		schemas   []flowcontrolv1.FlowSchema
		levels    []flowcontrolv1.PriorityLevelConfiguration
		wantError string
	}{
		{"exempt", ns, []string{"configmaps"}, exemptAll, levels, "priority level exempt (FlowSchema sa-exempt), which is Exempt: only a limited level can be copied"},
		{"two levels", ns, []string{"configmaps", "secrets"}, secretsElsewhere, levels, "two priority levels"},
		{"no schema", ns, []string{"configmaps"}, nil, levels, "no FlowSchema matches"},
		{"missing level", ns, []string{"configmaps"}, schemas, levels[:2], "priority level workload-low does not exist"},
		{"no namespace", nil, []string{"configmaps"}, schemas, levels, "no step namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanAPF("abcd1234", tc.nss, tc.res, tc.schemas, tc.levels)
			if err == nil || !strings.Contains(err.Error(), tc.wantError) || !strings.HasPrefix(err.Error(), "--workers-flowschema: ") {
				t.Errorf("error %v, want one naming --workers-flowschema and %q", err, tc.wantError)
			}
		})
	}
}

func TestOthersShrink(t *testing.T) {
	for _, tc := range []struct {
		sum, shares int32
		want        float64
	}{{150, 100, 0.4}, {245, 100, 0.2899}, {0, 30, 1}, {0, 0, 0}, {300, 0, 0}} {
		if got := OthersShrink(tc.sum, tc.shares); got != tc.want {
			t.Errorf("OthersShrink(%d, %d) = %v, want %v", tc.sum, tc.shares, got, tc.want)
		}
	}
}

// TestCreateAndDeleteAPF: CreateAPF creates the level, then the FlowSchema (annotated with the owner), and returns
// once the apiserver took the FlowSchema in (Dangling=False); Delete removes both, once; a FlowSchema never taken in
// is an error naming it, and what was created is still deleted.
func TestCreateAndDeleteAPF(t *testing.T) {
	schemas, levels := suggested()
	plan, err := PlanAPF("abcd1234", []string{cluster.StepNamespace("abcd1234", 1)}, []string{"configmaps"}, schemas, levels)
	if err != nil {
		t.Fatal(err)
	}
	for _, taken := range []bool{true, false} {
		c := fake.NewClientset()
		if taken {
			c.PrependReactor("get", "flowschemas", func(a k8stesting.Action) (bool, runtime.Object, error) {
				fs := plan.FlowSchema.DeepCopy()
				fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionFalse}}
				return true, fs, nil
			})
		} else {
			defer func(d time.Duration) { apfTakeIn = d }(apfTakeIn)
			apfTakeIn = 300 * time.Millisecond
		}
		ctx := context.Background()
		objs, err := CreateAPF(ctx, c, plan, "alice")
		if taken && err != nil || !taken && (err == nil || !strings.Contains(err.Error(), "did not take flowschema pyrometer-abcd1234-workers in")) {
			t.Errorf("taken %v: CreateAPF error %v", taken, err)
		}
		pl, err := c.FlowcontrolV1().PriorityLevelConfigurations().Get(ctx, "pyrometer-abcd1234-workers", metav1.GetOptions{})
		if err != nil || pl.Annotations[cluster.OwnerAnnotation] != "alice" || pl.Labels[cluster.RunIDLabel] != "abcd1234" {
			t.Errorf("priority level: %v, %+v", err, pl)
		}
		fsList, _ := c.FlowcontrolV1().FlowSchemas().List(ctx, metav1.ListOptions{})
		if len(fsList.Items) != 1 || fsList.Items[0].Annotations[cluster.OwnerAnnotation] != "alice" {
			t.Errorf("flowschemas: %+v", fsList.Items)
		}
		for range 2 {
			if err := objs.Delete(ctx); err != nil {
				t.Errorf("Delete: %v", err)
			}
		}
		pls, _ := c.FlowcontrolV1().PriorityLevelConfigurations().List(ctx, metav1.ListOptions{})
		fsList, _ = c.FlowcontrolV1().FlowSchemas().List(ctx, metav1.ListOptions{})
		if len(pls.Items)+len(fsList.Items) != 0 {
			t.Errorf("left: %d levels, %d flowschemas", len(pls.Items), len(fsList.Items))
		}
	}
	var none *APFObjects
	if err := none.Delete(context.Background()); err != nil {
		t.Errorf("nil Delete: %v", err)
	}
}
