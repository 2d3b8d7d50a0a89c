package probe

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
)

// The in-cluster probe's health names how the pod ended: OOMKilled (container), Evicted (pod), deleted.
func TestClusterProbeHealth(t *testing.T) {
	finished := metav1.NewTime(time.Date(2026, 1, 1, 12, 3, 4, 0, time.UTC))
	oom := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodFailed,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 137, Reason: "OOMKilled", FinishedAt: finished}}}}}}
	evicted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodFailed,
		Reason: "Evicted", Message: "The node was low on resource: memory."}}
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	for name, tc := range map[string]struct {
		pod   *corev1.Pod
		alive bool
		want  string
	}{
		"oom":     {oom, false, "(Failed, OOMKilled, exit code 137)"},
		"evicted": {evicted, false, "(Failed, Evicted): The node was low on resource: memory."},
		"running": {running, true, "running"},
		"deleted": {nil, false, "(Gone, the pod was deleted)"},
	} {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientset()
			if tc.pod != nil {
				c = fake.NewClientset(tc.pod)
			}
			cp := &ClusterProbe{client: c, cfg: ClusterProbeConfig{Probe: Config{Namespace: "ns"}}, pod: "p", done: make(chan struct{})}
			h := cp.Health(context.Background())
			if h.Alive != tc.alive || !strings.Contains(h.String(), tc.want) {
				t.Errorf("health %+v (%s): want alive=%v and %q", h, h, tc.alive, tc.want)
			}
			if name == "oom" && (h.EndedAt == nil || !h.EndedAt.Equal(finished.Time)) {
				t.Errorf("EndedAt = %v, want the container's finishedAt %v", h.EndedAt, finished)
			}
		})
	}
}

// TestClusterProbeRBACFromTheTable: the in-cluster probe's Roles and ClusterRole, as created, grant every permission
// each kind's table entry declares (what the preflight checks), and nothing else but the priority level names.
func TestClusterProbeRBACFromTheTable(t *testing.T) {
	sets := [][]Kind{AllKinds}
	for _, k := range AllKinds {
		sets = append(sets, []Kind{k})
	}
	for _, kinds := range sets {
		c := fake.NewClientset()
		pcfg := Config{Kinds: kinds, Namespace: "pyrometer-abc", Labels: map[string]string{"run": "abc"}}
		cp := &ClusterProbe{client: c, cfg: ClusterProbeConfig{Probe: pcfg, Name: "pyrometer-probe-abc"}}
		if err := cp.createRBAC(context.Background()); err != nil {
			t.Fatalf("%v: %v", kinds, err)
		}
		got := authz.Rules{Role: map[string][]rbacv1.PolicyRule{}}
		roles, _ := c.RbacV1().Roles("").List(context.Background(), metav1.ListOptions{})
		for _, r := range roles.Items {
			got.Role[r.Namespace] = r.Rules
			if _, err := c.RbacV1().RoleBindings(r.Namespace).Get(context.Background(), r.Name, metav1.GetOptions{}); err != nil {
				t.Errorf("%v: role %s/%s is not bound: %v", kinds, r.Namespace, r.Name, err)
			}
		}
		cr, err := c.RbacV1().ClusterRoles().Get(context.Background(), "pyrometer-probe-abc", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%v: %v", kinds, err)
		}
		got.Cluster = cr.Rules
		if len(kinds) > 1 && (len(got.Role) != 2 || got.Role["pyrometer-abc"] == nil || got.Role[DefaultListNamespace] == nil) {
			t.Errorf("all kinds: want a Role in the probe's namespace and in %s, got %v", DefaultListNamespace, got.Role)
		}
		for _, k := range kinds {
			for _, a := range k.Needs(pcfg) {
				if !got.Grants(a) {
					t.Errorf("%v: the in-cluster probe is not granted %s, which %s needs", kinds, a, k)
				}
			}
		}
		// nothing beyond the grants: every rule's verbs and resources are needed
		grants := ClusterProbeGrants(kinds, pcfg)
		check := func(ns string, rules []rbacv1.PolicyRule) {
			for _, r := range rules {
				for _, v := range r.Verbs {
					for _, res := range r.Resources {
						a := authz.Access{Verb: v, Group: r.APIGroups[0], Resource: res, Namespace: ns}
						if !slices.ContainsFunc(grants, func(g authz.Access) bool { return g.Key() == a.Key() }) {
							t.Errorf("%v: the in-cluster probe is granted %s, which no kind needs", kinds, a)
						}
					}
					for _, p := range r.NonResourceURLs {
						if !slices.ContainsFunc(grants, func(g authz.Access) bool { return g.Verb == v && g.Path == p }) {
							t.Errorf("%v: the in-cluster probe is granted %s %s, which no kind needs", kinds, v, p)
						}
					}
				}
			}
		}
		for ns, rules := range got.Role {
			check(ns, rules)
		}
		check("", got.Cluster)
	}
}
