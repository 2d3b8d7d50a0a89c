package safety

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Access is one thing a run must be allowed to do: a verb on a resource (in Namespace, or cluster-wide / in every
// namespace when Namespace is "") or on a non-resource URL (Path).
type Access struct {
	Verb      string `json:"verb"`
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource,omitempty"` // with a subresource: "pods/log"
	Namespace string `json:"namespace,omitempty"`
	Path      string `json:"path,omitempty"`
	Optional  bool   `json:"optional,omitempty"` // reported, never blocking
	Reason    string `json:"reason,omitempty"`   // what the run needs it for
}

// Missing is an Access the identity lacks.
type Missing = Access

type accessKey struct{ verb, group, resource, namespace, path string }

func (a Access) key() accessKey { return accessKey{a.Verb, a.Group, a.Resource, a.Namespace, a.Path} }

// target is what the access is on, e.g. `deployments.apps in namespace "x"` or `/metrics`.
func (a Access) target() string {
	if a.Path != "" {
		return a.Path
	}
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Namespace != "" {
		r += fmt.Sprintf(" in namespace %q", a.Namespace)
	}
	return r
}

// String is e.g. `create deployments.apps in namespace "x"`.
func (a Access) String() string { return a.Verb + " " + a.target() }

// Describe renders accesses grouped by target, verbs joined, in order of first appearance:
// `create, delete namespaces`, `get /metrics (optional: ...)`.
func Describe(as []Access) []string {
	type group struct {
		target   string
		verbs    []string
		optional bool
		reason   string
	}
	var order []*group
	byTarget := map[string]*group{}
	for _, a := range as {
		k := fmt.Sprintf("%s|%v", a.target(), a.Optional)
		g := byTarget[k]
		if g == nil {
			g = &group{target: a.target(), optional: a.Optional, reason: a.Reason}
			byTarget[k] = g
			order = append(order, g)
		}
		g.verbs = append(g.verbs, a.Verb)
	}
	out := make([]string, len(order))
	for i, g := range order {
		out[i] = strings.Join(g.verbs, ", ") + " " + g.target
		if g.optional {
			out[i] += " (optional: " + g.reason + ")"
		}
	}
	return out
}

// Requirements are the inputs that decide what a run needs to be allowed to do.
type Requirements struct {
	// StepNamespace is the first ramp step's namespace. The steps' namespaces do not exist before the run, so no
	// RoleBinding can grant anything in any of them: what is allowed in the first is allowed in all.
	StepNamespace  string
	ProbeNamespace string
	// Objects are the kinds the modes' templates create in the step namespaces (TemplateKinds).
	Objects []schema.GroupVersionKind
	// Pods: the modes run pods (kube-burner waits for them to run).
	Pods bool
	// Probe is what the chosen probe kinds need (probe.RequiredAccess).
	Probe []probe.Access
	// InCluster: --probe-from cluster or both (a Job with its own ServiceAccount and RBAC).
	InCluster bool
	// ListNamespace is where the in-cluster probe gets a Role for the list-namespace kind ("" when not probed).
	ListNamespace string
	// PullSecrets are copied from PullSecretNamespace into every namespace of the run.
	PullSecrets         []string
	PullSecretNamespace string
}

// Resource is a resource a template kind maps to.
type Resource struct {
	Group, Resource string
	Namespaced      bool
}

const (
	rbacGroup       = "rbac.authorization.k8s.io"
	flowSchemaGroup = "flowcontrol.apiserver.k8s.io"
)

// Accesses lists, without duplicates and in a stable order, what a run with these requirements does; objects are
// the resources of r.Objects.
func (r Requirements) Accesses(objects []Resource) []Access {
	var out []Access
	idx := map[accessKey]int{}
	add := func(reason string, a Access) {
		a.Reason = reason
		if i, ok := idx[a.key()]; ok {
			out[i].Optional = out[i].Optional && a.Optional
			return
		}
		idx[a.key()] = len(out)
		out = append(out, a)
	}
	verbs := func(reason string, a Access, vs ...string) {
		for _, v := range vs {
			a.Verb = v
			add(reason, a)
		}
	}

	verbs("the safety plan reads the free capacity", Access{Resource: "nodes"}, "list")
	verbs("the safety plan reads the free capacity", Access{Resource: "pods"}, "list")
	verbs("the run creates, awaits and deletes its namespaces", Access{Resource: "namespaces"}, "create", "get", "list", "delete")
	const find = "teardown finds the run's objects by label"
	verbs(find, Access{Group: rbacGroup, Resource: "clusterroles"}, "list")
	verbs(find, Access{Group: rbacGroup, Resource: "clusterrolebindings"}, "list")
	verbs(find, Access{Group: rbacGroup, Resource: "roles"}, "list")
	verbs(find, Access{Group: rbacGroup, Resource: "rolebindings"}, "list")
	verbs(find, Access{Resource: "configmaps"}, "list")
	for _, o := range objects {
		ns := ""
		if o.Namespaced {
			ns = r.StepNamespace
		}
		verbs("the stress modes create these objects (kube-burner)", Access{Group: o.Group, Resource: o.Resource, Namespace: ns},
			"create", "get", "list", "delete")
		if o.Namespaced && ns != "" {
			add("kube-burner verifies the created objects with a list in all namespaces",
				Access{Verb: "list", Group: o.Group, Resource: o.Resource, Optional: true})
		}
	}
	if r.Pods {
		verbs("kube-burner waits until the stress pods run", Access{Resource: "pods", Namespace: r.StepNamespace}, "list", "watch")
	}
	verbs("the run records the events of its namespaces", Access{Resource: "events", Namespace: r.StepNamespace}, "list")
	for _, p := range r.Probe {
		add("the probes", Access{Verb: p.Verb, Resource: p.Resource, Namespace: p.Namespace, Path: p.Path})
	}
	if len(r.PullSecrets) > 0 {
		verbs("--image-pull-secret: read from the current namespace", Access{Resource: "secrets", Namespace: r.PullSecretNamespace}, "get")
		verbs("--image-pull-secret: copied into the run's namespaces", Access{Resource: "secrets", Namespace: r.StepNamespace}, "create")
		verbs("--image-pull-secret: copied into the run's namespaces", Access{Resource: "secrets", Namespace: r.ProbeNamespace}, "create")
	}
	if r.InCluster {
		const why = "the in-cluster probe (--probe-from cluster|both)"
		ns := r.ProbeNamespace
		verbs(why, Access{Resource: "serviceaccounts", Namespace: ns}, "create", "delete")
		for _, rns := range []string{ns, r.ListNamespace} {
			if rns == "" {
				continue
			}
			verbs(why, Access{Group: rbacGroup, Resource: "roles", Namespace: rns}, "create", "delete")
			verbs(why, Access{Group: rbacGroup, Resource: "rolebindings", Namespace: rns}, "create", "delete")
		}
		verbs(why, Access{Group: rbacGroup, Resource: "clusterroles"}, "create", "delete")
		verbs(why, Access{Group: rbacGroup, Resource: "clusterrolebindings"}, "create", "delete")
		// The probe's ClusterRole grants this; creating it needs holding it (or "escalate").
		verbs(why, Access{Group: flowSchemaGroup, Resource: "prioritylevelconfigurations"}, "list")
		verbs(why, Access{Group: "batch", Resource: "jobs", Namespace: ns}, "create", "get", "delete")
		verbs(why, Access{Resource: "pods", Namespace: ns}, "get", "list")
		verbs(why, Access{Resource: "pods/log", Namespace: ns}, "get")
		verbs(why, Access{Resource: "events", Namespace: ns}, "list")
	}
	add("server-side latency from the apiserver's histogram", Access{Verb: "get", Path: "/metrics", Optional: true})
	return out
}

// Preflight checks every access the run needs with one SelfSubjectAccessReview per distinct access and returns all
// that are denied, in the order of Requirements.Accesses. An error means the reviews (or the discovery of the
// templates' kinds) failed, not that something is missing.
func Preflight(ctx context.Context, client kubernetes.Interface, req Requirements) ([]Missing, error) {
	objects, err := resolveKinds(client, req.Objects)
	if err != nil {
		return nil, err
	}
	as := req.Accesses(objects)
	allowed := make([]bool, len(as))
	errs := make([]error, len(as))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range as {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			allowed[i], errs[i] = review(ctx, client, as[i])
		}(i)
	}
	wg.Wait()
	var missing []Missing
	for i, a := range as {
		if errs[i] != nil {
			return nil, fmt.Errorf("failed to review access (%s): %w", a, errs[i])
		}
		if !allowed[i] {
			missing = append(missing, a)
		}
	}
	return missing, nil
}

// Required returns the missing accesses that block a run (not the optional ones).
func Required(ms []Missing) []Missing {
	var out []Missing
	for _, m := range ms {
		if !m.Optional {
			out = append(out, m)
		}
	}
	return out
}

func review(ctx context.Context, client kubernetes.Interface, a Access) (bool, error) {
	r := &authorizationv1.SelfSubjectAccessReview{}
	if a.Path != "" {
		r.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.Path, Verb: a.Verb}
	} else {
		res, sub, _ := strings.Cut(a.Resource, "/")
		r.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: a.Verb, Group: a.Group,
			Resource: res, Subresource: sub}
	}
	out, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, r, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return out.Status.Allowed, nil
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
