package hollow

import (
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func schema(name string, precedence int32, level string, subjects []flowcontrolv1.Subject, rules ...flowcontrolv1.ResourcePolicyRule) flowcontrolv1.FlowSchema {
	return flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: flowcontrolv1.FlowSchemaSpec{
		MatchingPrecedence: precedence, PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: level},
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{Subjects: subjects, ResourceRules: rules}}}}
}

func group(name string) flowcontrolv1.Subject {
	return flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: name}}
}

var everything = flowcontrolv1.ResourcePolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ClusterScope: true, Namespaces: []string{"*"}}

// TestMatchFlowSchemas: kwok's requests fall in the first FlowSchema (by matching precedence) whose subjects include
// its ServiceAccount and whose rules match the request, as the apiserver's defaults place them: node leases and
// status of a ServiceAccount are not system-nodes' (group system:nodes) but service-accounts'; a FlowSchema naming
// the ServiceAccount is dedicated; a rule for other resources does not match.
func TestMatchFlowSchemas(t *testing.T) {
	h := &Hollow{opts: Options{RunID: "abcd1234", Namespace: "pyrometer-abcd1234"}}
	user, groups := h.Identity()
	if user != "system:serviceaccount:pyrometer-abcd1234:pyrometer-kwok-abcd1234" {
		t.Fatalf("identity %s", user)
	}
	defaults := []flowcontrolv1.FlowSchema{
		schema("catch-all", 10000, "catch-all", []flowcontrolv1.Subject{group("system:unauthenticated"), group("system:authenticated")}, everything),
		schema("system-nodes", 500, "system", []flowcontrolv1.Subject{group("system:nodes")}, everything),
		schema("service-accounts", 9000, "workload-low", []flowcontrolv1.Subject{group("system:serviceaccounts")}, everything),
		schema("global-default", 9900, "global-default", []flowcontrolv1.Subject{group("system:authenticated")}, everything),
		schema("kube-system-leases", 100, "leader-election", []flowcontrolv1.Subject{group("system:serviceaccounts")},
			flowcontrolv1.ResourcePolicyRule{Verbs: []string{"update"}, APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Namespaces: []string{"kube-system"}}),
	}
	got := MatchFlowSchemas(defaults, user, groups, KwokRequests)
	if len(got) != len(KwokRequests) {
		t.Fatalf("%d matches", len(got))
	}
	for _, m := range got {
		if m.FlowSchema != "service-accounts" || m.PriorityLevel != "workload-low" || m.Dedicated {
			t.Errorf("%+v: want service-accounts (workload-low), not dedicated", m)
		}
	}
	sa := flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "pyrometer-abcd1234", Name: "pyrometer-kwok-abcd1234"}}
	own := schema("kwok", 800, "kwok-level", []flowcontrolv1.Subject{sa},
		flowcontrolv1.ResourcePolicyRule{Verbs: []string{"update"}, APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Namespaces: []string{"*"}})
	got = MatchFlowSchemas(append(defaults, own), user, groups, KwokRequests)
	if got[0].FlowSchema != "kwok" || !got[0].Dedicated || got[0].PriorityLevel != "kwok-level" {
		t.Errorf("lease renewal: %+v, want the dedicated kwok FlowSchema", got[0])
	}
	if got[1].FlowSchema != "service-accounts" {
		t.Errorf("node status: %+v: the kwok FlowSchema's rule covers leases only", got[1])
	}
	if got := MatchFlowSchemas(nil, user, groups, KwokRequests[:1]); got[0].FlowSchema != "" {
		t.Errorf("no FlowSchemas: %+v", got[0])
	}
}

// TestTrafficCount: adjacent phases share no second.
func TestTrafficCount(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tw := &TrafficWatch{leases: map[int64]int{1000: 3, 1001: 4, 1002: 5}, nodes: map[int64]int{1001: 1}}
	l1, n1 := tw.Count(t0.Add(100*time.Millisecond), t0.Add(1500*time.Millisecond))
	l2, n2 := tw.Count(t0.Add(1500*time.Millisecond), t0.Add(3*time.Second))
	if l1 != 3 || n1 != 0 || l2 != 9 || n2 != 1 {
		t.Errorf("counts %d/%d then %d/%d", l1, n1, l2, n2)
	}
}
