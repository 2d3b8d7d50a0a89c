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
	"k8s.io/client-go/kubernetes"
)

// Labels on everything kubectl-pyrometer creates.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-pyrometer"
	RunIDLabel     = "kubepyrometer.io/run-id"
	ComponentLabel = "kubepyrometer.io/component" // probe, stress
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
}

// Find lists the objects kubectl-pyrometer created (of run runID, or of every run): namespaces, and the RBAC and
// other objects it may create outside its own namespaces.
func Find(ctx context.Context, c kubernetes.Interface, runID string) ([]Object, error) {
	opts := metav1.ListOptions{LabelSelector: Selector(runID)}
	var out []Object
	add := func(kind string, m metav1.ObjectMeta, status string) {
		out = append(out, Object{Kind: kind, Namespace: m.Namespace, Name: m.Name, RunID: m.Labels[RunIDLabel], Status: status})
	}
	nss, err := c.CoreV1().Namespaces().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to list namespaces: %w", err)
	}
	ours := map[string]bool{}
	for _, n := range nss.Items {
		ours[n.Name] = true
		st := ""
		if n.DeletionTimestamp != nil {
			st = "Terminating"
		}
		add("Namespace", n.ObjectMeta, st)
	}
	crs, err := c.RbacV1().ClusterRoles().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to list clusterroles: %w", err)
	}
	for _, o := range crs.Items {
		add("ClusterRole", o.ObjectMeta, "")
	}
	crbs, err := c.RbacV1().ClusterRoleBindings().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to list clusterrolebindings: %w", err)
	}
	for _, o := range crbs.Items {
		add("ClusterRoleBinding", o.ObjectMeta, "")
	}
	// Namespaced objects outside our own namespaces (those go with their namespace).
	roles, err := c.RbacV1().Roles(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to list roles: %w", err)
	}
	for _, o := range roles.Items {
		if !ours[o.Namespace] {
			add("Role", o.ObjectMeta, "")
		}
	}
	rbs, err := c.RbacV1().RoleBindings(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to list rolebindings: %w", err)
	}
	for _, o := range rbs.Items {
		if !ours[o.Namespace] {
			add("RoleBinding", o.ObjectMeta, "")
		}
	}
	cms, err := c.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to list configmaps: %w", err)
	}
	for _, o := range cms.Items {
		if !ours[o.Namespace] {
			add("ConfigMap", o.ObjectMeta, "")
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}

// Delete deletes objs in parallel. With waitFor > 0 it then waits (at most waitFor) until they are gone; anything
// still present then is an error. Each object's Status says what happened to it.
func Delete(ctx context.Context, c kubernetes.Interface, objs []Object, waitFor time.Duration) ([]Object, error) {
	out := append([]Object(nil), objs...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	for i := range out {
		wg.Add(1)
		go func(o *Object) {
			defer wg.Done()
			err := deleteOne(ctx, c, *o, opts)
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
	var remaining []string
	err := wait.PollUntilContextCancel(wctx, time.Second, true, func(ctx context.Context) (bool, error) {
		remaining = remaining[:0]
		for _, o := range out {
			gone, err := isGone(ctx, c, o)
			if err != nil {
				return false, nil // transient: retry until the deadline
			}
			if !gone {
				remaining = append(remaining, o.Kind+" "+qualified(o))
			}
		}
		return len(remaining) == 0, nil
	})
	if err != nil {
		for i := range out {
			for _, r := range remaining {
				if r == out[i].Kind+" "+qualified(out[i]) {
					out[i].Status = "still terminating"
				}
			}
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

func deleteOne(ctx context.Context, c kubernetes.Interface, o Object, opts metav1.DeleteOptions) error {
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

func isGone(ctx context.Context, c kubernetes.Interface, o Object) (bool, error) {
	var err error
	switch o.Kind {
	case "Namespace":
		_, err = c.CoreV1().Namespaces().Get(ctx, o.Name, metav1.GetOptions{})
	case "ClusterRole":
		_, err = c.RbacV1().ClusterRoles().Get(ctx, o.Name, metav1.GetOptions{})
	case "ClusterRoleBinding":
		_, err = c.RbacV1().ClusterRoleBindings().Get(ctx, o.Name, metav1.GetOptions{})
	case "Role":
		_, err = c.RbacV1().Roles(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case "RoleBinding":
		_, err = c.RbacV1().RoleBindings(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case "ConfigMap":
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
func Cleanup(ctx context.Context, c kubernetes.Interface, runID string, waitFor time.Duration) ([]Object, error) {
	objs, err := Find(ctx, c, runID)
	if err != nil || len(objs) == 0 {
		return objs, err
	}
	return Delete(ctx, c, objs, waitFor)
}
