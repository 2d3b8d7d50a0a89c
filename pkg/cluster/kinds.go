package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Kind is a resource Find searches (with the dynamic client) besides its built-in kinds: one a --plugins template
// creates, or every listable one the server serves (DiscoverKinds).
type Kind struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// builtin are the resources Find always searches with the typed client.
var builtin = map[schema.GroupResource]bool{
	{Resource: "namespaces"}: true, {Resource: "configmaps"}: true,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}: true, {Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}: true,
	{Group: "rbac.authorization.k8s.io", Resource: "roles"}: true, {Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}: true,
}

// Option adds to what Find, Delete and Cleanup do.
type Option func(*findOptions)

type findOptions struct {
	dyn   dynamic.Interface
	kinds []Kind
	notes func(string)
}

func options(opts []Option) *findOptions {
	fo := &findOptions{}
	for _, o := range opts {
		o(fo)
	}
	return fo
}

func (fo *findOptions) note(n string) {
	if fo.notes != nil {
		fo.notes(n)
	}
}

func (fo *findOptions) resource(o Object) (dynamic.ResourceInterface, error) {
	if fo.dyn == nil {
		return nil, fmt.Errorf("no dynamic client to delete %s %s", o.Kind, qualified(o))
	}
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return nil, err
	}
	r := fo.dyn.Resource(gv.WithResource(o.Resource))
	if o.Namespace != "" {
		return r.Namespace(o.Namespace), nil
	}
	return r, nil
}

// WithKinds makes Find also search kinds (namespaced ones in every namespace) with the dynamic client dyn, and
// Delete delete them. Kinds Find searches anyway are ignored.
func WithKinds(dyn dynamic.Interface, kinds []Kind) Option {
	return func(fo *findOptions) {
		fo.dyn = dyn
		for _, k := range kinds {
			if !builtin[k.GVR.GroupResource()] && !slices.ContainsFunc(fo.kinds, func(x Kind) bool { return x.GVR.GroupResource() == k.GVR.GroupResource() }) {
				fo.kinds = append(fo.kinds, k)
			}
		}
	}
}

// WithNotes receives a note for every kind Find skipped (the identity may not list it, or the list failed).
func WithNotes(f func(string)) Option { return func(fo *findOptions) { fo.notes = f } }

// findKinds lists the extra kinds in parallel (at most 8 lists at a time).
func findKinds(ctx context.Context, fo *findOptions, lo metav1.ListOptions, ours map[string]bool, skip func(string, error) error) ([]Object, error) {
	if fo.dyn == nil || len(fo.kinds) == 0 {
		return nil, nil
	}
	var mu sync.Mutex
	var out []Object
	var errs []error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, k := range fo.kinds {
		wg.Add(1)
		go func(k Kind) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			list, err := fo.dyn.Resource(k.GVR).List(ctx, lo) // namespaced: every namespace
			mu.Lock()
			defer mu.Unlock()
			name := k.GVR.Resource
			if k.GVR.Group != "" {
				name += "." + k.GVR.Group
			}
			if err != nil {
				switch {
				case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
					// served no more (a CRD removed meanwhile), or not listable: nothing of ours can be there
				case apierrors.IsForbidden(err) || ctx.Err() != nil:
					if e := skip(name, err); e != nil {
						errs = append(errs, e)
					}
				default:
					fo.note(fmt.Sprintf("not looked for %s: %v", name, err))
				}
				return
			}
			for _, u := range list.Items {
				if k.Namespaced && ours[u.GetNamespace()] {
					continue // goes with its namespace
				}
				m := metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), Labels: u.GetLabels(),
					Annotations: u.GetAnnotations(), CreationTimestamp: u.GetCreationTimestamp()}
				o := newObject(k.Kind, m, "")
				if u.GetDeletionTimestamp() != nil {
					o.Status = "Terminating"
				}
				o.APIVersion, o.Resource = k.GVR.GroupVersion().String(), k.GVR.Resource
				out = append(out, o)
			}
		}(k)
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// ResolveKinds maps the kinds a run's templates create to their resources (discovery through mapper); a kind the
// server does not serve is an error naming it.
func ResolveKinds(mapper apimeta.RESTMapper, gvks []schema.GroupVersionKind) ([]Kind, error) {
	var out []Kind
	for _, gvk := range gvks {
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, fmt.Errorf("kind %s (apiVersion %s) is not served by the cluster: %w", gvk.Kind, gvk.GroupVersion(), err)
		}
		out = append(out, Kind{GVR: m.Resource, Kind: gvk.Kind, Namespaced: m.Scope.Name() == apimeta.RESTScopeNameNamespace})
	}
	return out, nil
}

// DiscoverKinds returns every resource the server serves that can be listed and deleted (preferred versions), for
// a cleanup that does not know which kinds a crashed run's --plugins templates created. Groups whose discovery
// failed are named in notes; their objects are not looked for.
func DiscoverKinds(disc discovery.DiscoveryInterface) (kinds []Kind, notes []string, err error) {
	lists, err := disc.ServerPreferredResources()
	if err != nil {
		var gerr *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gerr) {
			return nil, nil, fmt.Errorf("failed to discover the server's resources: %w", err)
		}
		for gv, e := range gerr.Groups {
			notes = append(notes, fmt.Sprintf("not looked for objects of %s: discovery failed: %v", gv, e))
		}
		sort.Strings(notes)
	}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			k := Kind{GVR: gv.WithResource(r.Name), Kind: r.Kind, Namespaced: r.Namespaced}
			if !builtin[k.GVR.GroupResource()] {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds, notes, nil
}

// Annotations are the annotations of an object created by owner (none when owner is unknown).
func Annotations(owner string) map[string]string {
	if owner == "" {
		return nil
	}
	return map[string]string{OwnerAnnotation: owner}
}

// WhoAmI returns the user name of the client's identity (a SelfSubjectReview; with --as, the impersonated user),
// or "" when the server does not say (before Kubernetes 1.28, or not allowed).
func WhoAmI(ctx context.Context, c kubernetes.Interface) string {
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return ""
	}
	return r.Status.UserInfo.Username
}

// Run is what the cluster holds of one run.
type Run struct {
	ID      string    `json:"runID"`
	Owner   string    `json:"owner,omitempty"`
	Created time.Time `json:"created"` // the oldest object's creation: when the run started
	Objects int       `json:"objects"`
}

// Runs groups objs by run id, oldest run first. A run's owner is its namespaces' OwnerAnnotation (any object's
// when no namespace says).
func Runs(objs []Object) []Run {
	idx := map[string]int{}
	var out []Run
	nsOwner := map[string]bool{}
	for _, o := range objs {
		i, ok := idx[o.RunID]
		if !ok {
			i = len(out)
			idx[o.RunID] = i
			out = append(out, Run{ID: o.RunID, Created: o.Created})
		}
		r := &out[i]
		r.Objects++
		if !o.Created.IsZero() && (r.Created.IsZero() || o.Created.Before(r.Created)) {
			r.Created = o.Created
		}
		if o.Owner != "" && (r.Owner == "" || o.Kind == "Namespace" && !nsOwner[r.ID]) {
			r.Owner = o.Owner
			nsOwner[r.ID] = nsOwner[r.ID] || o.Kind == "Namespace"
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}
