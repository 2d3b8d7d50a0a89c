// Package cluster knows how kubectl-pyrometer marks what it creates (labels) and how to find and delete it again
// by those labels, including what crashed runs left behind.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Labels on everything kubectl-pyrometer creates.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-pyrometer"
	RunIDLabel     = "kubepyrometer.io/run-id"
	ComponentLabel = "kubepyrometer.io/component" // probe, stress
	// OwnerAnnotation records, on every namespace and cluster object the plugin creates, the identity that created
	// it (the user name a SelfSubjectReview returns), so that cleanup can show whose runs it would delete.
	OwnerAnnotation = "kubepyrometer.io/owner"
)

// NewRunID returns a short random run id (8 lowercase hex characters), valid in names and label values.
func NewRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Labels returns the labels of an object created by run runID for component.
func Labels(runID, component string) map[string]string {
	l := map[string]string{ManagedByLabel: ManagedBy, RunIDLabel: runID}
	if component != "" {
		l[ComponentLabel] = component
	}
	return l
}

// Selector selects everything kubectl-pyrometer created, or only run runID's objects when runID is not empty.
func Selector(runID string) string {
	s := labels.Set{ManagedByLabel: ManagedBy}
	if runID != "" {
		s[RunIDLabel] = runID
	}
	return labels.SelectorFromSet(s).String()
}

// Object is one labelled object found in the cluster.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	RunID     string `json:"runID"`
	Status    string `json:"status,omitempty"` // e.g. Terminating, deleted, would delete, failed: ...
	// APIVersion and Resource are set for kinds beyond the built-in ones (found with the dynamic client).
	APIVersion string    `json:"apiVersion,omitempty"`
	Resource   string    `json:"resource,omitempty"`
	Owner      string    `json:"owner,omitempty"` // the identity that created it (OwnerAnnotation), if recorded
	Created    time.Time `json:"created"`
}

func newObject(kind string, m metav1.ObjectMeta, status string) Object {
	return Object{Kind: kind, Namespace: m.Namespace, Name: m.Name, RunID: m.Labels[RunIDLabel], Status: status,
		Owner: m.Annotations[OwnerAnnotation], Created: m.CreationTimestamp.Time}
}

// Find lists the objects kubectl-pyrometer created (of run runID, or of every run): namespaces, and the RBAC and
// other objects it may create outside its own namespaces (with WithKinds, also those kinds, in every namespace).
// A kind the identity may not list is skipped with a note (WithNotes) instead of failing the whole search, so
// that what may be found is still found (and deleted).
func Find(ctx context.Context, c kubernetes.Interface, runID string, opts ...Option) ([]Object, error) {
	fo := options(opts)
	lo := metav1.ListOptions{LabelSelector: Selector(runID)}
	var out []Object
	add := func(kind string, m metav1.ObjectMeta, status string) { out = append(out, newObject(kind, m, status)) }
	// skip turns a forbidden list into a note; any other error stops the search.
	skip := func(resource string, err error) error {
		if apierrors.IsForbidden(err) {
			fo.note(fmt.Sprintf("not looked for %s: this identity may not list them", resource))
			return nil
		}
		return fmt.Errorf("failed to list %s: %w", resource, err)
	}
	ours := map[string]bool{}
	if nss, err := c.CoreV1().Namespaces().List(ctx, lo); err != nil {
		if err := skip("namespaces", err); err != nil {
			return nil, err
		}
	} else {
		for _, n := range nss.Items {
			ours[n.Name] = true
			st := ""
			if n.DeletionTimestamp != nil {
				st = "Terminating"
			}
			add("Namespace", n.ObjectMeta, st)
		}
	}
	if crs, err := c.RbacV1().ClusterRoles().List(ctx, lo); err != nil {
		if err := skip("clusterroles", err); err != nil {
			return nil, err
		}
	} else {
		for _, o := range crs.Items {
			add("ClusterRole", o.ObjectMeta, "")
		}
	}
	if crbs, err := c.RbacV1().ClusterRoleBindings().List(ctx, lo); err != nil {
		if err := skip("clusterrolebindings", err); err != nil {
			return nil, err
		}
	} else {
		for _, o := range crbs.Items {
			add("ClusterRoleBinding", o.ObjectMeta, "")
		}
	}
	// Namespaced objects outside our own namespaces (those go with their namespace).
	if roles, err := c.RbacV1().Roles(metav1.NamespaceAll).List(ctx, lo); err != nil {
		if err := skip("roles", err); err != nil {
			return nil, err
		}
	} else {
		for _, o := range roles.Items {
			if !ours[o.Namespace] {
				add("Role", o.ObjectMeta, "")
			}
		}
	}
	if rbs, err := c.RbacV1().RoleBindings(metav1.NamespaceAll).List(ctx, lo); err != nil {
		if err := skip("rolebindings", err); err != nil {
			return nil, err
		}
	} else {
		for _, o := range rbs.Items {
			if !ours[o.Namespace] {
				add("RoleBinding", o.ObjectMeta, "")
			}
		}
	}
	if cms, err := c.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, lo); err != nil {
		if err := skip("configmaps", err); err != nil {
			return nil, err
		}
	} else {
		for _, o := range cms.Items {
			if !ours[o.Namespace] {
				add("ConfigMap", o.ObjectMeta, "")
			}
		}
	}
	more, err := findKinds(ctx, fo, lo, ours, skip)
	if err != nil {
		return nil, err
	}
	out = append(out, more...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}

// Delete deletes objs in parallel. With waitFor > 0 it then waits (at most waitFor) until they are gone; anything
// still present then is an error. Each object's Status says what happened to it. Objects of kinds beyond the
// built-in ones (Resource set) need WithKinds' dynamic client.
func Delete(ctx context.Context, c kubernetes.Interface, objs []Object, waitFor time.Duration, opts ...Option) ([]Object, error) {
	fo := options(opts)
	out := append([]Object(nil), objs...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	bg := metav1.DeletePropagationBackground
	dopts := metav1.DeleteOptions{PropagationPolicy: &bg}
	for i := range out {
		wg.Add(1)
		go func(o *Object) {
			defer wg.Done()
			err := deleteOne(ctx, c, fo, *o, dopts)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil || apierrors.IsNotFound(err):
				o.Status = "deleted"
			default:
				o.Status = "failed: " + err.Error()
				errs = append(errs, fmt.Errorf("failed to delete %s %s: %w", o.Kind, qualified(*o), err))
			}
		}(&out[i])
	}
	wg.Wait()
	if len(errs) > 0 || waitFor <= 0 {
		return out, errors.Join(errs...)
	}
	wctx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	// remaining is what the last complete pass found present; a pass cut short by an error (or by the deadline)
	// leaves it as it was and keeps the error, so that the message never says "0 object(s) still present".
	var remaining []string
	var lastErr error
	unverified := map[int]bool{}
	err := wait.PollUntilContextCancel(wctx, time.Second, true, func(ctx context.Context) (bool, error) {
		var present []string
		for i, o := range out {
			if unverified[i] {
				continue
			}
			gone, err := isGone(ctx, c, fo, o)
			if apierrors.IsForbidden(err) {
				unverified[i] = true // deleted, but this identity may not look: do not wait for what cannot be seen
				continue
			}
			if err != nil {
				lastErr = fmt.Errorf("%s %s: %w", o.Kind, qualified(o), err)
				return false, nil // transient: retry until the deadline
			}
			if !gone {
				present = append(present, o.Kind+" "+qualified(o))
			}
		}
		remaining, lastErr = present, nil
		return len(remaining) == 0, nil
	})
	for i := range unverified {
		out[i].Status = "deleted (not verified: get is forbidden)"
	}
	if err != nil {
		for i := range out {
			for _, r := range remaining {
				if r == out[i].Kind+" "+qualified(out[i]) {
					out[i].Status = "still terminating"
				}
			}
		}
		if len(remaining) == 0 && lastErr != nil {
			return out, fmt.Errorf("could not confirm within %v that the deleted objects are gone: %w", waitFor, lastErr)
		}
		return out, fmt.Errorf("%d object(s) still present after %v: %v", len(remaining), waitFor, remaining)
	}
	return out, nil
}

func qualified(o Object) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

func deleteOne(ctx context.Context, c kubernetes.Interface, fo *findOptions, o Object, opts metav1.DeleteOptions) error {
	if o.Resource != "" {
		r, err := fo.resource(o)
		if err != nil {
			return err
		}
		return r.Delete(ctx, o.Name, opts)
	}
	switch o.Kind {
	case "Namespace":
		return c.CoreV1().Namespaces().Delete(ctx, o.Name, opts)
	case "ClusterRole":
		return c.RbacV1().ClusterRoles().Delete(ctx, o.Name, opts)
	case "ClusterRoleBinding":
		return c.RbacV1().ClusterRoleBindings().Delete(ctx, o.Name, opts)
	case "Role":
		return c.RbacV1().Roles(o.Namespace).Delete(ctx, o.Name, opts)
	case "RoleBinding":
		return c.RbacV1().RoleBindings(o.Namespace).Delete(ctx, o.Name, opts)
	case "ConfigMap":
		return c.CoreV1().ConfigMaps(o.Namespace).Delete(ctx, o.Name, opts)
	}
	return fmt.Errorf("unsupported kind %s", o.Kind)
}

func isGone(ctx context.Context, c kubernetes.Interface, fo *findOptions, o Object) (bool, error) {
	var err error
	switch {
	case o.Resource != "":
		var r dynamic.ResourceInterface
		if r, err = fo.resource(o); err != nil {
			return true, nil // never deleted (reported by Delete)
		}
		_, err = r.Get(ctx, o.Name, metav1.GetOptions{})
	case o.Kind == "Namespace":
		_, err = c.CoreV1().Namespaces().Get(ctx, o.Name, metav1.GetOptions{})
	case o.Kind == "ClusterRole":
		_, err = c.RbacV1().ClusterRoles().Get(ctx, o.Name, metav1.GetOptions{})
	case o.Kind == "ClusterRoleBinding":
		_, err = c.RbacV1().ClusterRoleBindings().Get(ctx, o.Name, metav1.GetOptions{})
	case o.Kind == "Role":
		_, err = c.RbacV1().Roles(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case o.Kind == "RoleBinding":
		_, err = c.RbacV1().RoleBindings(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case o.Kind == "ConfigMap":
		_, err = c.CoreV1().ConfigMaps(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	default:
		return true, nil
	}
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

// Cleanup finds run runID's objects (every run's when empty) and deletes them, waiting at most waitFor.
func Cleanup(ctx context.Context, c kubernetes.Interface, runID string, waitFor time.Duration, opts ...Option) ([]Object, error) {
	objs, err := Find(ctx, c, runID, opts...)
	if err != nil || len(objs) == 0 {
		return objs, err
	}
	return Delete(ctx, c, objs, waitFor, opts...)
}
