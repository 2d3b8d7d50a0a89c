package authz

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// answer installs a SelfSubjectAccessReview reactor that allows unless deny says no, and returns the reviews seen
// (as Access values, Optional and Reason empty).
func answer(c *fake.Clientset, deny func(Access) bool) func() []Access {
	var mu sync.Mutex
	var seen []Access
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		rev := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		var acc Access
		if n := rev.Spec.NonResourceAttributes; n != nil {
			acc = Access{Verb: n.Verb, Path: n.Path}
		} else {
			ra := rev.Spec.ResourceAttributes
			acc = Access{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Namespace: ra.Namespace}
			if ra.Subresource != "" {
				acc.Resource += "/" + ra.Subresource
			}
		}
		mu.Lock()
		seen = append(seen, acc)
		mu.Unlock()
		out := rev.DeepCopy()
		out.Status.Allowed = deny == nil || !deny(acc)
		return true, out, nil
	})
	return func() []Access {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func TestReviewAnswersInOrderOncePerAccess(t *testing.T) {
	as := []Access{
		{Verb: "create", Resource: "namespaces", Reason: "the run's namespaces"},
		{Verb: "get", Resource: "pods/log", Namespace: "ns"},
		{Verb: "get", Path: "/metrics", Optional: true},
		{Verb: "create", Resource: "namespaces", Reason: "the probe's namespace"}, // the same access, another reason
		{Verb: "list", Group: "apps", Resource: "deployments"},
	}
	c := fake.NewClientset()
	seen := answer(c, func(a Access) bool { return a.Verb == "create" || a.Path != "" })
	allowed, err := Review(context.Background(), c, as)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, false, false, true}; !reflect.DeepEqual(allowed, want) {
		t.Errorf("allowed = %v, want %v", allowed, want)
	}
	got := seen()
	if len(got) != 4 {
		t.Errorf("want one review per distinct access (4), got %d: %v", len(got), got)
	}
	for _, want := range []Access{{Verb: "get", Resource: "pods/log", Namespace: "ns"}, {Verb: "list", Group: "apps", Resource: "deployments"}} {
		if !slices.Contains(got, want) {
			t.Errorf("no review of %s (subresource and group must be sent): %v", want, got)
		}
	}
}

func TestReviewError(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	_, err := Review(context.Background(), c, []Access{{Verb: "list", Resource: "nodes"}, {Verb: "get", Path: "/readyz"}})
	if err == nil || err.Error() != "failed to review access (list nodes): connection refused" {
		t.Errorf("error = %v, want the first failed review named", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Review(ctx, fake.NewClientset(), []Access{{Verb: "list", Resource: "nodes"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v, want context.Canceled", err)
	}
}

func TestDescribe(t *testing.T) {
	got := Describe([]Access{
		{Verb: "create", Resource: "configmaps", Namespace: "x"},
		{Verb: "list", Resource: "nodes"},
		{Verb: "delete", Resource: "configmaps", Namespace: "x"},
		{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "x"},
		{Verb: "get", Path: "/metrics", Optional: true, Reason: "server-side latency"},
	})
	want := []string{`create, delete configmaps in namespace "x"`, "list nodes", `create deployments.apps in namespace "x"`,
		"get /metrics (optional: server-side latency)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe:\n got %q\nwant %q", got, want)
	}
}

func TestRulesForGrantsExactly(t *testing.T) {
	as := []Access{
		{Verb: "watch", Resource: "configmaps", Namespace: "probe"},
		{Verb: "create", Resource: "configmaps", Namespace: "probe"},
		{Verb: "list", Resource: "configmaps", Namespace: "kube-system"},
		{Verb: "list", Resource: "nodes"},
		{Verb: "get", Path: "/readyz"},
		{Verb: "create", Resource: "configmaps", Namespace: "probe"}, // again
		{Verb: "list", Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"},
	}
	r := RulesFor(as)
	if !slices.Equal(r.Namespaces, []string{"probe", "kube-system"}) {
		t.Errorf("role namespaces %v, want probe then kube-system", r.Namespaces)
	}
	wantRole := map[string][]rbacv1.PolicyRule{
		"probe":       {{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "watch"}}},
		"kube-system": {{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}},
	}
	if !reflect.DeepEqual(r.Role, wantRole) {
		t.Errorf("roles:\n got %+v\nwant %+v", r.Role, wantRole)
	}
	wantCluster := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}},
		{NonResourceURLs: []string{"/readyz"}, Verbs: []string{"get"}},
		{APIGroups: []string{"flowcontrol.apiserver.k8s.io"}, Resources: []string{"prioritylevelconfigurations"}, Verbs: []string{"list"}},
	}
	if !reflect.DeepEqual(r.Cluster, wantCluster) {
		t.Errorf("cluster rules:\n got %+v\nwant %+v", r.Cluster, wantCluster)
	}
	for _, a := range as {
		if !r.Grants(a) {
			t.Errorf("rules do not grant %s", a)
		}
	}
	for _, a := range []Access{
		{Verb: "delete", Resource: "configmaps", Namespace: "probe"},
		{Verb: "list", Resource: "configmaps", Namespace: "probe"},
		{Verb: "create", Resource: "configmaps", Namespace: "kube-system"},
		{Verb: "create", Resource: "configmaps"},
		{Verb: "get", Path: "/metrics"},
		{Verb: "list", Group: "apps", Resource: "nodes"},
	} {
		if r.Grants(a) {
			t.Errorf("rules grant %s, which was not asked for", a)
		}
	}
}
