package safety

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// checkSelection is cpuSelection with its template loaded (a Deployment), as Check reads the templates' kinds.
func checkSelection() *modes.Selection {
	sel := cpuSelection(2, 100, 0)
	sel.Modes[0].Templates = map[string]string{"cpu.yaml": "apiVersion: apps/v1\nkind: Deployment\n"}
	return sel
}

func checkRequirements(kinds ...probe.Kind) Requirements {
	return Requirements{Selection: checkSelection(), Steps: 3, Limits: DefaultLimits(), StepNamespace: "pyrometer-abc-step-1",
		Probe: probe.Config{Kinds: kinds, Namespace: "pyrometer-abc"}}
}

// checkCluster is a fake cluster with one 2-core node, discovery, and reviews answered by deny.
func checkCluster(deny func(authz.Access) bool) (*fake.Clientset, *reviewer) {
	c := withDiscovery(fake.NewClientset(node("vm", "2", "4Gi", 110)))
	r := &reviewer{deny: deny}
	r.install(c)
	return c, r
}

// TestCheckDropsKindsAndPlans: kinds not asked for by name are dropped when not permitted (with a note) and their
// needs are not required; the plan is the one Compute makes of the same capacity.
func TestCheckDropsKindsAndPlans(t *testing.T) {
	c, _ := checkCluster(func(a authz.Access) bool {
		return a.Path == "/metrics" || a.Verb == "patch" && a.Namespace == "pyrometer-abc"
	})
	req := checkRequirements(probe.AllKinds...)
	res, err := Check(context.Background(), c, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []probe.Kind{probe.KindReadyz, probe.KindGet, probe.KindListNamespace, probe.KindListCluster}; !slices.Equal(res.Kinds, want) {
		t.Errorf("kinds = %v, want %v", res.Kinds, want)
	}
	wantNotes := []string{`mutate: not permitted (patch configmaps in namespace "pyrometer-abc")`,
		`watch: not permitted (patch configmaps in namespace "pyrometer-abc")`}
	if !slices.Equal(res.Notes, wantNotes) {
		t.Errorf("notes = %q, want %q", res.Notes, wantNotes)
	}
	if len(res.Missing) != 1 || res.Missing[0].String() != "get /metrics" || !res.Missing[0].Optional || len(res.Required()) != 0 {
		t.Errorf("missing = %+v, want only the optional get /metrics", res.Missing)
	}
	capacity, err := ReadCapacity(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Compute(req.Selection, req.Steps, req.Limits, capacity)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Plan, want) || res.Plan.Total.Pods != 6 || res.Plan.Blocked {
		t.Errorf("plan:\n got %+v\nwant %+v (6 pods, not blocked)", res.Plan, want)
	}
}

// TestCheckExplicitKinds: kinds asked for by name are kept; what they lack is required, listed with the rest.
func TestCheckExplicitKinds(t *testing.T) {
	c, _ := checkCluster(func(a authz.Access) bool {
		return a.Verb == "patch" || a.Verb == "create" && a.Resource == "namespaces"
	})
	req := checkRequirements(probe.KindMutate)
	req.ExplicitKinds = true
	res, err := Check(context.Background(), c, req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kinds, []probe.Kind{probe.KindMutate}) || len(res.Notes) != 0 {
		t.Errorf("explicit kinds are not dropped: kinds %v, notes %q", res.Kinds, res.Notes)
	}
	got := authz.Describe(res.Required())
	want := []string{"create namespaces", `patch configmaps in namespace "pyrometer-abc"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("required:\n got %q\nwant %q", got, want)
	}
	if err := MissingError(res.Required()); err.Error() != "missing permissions, nothing was created; this identity may not:\n"+
		"  create namespaces\n  patch configmaps in namespace \"pyrometer-abc\"" {
		t.Errorf("MissingError: %v", err)
	}
}

func TestCheckErrors(t *testing.T) {
	// bad inputs: refused before any review
	c, r := checkCluster(nil)
	req := checkRequirements(probe.KindReadyz)
	req.Steps = 0
	if _, err := Check(context.Background(), c, req); err == nil || !strings.Contains(err.Error(), "steps must be at least 1") {
		t.Errorf("steps 0: %v", err)
	}
	req = checkRequirements(probe.KindReadyz)
	req.Selection = nil
	if _, err := Check(context.Background(), c, req); err == nil || !strings.Contains(err.Error(), "no stress modes selected") {
		t.Errorf("no modes: %v", err)
	}
	if len(r.counts) != 0 {
		t.Errorf("bad input was reviewed: %v", r.counts)
	}

	// the nodes cannot be read: for want of a required permission, that is what is reported
	forbidNodes := func(c *fake.Clientset) {
		c.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("no"))
		})
	}
	c, _ = checkCluster(func(a authz.Access) bool { return a.Resource == "nodes" })
	forbidNodes(c)
	_, err := Check(context.Background(), c, checkRequirements(probe.KindReadyz))
	if err == nil || !strings.HasPrefix(err.Error(), "missing permissions, nothing was created; this identity may not:\n  list nodes") {
		t.Errorf("nodes not listable: want the missing permissions, got %v", err)
	}
	c, _ = checkCluster(nil)
	forbidNodes(c)
	if _, err := Check(context.Background(), c, checkRequirements(probe.KindReadyz)); err == nil ||
		!strings.HasPrefix(err.Error(), "safety plan: failed to list nodes") {
		t.Errorf("nodes not listable though permitted: %v", err)
	}

	// a review fails
	c = withDiscovery(fake.NewClientset(node("vm", "2", "4Gi", 110)))
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if _, err := Check(context.Background(), c, checkRequirements(probe.KindReadyz)); err == nil ||
		!strings.HasPrefix(err.Error(), "failed to check permissions: failed to review access (") {
		t.Errorf("review error: %v", err)
	}
}

func TestPermittedKinds(t *testing.T) {
	cfg := probe.Config{Kinds: probe.AllKinds, Namespace: "pyrometer-abc"}
	noNamespaces := func(a authz.Access) bool { return a.Verb == "create" && a.Resource == "namespaces" }

	c, _ := checkCluster(noNamespaces)
	kinds, notes, err := PermittedKinds(context.Background(), c, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []probe.Kind{probe.KindReadyz, probe.KindListNamespace, probe.KindListCluster}; !slices.Equal(kinds, want) {
		t.Errorf("without create namespaces: kinds %v, want %v", kinds, want)
	}
	for i, k := range []string{"get", "mutate", "watch"} {
		if want := k + ": not permitted (create namespaces, for the probe's own namespace)"; i >= len(notes) || notes[i] != want {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}

	c, _ = checkCluster(noNamespaces)
	_, _, err = PermittedKinds(context.Background(), c, probe.Config{Kinds: []probe.Kind{probe.KindReadyz, probe.KindGet}, Namespace: "p"}, true)
	if err == nil || err.Error() != "not permitted: get: not permitted (create namespaces, for the probe's own namespace)" {
		t.Errorf("explicit kinds not permitted: %v", err)
	}

	c, _ = checkCluster(func(a authz.Access) bool { return a.Path == "/readyz" })
	_, _, err = PermittedKinds(context.Background(), c, probe.Config{Kinds: []probe.Kind{probe.KindReadyz}}, false)
	if err == nil || err.Error() != "no probe kind is permitted for this identity: readyz: not permitted (get /readyz)" {
		t.Errorf("no kind left: %v", err)
	}

	// kinds that need no namespace do not ask for one
	c, r := checkCluster(nil)
	if _, _, err := PermittedKinds(context.Background(), c, probe.Config{Kinds: []probe.Kind{probe.KindListCluster}}, true); err != nil {
		t.Fatal(err)
	}
	if r.counts["create namespaces"] != 0 {
		t.Errorf("list-cluster alone reviewed create namespaces: %v", r.counts)
	}
}

// TestInClusterPreflightCoversTheGrants: for every kind, a run with the in-cluster probe requires holding what the
// probe's Roles and ClusterRole grant (the creator of a Role must hold its rules), and creating those Roles.
func TestInClusterPreflightCoversTheGrants(t *testing.T) {
	for _, k := range probe.AllKinds {
		n := runNeeds{StepNamespace: "s", Probe: probe.Config{Kinds: []probe.Kind{k}, Namespace: "p", ListNamespace: "apps"}, InCluster: true}
		have := map[authz.Key]bool{}
		for _, a := range n.Accesses(nil) {
			if !a.Optional {
				have[a.Key()] = true
			}
		}
		grants := probe.ClusterProbeGrants(n.Probe.Kinds, n.Probe)
		for _, g := range grants {
			if !have[g.Key()] {
				t.Errorf("%s: the in-cluster probe is granted %s, which the preflight does not require", k, g)
			}
		}
		for _, ns := range append([]string{"p"}, authz.RulesFor(grants).Namespaces...) {
			for _, res := range []string{"roles", "rolebindings"} {
				a := authz.Access{Verb: "create", Group: rbacGroup, Resource: res, Namespace: ns}
				if !have[a.Key()] {
					t.Errorf("%s: the preflight does not require %s", k, a)
				}
			}
		}
	}
}
