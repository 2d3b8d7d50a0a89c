package safety

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// reviewer answers SelfSubjectAccessReviews: allowed unless deny says no; it counts the reviews per access.
type reviewer struct {
	mu     sync.Mutex
	deny   func(authz.Access) bool
	counts map[string]int
}

func (r *reviewer) install(c *fake.Clientset) {
	r.counts = map[string]int{}
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		rev := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		var acc authz.Access
		if n := rev.Spec.NonResourceAttributes; n != nil {
			acc = authz.Access{Verb: n.Verb, Path: n.Path}
		} else {
			ra := rev.Spec.ResourceAttributes
			res := ra.Resource
			if ra.Subresource != "" {
				res += "/" + ra.Subresource
			}
			acc = authz.Access{Verb: ra.Verb, Group: ra.Group, Resource: res, Namespace: ra.Namespace}
		}
		r.mu.Lock()
		r.counts[acc.String()]++
		r.mu.Unlock()
		out := rev.DeepCopy()
		out.Status.Allowed = r.deny == nil || !r.deny(acc)
		return true, out, nil
	})
}

func withDiscovery(c *fake.Clientset) *fake.Clientset {
	c.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "configmaps", Kind: "ConfigMap", Namespaced: true}, {Name: "secrets", Kind: "Secret", Namespaced: true},
			{Name: "services", Kind: "Service", Namespaced: true}, {Name: "services/status", Kind: "Service", Namespaced: true},
			{Name: "namespaces", Kind: "Namespace"}}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments/scale", Kind: "Scale", Namespaced: true}, {Name: "deployments", Kind: "Deployment", Namespaced: true}}},
	}
	return c
}

func runRequirements() runNeeds {
	return runNeeds{StepNamespace: "pyrometer-abc-step-1",
		Objects: []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}, {Version: "v1", Kind: "Service"}},
		Pods:    true,
		Probe: probe.Config{Kinds: []probe.Kind{probe.KindReadyz, probe.KindGet, probe.KindMutate, probe.KindListCluster},
			Namespace: "pyrometer-abc"}}
}

// TestPreflightReadOnly: an identity that may only get, list and watch is told everything else at once.
func TestPreflightReadOnly(t *testing.T) {
	c := withDiscovery(fake.NewClientset())
	r := &reviewer{deny: func(a authz.Access) bool {
		return a.Path == "" && a.Verb != "get" && a.Verb != "list" && a.Verb != "watch"
	}}
	r.install(c)
	missing, err := preflight(context.Background(), c, runRequirements())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`create namespaces`,
		`delete namespaces`,
		`create deployments.apps in namespace "pyrometer-abc-step-1"`,
		`delete deployments.apps in namespace "pyrometer-abc-step-1"`,
		`create services in namespace "pyrometer-abc-step-1"`,
		`delete services in namespace "pyrometer-abc-step-1"`,
		`create configmaps in namespace "pyrometer-abc"`,
		`delete configmaps in namespace "pyrometer-abc"`,
		`patch configmaps in namespace "pyrometer-abc"`,
	}
	var got []string
	for _, m := range missing {
		got = append(got, m.String())
		if m.Optional {
			t.Errorf("%s is required, reported optional", m)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("missing:\n got %q\nwant %q", got, want)
	}
	lines := authz.Describe(missing)
	wantLines := []string{`create, delete namespaces`, `create, delete deployments.apps in namespace "pyrometer-abc-step-1"`,
		`create, delete services in namespace "pyrometer-abc-step-1"`, `create, delete, patch configmaps in namespace "pyrometer-abc"`}
	if !reflect.DeepEqual(lines, wantLines) {
		t.Errorf("described:\n got %q\nwant %q", lines, wantLines)
	}
	for k, n := range r.counts {
		if n != 1 {
			t.Errorf("access %s reviewed %d times, want once", k, n)
		}
	}
	if len(r.counts) != len(runRequirements().Accesses(mustResolve(t, c))) {
		t.Errorf("reviewed %d distinct accesses, the run needs %d", len(r.counts), len(runRequirements().Accesses(mustResolve(t, c))))
	}
}

func mustResolve(t *testing.T, c *fake.Clientset) []Resource {
	t.Helper()
	rs, err := resolveKinds(c, runRequirements().Objects)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPreflightAllGrantedAndOptional(t *testing.T) {
	c := withDiscovery(fake.NewClientset())
	(&reviewer{}).install(c)
	missing, err := preflight(context.Background(), c, runRequirements())
	if err != nil || len(missing) != 0 {
		t.Fatalf("everything allowed: want nothing missing, got %v, %v", missing, err)
	}

	c = withDiscovery(fake.NewClientset())
	(&reviewer{deny: func(a authz.Access) bool {
		return a.Path == "/metrics" || (a.Verb == "list" && a.Namespace == "" && a.Group == "apps")
	}}).install(c)
	missing, err = preflight(context.Background(), c, runRequirements())
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 2 || len(Required(missing)) != 0 {
		t.Fatalf("/metrics and the cluster-wide verify list are optional: got %+v", missing)
	}
	lines := authz.Describe(missing)
	if !strings.HasPrefix(lines[1], "get /metrics (optional: ") || !strings.HasPrefix(lines[0], "list deployments.apps (optional: kube-burner verifies") {
		t.Errorf("optional lines: %q", lines)
	}
}

func TestPreflightReviewError(t *testing.T) {
	c := withDiscovery(fake.NewClientset())
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	_, err := preflight(context.Background(), c, runRequirements())
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "failed to review access") {
		t.Fatalf("want the review error, got %v", err)
	}
}

func TestPreflightUnservedKind(t *testing.T) {
	c := withDiscovery(fake.NewClientset())
	(&reviewer{}).install(c)
	req := runRequirements()
	req.Objects = append(req.Objects, schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"})
	if _, err := preflight(context.Background(), c, req); err == nil || !strings.Contains(err.Error(), "does not serve example.com/v1") {
		t.Fatalf("want an error naming the unserved group version, got %v", err)
	}
	req.Objects = []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Widget"}}
	if _, err := preflight(context.Background(), c, req); err == nil || !strings.Contains(err.Error(), "Widget") {
		t.Fatalf("want an error naming the unserved kind, got %v", err)
	}
}

func TestAccessesInClusterAndPullSecrets(t *testing.T) {
	req := runRequirements()
	// the list-namespace kind lists ConfigMaps in kube-system: the in-cluster probe gets a Role there
	req.InCluster, req.Probe.Kinds = true, append(req.Probe.Kinds, probe.KindListNamespace)
	req.PullSecrets, req.PullSecretNamespace = []string{"regcred"}, "default"
	as := req.Accesses([]Resource{{Group: "apps", Resource: "deployments", Namespaced: true}})
	seen := map[authz.Key]bool{}
	var all []string
	for _, a := range as {
		if seen[a.Key()] {
			t.Errorf("duplicate access %s", a)
		}
		seen[a.Key()] = true
		if a.Reason == "" {
			t.Errorf("%s has no reason", a)
		}
		all = append(all, a.String())
	}
	for _, want := range []string{
		`create serviceaccounts in namespace "pyrometer-abc"`,
		`create roles.rbac.authorization.k8s.io in namespace "pyrometer-abc"`,
		`create rolebindings.rbac.authorization.k8s.io in namespace "kube-system"`,
		`delete roles.rbac.authorization.k8s.io in namespace "kube-system"`,
		`create clusterroles.rbac.authorization.k8s.io`,
		`delete clusterrolebindings.rbac.authorization.k8s.io`,
		`list prioritylevelconfigurations.flowcontrol.apiserver.k8s.io`,
		`create jobs.batch in namespace "pyrometer-abc"`,
		`delete jobs.batch in namespace "pyrometer-abc"`,
		`get pods/log in namespace "pyrometer-abc"`,
		`list events in namespace "pyrometer-abc"`,
		`get secrets in namespace "default"`,
		`create secrets in namespace "pyrometer-abc-step-1"`,
		`create secrets in namespace "pyrometer-abc"`,
		`list pods in namespace "pyrometer-abc-step-1"`,
		`watch pods in namespace "pyrometer-abc-step-1"`,
		`list events in namespace "pyrometer-abc-step-1"`,
		`list nodes`,
		`list pods`,
		`get /readyz`,
		`get /metrics`,
	} {
		if !seen[keyOf(t, as, want)] {
			t.Errorf("in-cluster run with --image-pull-secret: %q not required; have %q", want, all)
		}
	}
	// without in-cluster probe, pull secrets or pods: none of those
	plain := runNeeds{StepNamespace: "s", Probe: probe.Config{Namespace: "p"}}
	for _, a := range plain.Accesses(nil) {
		switch {
		case a.Resource == "serviceaccounts", a.Group == "batch", a.Resource == "secrets", a.Resource == "pods/log",
			a.Resource == "pods" && a.Namespace != "":
			t.Errorf("a local-probe run without pods or pull secrets does not need %s", a)
		}
	}
}

func keyOf(t *testing.T, as []authz.Access, s string) authz.Key {
	t.Helper()
	for _, a := range as {
		if a.String() == s {
			return a.Key()
		}
	}
	return authz.Key{Verb: fmt.Sprintf("not found: %s", s)}
}

// TestTemplateKindsOfBuiltInModes reads the kinds from the embedded templates.
func TestTemplateKindsOfBuiltInModes(t *testing.T) {
	cat, err := modes.LoadCatalog(pyrometer.Catalog, pyrometer.Templates)
	if err != nil {
		t.Fatal(err)
	}
	modes, err := cat.ParseModes("cpu,network,api,mem")
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cat.Select(modes, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := TemplateKinds(sel)
	if err != nil {
		t.Fatal(err)
	}
	// api's ConfigMaps and Secrets are written by the native engine, not by templates: its accesses are the engine's
	want := []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}, {Version: "v1", Kind: "Service"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kinds of cpu,network,api,mem:\n got %v\nwant %v", got, want)
	}
	var acc []string
	for _, a := range engineAccesses(sel, "ns-1") {
		acc = append(acc, a.Verb+" "+a.Resource+" in "+a.Namespace)
	}
	wantAcc := "create configmaps in ns-1,patch configmaps in ns-1,delete configmaps in ns-1,deletecollection configmaps in ns-1," +
		"list configmaps in ns-1,watch configmaps in ns-1,create secrets in ns-1,patch secrets in ns-1,delete secrets in ns-1," +
		"deletecollection secrets in ns-1,list secrets in ns-1,watch secrets in ns-1"
	if got := strings.Join(acc, ","); got != wantAcc {
		t.Errorf("engine accesses of api:\n got %s\nwant %s", got, wantAcc)
	}
}

func TestTemplateKindsMultiDocumentAndErrors(t *testing.T) {
	m := &modes.Mode{Name: "x", Objects: []modes.ObjectSpec{{Template: "t.yaml"}}, Templates: map[string]string{
		"t.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    kind: ignored\n---\napiVersion: \"batch/v1\"\nkind: Job\n",
	}}
	got, err := TemplateKinds(&modes.Selection{Modes: []*modes.Mode{m}})
	if err != nil {
		t.Fatal(err)
	}
	want := []schema.GroupVersionKind{{Version: "v1", Kind: "ConfigMap"}, {Group: "batch", Version: "v1", Kind: "Job"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	m.Templates["t.yaml"] = "metadata:\n  name: x\n"
	if _, err := TemplateKinds(&modes.Selection{Modes: []*modes.Mode{m}}); err == nil || !strings.Contains(err.Error(), "mode x: template t.yaml") {
		t.Errorf("a template without kind: want an error naming mode and template, got %v", err)
	}
}
