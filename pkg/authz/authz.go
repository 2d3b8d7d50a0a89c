// Package authz is what an identity may do: the Access type (one verb on one resource or URL), the one
// SelfSubjectAccessReview helper that asks the API server about accesses, and the RBAC rules that grant them.
// It is a leaf: pkg/probe declares each probe kind's accesses with it (and grants them to the in-cluster probe),
// pkg/safety checks a run's accesses with it before anything is created.
package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Access is one thing an identity must be allowed to do: a verb on a resource (in Namespace, or cluster-wide / in
// every namespace when Namespace is "") or on a non-resource URL (Path).
type Access struct {
	Verb      string `json:"verb"`
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource,omitempty"` // with a subresource: "pods/log"
	Namespace string `json:"namespace,omitempty"`
	Path      string `json:"path,omitempty"`
	Optional  bool   `json:"optional,omitempty"` // reported, never blocking
	Reason    string `json:"reason,omitempty"`   // what it is needed for
}

// Key identifies an access regardless of why it is needed.
type Key struct{ Verb, Group, Resource, Namespace, Path string }

// Key is the access without Optional and Reason.
func (a Access) Key() Key { return Key{a.Verb, a.Group, a.Resource, a.Namespace, a.Path} }

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

// reviewConcurrency bounds the reviews in flight (a run needs some 50).
const reviewConcurrency = 8

// Review asks the API server whether the current identity may do each of as: one SelfSubjectAccessReview per
// distinct access, a few at a time; allowed[i] answers as[i]. An error means a review itself failed (it names the
// first such access in the order of as), not that something is denied.
func Review(ctx context.Context, client kubernetes.Interface, as []Access) ([]bool, error) {
	idx := map[Key]int{} // first index of each distinct access
	var distinct []int
	for i, a := range as {
		if _, ok := idx[a.Key()]; !ok {
			idx[a.Key()] = i
			distinct = append(distinct, i)
		}
	}
	answers := make([]bool, len(as))
	errs := make([]error, len(as))
	var wg sync.WaitGroup
	sem := make(chan struct{}, reviewConcurrency)
	for _, i := range distinct {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			if errs[i] = ctx.Err(); errs[i] == nil {
				answers[i], errs[i] = review(ctx, client, as[i])
			}
		}()
	}
	wg.Wait()
	allowed := make([]bool, len(as))
	for i, a := range as {
		first := idx[a.Key()]
		if errs[first] != nil {
			return nil, fmt.Errorf("failed to review access (%s): %w", as[first], errs[first])
		}
		allowed[i] = answers[first]
	}
	return allowed, nil
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

// Rules are the RBAC rules that grant a set of accesses: a Role's rules per namespace, and a ClusterRole's rules
// for the cluster-scoped resources and non-resource URLs.
type Rules struct {
	Namespaces []string                       // the namespaces of Roles, in order of first appearance
	Role       map[string][]rbacv1.PolicyRule // by namespace
	Cluster    []rbacv1.PolicyRule
}

// RulesFor returns the rules granting exactly as: one rule per resource (or URL) and scope, its verbs sorted, in order
// of first appearance. An access with Namespace "" on a namespaced resource would be granted in every namespace:
// callers list only namespaced accesses they mean to grant in one namespace.
func RulesFor(as []Access) Rules {
	r := Rules{Role: map[string][]rbacv1.PolicyRule{}}
	type target struct{ ns, group, resource, path string }
	var order []target
	verbs := map[target][]string{}
	for _, a := range as {
		t := target{a.Namespace, a.Group, a.Resource, a.Path}
		if a.Path != "" {
			t.ns = ""
		}
		if _, ok := verbs[t]; !ok {
			order = append(order, t)
		}
		if !slices.Contains(verbs[t], a.Verb) {
			verbs[t] = append(verbs[t], a.Verb)
		}
	}
	for _, t := range order {
		vs := slices.Sorted(slices.Values(verbs[t]))
		rule := rbacv1.PolicyRule{APIGroups: []string{t.group}, Resources: []string{t.resource}, Verbs: vs}
		if t.path != "" {
			rule = rbacv1.PolicyRule{NonResourceURLs: []string{t.path}, Verbs: vs}
		}
		if t.ns == "" {
			r.Cluster = append(r.Cluster, rule)
			continue
		}
		if _, ok := r.Role[t.ns]; !ok {
			r.Namespaces = append(r.Namespaces, t.ns)
		}
		r.Role[t.ns] = append(r.Role[t.ns], rule)
	}
	return r
}

// Grants reports whether rules grant a: a rule of a's scope (the Role of its namespace, or the ClusterRole, which
// grants in every namespace too) naming its verb and its resource or URL.
func (r Rules) Grants(a Access) bool {
	match := func(rules []rbacv1.PolicyRule) bool {
		for _, rule := range rules {
			if !slices.Contains(rule.Verbs, a.Verb) {
				continue
			}
			if a.Path != "" {
				if slices.Contains(rule.NonResourceURLs, a.Path) {
					return true
				}
				continue
			}
			if slices.Contains(rule.APIGroups, a.Group) && slices.Contains(rule.Resources, a.Resource) {
				return true
			}
		}
		return false
	}
	if match(r.Cluster) {
		return true
	}
	return a.Namespace != "" && a.Path == "" && match(r.Role[a.Namespace])
}
