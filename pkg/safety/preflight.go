package safety

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// runNeeds are what a run does in the cluster, which decide what it must be allowed to do.
type runNeeds struct {
	// StepNamespace is the first ramp step's namespace. The steps' namespaces do not exist before the run, so no
	// RoleBinding can grant anything in any of them: what is allowed in the first is allowed in all.
	StepNamespace string
	// Objects are the kinds the modes' templates create in the step namespaces (TemplateKinds).
	Objects []schema.GroupVersionKind
	// Pods: the modes run pods (kube-burner waits for them to run).
	Pods bool
	// Engine: what the native engines (modes churn, api) do in the step namespace (engineAccesses).
	Engine []authz.Access
	// Probe is the probe's configuration: the kinds the run uses, Namespace (the probe's own, which the run
	// creates) and ListNamespace. What the kinds need comes from the probe kinds' table (probe.Needs).
	Probe probe.Config
	// InCluster: --probe-from cluster or both (a Job with its own ServiceAccount and RBAC).
	InCluster bool
	// PullSecrets are copied from PullSecretNamespace into every namespace of the run.
	PullSecrets         []string
	PullSecretNamespace string
	// Hollow: --hollow-nodes (kwok, nodes, leases, RBAC; hollow.go).
	Hollow bool
	// Workers: run --load-from cluster (the workers' Job and RBAC in the step namespace; workers.go).
	Workers bool
	// WorkersFlowSchema: --workers-flowschema (a FlowSchema and a priority level; workers.go).
	WorkersFlowSchema bool
}

// Resource is a resource a template kind maps to.
type Resource struct {
	Group, Resource string
	Namespaced      bool
}

const rbacGroup = "rbac.authorization.k8s.io"

// Accesses lists, without duplicates and in a stable order, what a run with these needs does; objects are the
// resources of r.Objects.
func (r runNeeds) Accesses(objects []Resource) []authz.Access {
	var out []authz.Access
	idx := map[authz.Key]int{}
	add := func(reason string, a authz.Access) {
		a.Reason = reason
		if i, ok := idx[a.Key()]; ok {
			out[i].Optional = out[i].Optional && a.Optional
			return
		}
		idx[a.Key()] = len(out)
		out = append(out, a)
	}
	verbs := func(reason string, a authz.Access, vs ...string) {
		for _, v := range vs {
			a.Verb = v
			add(reason, a)
		}
	}

	verbs("the safety plan reads the free capacity", authz.Access{Resource: "nodes"}, "list")
	verbs("the safety plan reads the free capacity", authz.Access{Resource: "pods"}, "list")
	verbs("the run creates, awaits and deletes its namespaces", authz.Access{Resource: "namespaces"}, "create", "get", "list", "delete")
	const find = "teardown finds the run's objects by label"
	verbs(find, authz.Access{Group: rbacGroup, Resource: "clusterroles"}, "list")
	verbs(find, authz.Access{Group: rbacGroup, Resource: "clusterrolebindings"}, "list")
	verbs(find, authz.Access{Group: rbacGroup, Resource: "roles"}, "list")
	verbs(find, authz.Access{Group: rbacGroup, Resource: "rolebindings"}, "list")
	verbs(find, authz.Access{Resource: "configmaps"}, "list")
	for _, o := range objects {
		ns := ""
		if o.Namespaced {
			ns = r.StepNamespace
		}
		verbs("the stress modes create these objects (kube-burner)", authz.Access{Group: o.Group, Resource: o.Resource, Namespace: ns},
			"create", "get", "list", "delete")
		if o.Namespaced && ns != "" {
			add("kube-burner verifies the created objects with a list in all namespaces",
				authz.Access{Verb: "list", Group: o.Group, Resource: o.Resource, Optional: true})
		}
	}
	for _, a := range r.Engine {
		add("the churn/api engine writes, watches and deletes its objects", a)
	}
	if r.Pods {
		verbs("kube-burner waits until the stress pods run", authz.Access{Resource: "pods", Namespace: r.StepNamespace}, "list", "watch")
	}
	if r.Pods { // pod startup rows (pkg/run/density.go): without these the run goes on without them
		const why = "pod startup: the run's pods and their events, watched in every namespace"
		verbs(why, authz.Access{Resource: "pods", Optional: true}, "list", "watch")
		verbs(why, authz.Access{Resource: "events", Optional: true}, "list", "watch")
	}
	verbs("the run records the events of its namespaces", authz.Access{Resource: "events", Namespace: r.StepNamespace}, "list")
	for _, a := range probe.Needs(r.Probe.Kinds, r.Probe) {
		add("the probes", a)
	}
	if len(r.PullSecrets) > 0 {
		verbs("--image-pull-secret: read from the current namespace", authz.Access{Resource: "secrets", Namespace: r.PullSecretNamespace}, "get")
		verbs("--image-pull-secret: copied into the run's namespaces", authz.Access{Resource: "secrets", Namespace: r.StepNamespace}, "create")
		verbs("--image-pull-secret: copied into the run's namespaces", authz.Access{Resource: "secrets", Namespace: r.Probe.Namespace}, "create")
	}
	if r.InCluster {
		const why = "the in-cluster probe (--probe-from cluster|both)"
		ns := r.Probe.Namespace
		verbs(why, authz.Access{Resource: "serviceaccounts", Namespace: ns}, "create", "delete")
		// Its Role in each namespace its kinds work in, and its ClusterRole, grant what the kinds' table says they
		// need (probe.ClusterProbeGrants); creating them needs holding what they grant (or "escalate").
		grants := probe.ClusterProbeGrants(r.Probe.Kinds, r.Probe)
		for _, rns := range append([]string{ns}, authz.RulesFor(grants).Namespaces...) {
			verbs(why, authz.Access{Group: rbacGroup, Resource: "roles", Namespace: rns}, "create", "delete")
			verbs(why, authz.Access{Group: rbacGroup, Resource: "rolebindings", Namespace: rns}, "create", "delete")
		}
		verbs(why, authz.Access{Group: rbacGroup, Resource: "clusterroles"}, "create", "delete")
		verbs(why, authz.Access{Group: rbacGroup, Resource: "clusterrolebindings"}, "create", "delete")
		for _, a := range grants {
			add(why, a)
		}
		verbs(why, authz.Access{Group: "batch", Resource: "jobs", Namespace: ns}, "create", "get", "delete")
		verbs(why, authz.Access{Resource: "pods", Namespace: ns}, "get", "list")
		verbs(why, authz.Access{Resource: "pods/log", Namespace: ns}, "get")
		verbs(why, authz.Access{Resource: "events", Namespace: ns}, "list")
	}
	if r.Workers {
		for _, a := range workersAccesses(r.StepNamespace) {
			add(a.Reason, a)
		}
	}
	if r.WorkersFlowSchema {
		for _, a := range apfAccesses() {
			add(a.Reason, a)
		}
	}
	if r.Hollow {
		for _, a := range hollowAccesses(r.Probe.Namespace) {
			add(a.Reason, a)
		}
	}
	add("server-side latency from the apiserver's histogram", authz.Access{Verb: "get", Path: "/metrics", Optional: true})
	return out
}

// preflight checks every access the run needs (one SelfSubjectAccessReview per distinct access) and returns all
// that are denied, in the order of runNeeds.Accesses. An error means the reviews (or the discovery of the
// templates' kinds) failed, not that something is missing.
func preflight(ctx context.Context, client kubernetes.Interface, n runNeeds) ([]authz.Access, error) {
	objects, err := resolveKinds(client, n.Objects)
	if err != nil {
		return nil, err
	}
	as := n.Accesses(objects)
	allowed, err := authz.Review(ctx, client, as)
	if err != nil {
		return nil, err
	}
	var missing []authz.Access
	for i, a := range as {
		if !allowed[i] {
			missing = append(missing, a)
		}
	}
	return missing, nil
}

// Required returns the missing accesses that block a run (not the optional ones).
func Required(ms []authz.Access) []authz.Access {
	var out []authz.Access
	for _, m := range ms {
		if !m.Optional {
			out = append(out, m)
		}
	}
	return out
}

// resolveKinds maps kinds to resources with the server's discovery; when discovery cannot be read the resource is
// guessed from the kind (Deployment -> deployments, namespaced). A kind the server does not serve is an error.
func resolveKinds(client kubernetes.Interface, kinds []schema.GroupVersionKind) ([]Resource, error) {
	var out []Resource
	lists := map[string][]metav1.APIResource{}
	for _, gvk := range kinds {
		gv := gvk.GroupVersion().String()
		rs, ok := lists[gv]
		if !ok {
			l, err := client.Discovery().ServerResourcesForGroupVersion(gv)
			switch {
			case apierrors.IsNotFound(err):
				return nil, fmt.Errorf("the stress templates create %s, but the server does not serve %s", gvk.Kind, gv)
			case err != nil || l == nil:
				guess, _ := meta.UnsafeGuessKindToResource(gvk)
				out = append(out, Resource{Group: gvk.Group, Resource: guess.Resource, Namespaced: true})
				continue
			}
			rs = l.APIResources
			lists[gv] = rs
		}
		found := false
		for _, r := range rs {
			if r.Kind == gvk.Kind && !strings.Contains(r.Name, "/") {
				out = append(out, Resource{Group: gvk.Group, Resource: r.Name, Namespaced: r.Namespaced})
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("the stress templates create %s, but the server does not serve it in %s", gvk.Kind, gv)
		}
	}
	return out, nil
}

var (
	docSepRE     = regexp.MustCompile(`(?m)^---\s*$`)
	apiVersionRE = regexp.MustCompile(`(?m)^apiVersion:\s*["']?([^\s"'#]+)`)
	kindRE       = regexp.MustCompile(`(?m)^kind:\s*["']?([A-Za-z0-9]+)`)
)

// TemplateKinds returns the kinds the selected modes' templates create, without duplicates, in catalogue order.
func TemplateKinds(sel *modes.Selection) ([]schema.GroupVersionKind, error) {
	var out []schema.GroupVersionKind
	seen := map[schema.GroupVersionKind]bool{}
	for _, m := range sel.Modes {
		for _, o := range m.Objects {
			body, ok := m.Templates[o.Template]
			if !ok {
				return nil, fmt.Errorf("mode %s: template %s was not loaded", m.Name, o.Template)
			}
			for _, doc := range docSepRE.Split(body, -1) {
				if strings.TrimSpace(doc) == "" {
					continue
				}
				av, k := apiVersionRE.FindStringSubmatch(doc), kindRE.FindStringSubmatch(doc)
				if av == nil || k == nil {
					return nil, fmt.Errorf("mode %s: template %s: every object needs a top-level apiVersion and kind", m.Name, o.Template)
				}
				gv, err := schema.ParseGroupVersion(av[1])
				if err != nil {
					return nil, fmt.Errorf("mode %s: template %s: apiVersion %q: %w", m.Name, o.Template, av[1], err)
				}
				gvk := gv.WithKind(k[1])
				if !seen[gvk] {
					seen[gvk] = true
					out = append(out, gvk)
				}
			}
		}
	}
	return out, nil
}
