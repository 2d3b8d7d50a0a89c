package probe

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// access is one thing a probe kind needs, checked with a SelfSubjectAccessReview.
type access struct {
	verb      string
	resource  string // empty for a non-resource URL
	namespace string
	path      string // non-resource URL
}

// requiredAccess lists what a kind needs, including what Setup and Teardown do for it: the get and watch
// kinds create and delete their ConfigMap.
func requiredAccess(k Kind, cfg Config) []access {
	cm := func(verbs ...string) []access {
		out := make([]access, len(verbs))
		for i, v := range verbs {
			out[i] = access{verb: v, resource: "configmaps", namespace: cfg.Namespace}
		}
		return out
	}
	switch k {
	case KindReadyz:
		return []access{{verb: "get", path: "/readyz"}}
	case KindGet:
		return cm("get", "create", "delete")
	case KindListNamespace:
		return []access{{verb: "list", resource: "configmaps", namespace: listNamespace(cfg)}}
	case KindListCluster:
		return []access{{verb: "list", resource: "nodes"}}
	case KindMutate:
		return cm("create", "patch", "delete")
	case KindWatch:
		return cm("watch", "create", "patch", "delete")
	}
	return nil
}

// Permitted returns the kinds of cfg.Kinds (in order) the current identity may use, checked with one
// SelfSubjectAccessReview per distinct verb/resource, and one note per dropped kind naming what is
// missing, e.g. `list-cluster: not permitted (list nodes)`. An error means the reviews themselves failed.
func Permitted(ctx context.Context, client kubernetes.Interface, cfg Config) ([]Kind, []string, error) {
	allowed := map[access]bool{}
	check := func(a access) (bool, error) {
		if v, ok := allowed[a]; ok {
			return v, nil
		}
		review := &authorizationv1.SelfSubjectAccessReview{}
		if a.path != "" {
			review.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.path, Verb: a.verb}
		} else {
			review.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
				Namespace: a.namespace, Verb: a.verb, Resource: a.resource,
			}
		}
		res, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return false, fmt.Errorf("failed to review access (%s): %w", describeAccess([]access{a}), err)
		}
		allowed[a] = res.Status.Allowed
		return res.Status.Allowed, nil
	}
	var kinds []Kind
	var notes []string
	for _, k := range cfg.Kinds {
		var missing []access
		for _, a := range requiredAccess(k, cfg) {
			ok, err := check(a)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				missing = append(missing, a)
			}
		}
		if len(missing) == 0 {
			kinds = append(kinds, k)
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: not permitted (%s)", k, describeAccess(missing)))
	}
	return kinds, notes, nil
}

// describeAccess renders accesses that share a target as "create, delete configmaps in namespace "x"",
// groups separated by "; ".
func describeAccess(as []access) string {
	type target struct{ resource, namespace, path string }
	var order []target
	verbs := map[target][]string{}
	for _, a := range as {
		t := target{a.resource, a.namespace, a.path}
		if _, ok := verbs[t]; !ok {
			order = append(order, t)
		}
		verbs[t] = append(verbs[t], a.verb)
	}
	parts := make([]string, len(order))
	for i, t := range order {
		s := strings.Join(verbs[t], ", ") + " "
		switch {
		case t.path != "":
			s += t.path
		case t.namespace != "":
			s += fmt.Sprintf("%s in namespace %q", t.resource, t.namespace)
		default:
			s += t.resource
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ")
}

// Access is one permission a probe kind needs: a verb on a core-group resource (in Namespace; "" for
// cluster-scoped resources), or on a non-resource URL (Path).
type Access struct {
	Verb      string
	Resource  string
	Namespace string
	Path      string
}

// RequiredAccess lists, without duplicates and in order, what the kinds need with cfg (including what their Setup
// and Teardown do), for a preflight check of a whole run.
func RequiredAccess(kinds []Kind, cfg Config) []Access {
	var out []Access
	seen := map[access]bool{}
	for _, k := range kinds {
		for _, a := range requiredAccess(k, cfg) {
			if seen[a] {
				continue
			}
			seen[a] = true
			out = append(out, Access{Verb: a.verb, Resource: a.resource, Namespace: a.namespace, Path: a.path})
		}
	}
	return out
}
