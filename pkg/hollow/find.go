package hollow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// Find lists what Deploy created, of run runID or of every run when runID is empty: Nodes, their Leases, kwok's
// Deployment, ServiceAccount, ConfigMap, ClusterRole and ClusterRoleBinding, in every namespace (as cluster.Find:
// a kind the identity may not list is skipped with a note). Nodes, Leases, Deployments and ServiceAccounts carry
// APIVersion and Resource, so cluster.Delete can delete them with cluster.WithKinds' dynamic client; the ConfigMap,
// ClusterRole and ClusterRoleBinding are kinds cluster.Find finds too (merge by Kind, Namespace and Name).
func Find(ctx context.Context, c kubernetes.Interface, runID string, notes func(string)) ([]cluster.Object, error) {
	lo := metav1.ListOptions{LabelSelector: Selector(runID)}
	var out []cluster.Object
	var errs []error
	add := func(kind, apiVersion, resource string, m metav1.ObjectMeta) {
		o := cluster.Object{Kind: kind, Namespace: m.Namespace, Name: m.Name, RunID: m.Labels[cluster.RunIDLabel],
			APIVersion: apiVersion, Resource: resource, Owner: m.Annotations[cluster.OwnerAnnotation], Created: m.CreationTimestamp.Time}
		if m.DeletionTimestamp != nil {
			o.Status = "Terminating"
		}
		out = append(out, o)
	}
	failed := func(resource string, err error) {
		if apierrors.IsForbidden(err) {
			if notes != nil {
				notes(fmt.Sprintf("not looked for %s: this identity may not list them", resource))
			}
			return
		}
		errs = append(errs, fmt.Errorf("failed to list %s: %w", resource, err))
	}
	if l, err := c.CoreV1().Nodes().List(ctx, lo); err != nil {
		failed("nodes", err)
	} else {
		for _, o := range l.Items {
			add("Node", "v1", "nodes", o.ObjectMeta)
		}
	}
	if l, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, lo); err != nil {
		failed("leases", err)
	} else {
		for _, o := range l.Items {
			add("Lease", "coordination.k8s.io/v1", "leases", o.ObjectMeta)
		}
	}
	if l, err := c.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, lo); err != nil {
		failed("deployments", err)
	} else {
		for _, o := range l.Items {
			add("Deployment", "apps/v1", "deployments", o.ObjectMeta)
		}
	}
	if l, err := c.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, lo); err != nil {
		failed("serviceaccounts", err)
	} else {
		for _, o := range l.Items {
			add("ServiceAccount", "v1", "serviceaccounts", o.ObjectMeta)
		}
	}
	if l, err := c.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, lo); err != nil {
		failed("configmaps", err)
	} else {
		for _, o := range l.Items {
			add("ConfigMap", "", "", o.ObjectMeta)
		}
	}
	if l, err := c.RbacV1().ClusterRoles().List(ctx, lo); err != nil {
		failed("clusterroles", err)
	} else {
		for _, o := range l.Items {
			add("ClusterRole", "", "", o.ObjectMeta)
		}
	}
	if l, err := c.RbacV1().ClusterRoleBindings().List(ctx, lo); err != nil {
		failed("clusterrolebindings", err)
	} else {
		for _, o := range l.Items {
			add("ClusterRoleBinding", "", "", o.ObjectMeta)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].RunID != out[j].RunID {
			return out[i].RunID < out[j].RunID
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, errors.Join(errs...)
}

// Cleanup deletes what Find finds of run runID (every run's when empty) and waits at most waitFor until it is
// gone; each object's Status says what happened. Order: the run's pods still bound to its hollow nodes (grace
// period 0: no kubelet will confirm), the Nodes and kwok's Deployment; once those are gone (so kwok cannot renew or
// recreate a lease), the Leases, ServiceAccounts, ConfigMaps and RBAC.
func Cleanup(ctx context.Context, c kubernetes.Interface, runID string, waitFor time.Duration) ([]cluster.Object, error) {
	objs, err := Find(ctx, c, runID, nil)
	if err != nil {
		return objs, err
	}
	if len(objs) == 0 {
		return nil, nil
	}
	deadline := time.Now().Add(waitFor)
	nodes := map[string]bool{}
	for _, o := range objs {
		if o.Kind == "Node" {
			nodes[o.Name] = true
		}
	}
	var errs []error
	if err := deletePodsOn(ctx, c, runID, nodes); err != nil {
		errs = append(errs, err)
	}
	first := func(o cluster.Object) bool { return o.Kind == "Node" || o.Kind == "Deployment" }
	if err := deleteAll(ctx, c, objs, first); err != nil {
		errs = append(errs, err)
	}
	if err := waitGone(ctx, c, objs, first, runID, time.Until(deadline)); err != nil {
		errs = append(errs, err)
	}
	rest := func(o cluster.Object) bool { return !first(o) }
	if err := deleteAll(ctx, c, objs, rest); err != nil {
		errs = append(errs, err)
	}
	if err := waitGone(ctx, c, objs, rest, runID, time.Until(deadline)); err != nil {
		errs = append(errs, err)
	}
	return objs, errors.Join(errs...)
}

// deletePodsOn deletes, with grace period 0, the pods of run runID (every run's when empty) bound to one of nodes:
// one DeleteCollection per namespace and hollow node (label and field selector) where a node holds several, then one
// by one what is still there (one pod, or a DeleteCollection failed or was not permitted). One request per pod, at the
// client's 50 QPS, took longer than the teardown's bound with 10,000 pods, and the nodes were left.
func deletePodsOn(ctx context.Context, c kubernetes.Interface, runID string, nodes map[string]bool) error {
	if len(nodes) == 0 {
		return nil
	}
	onNodes := func() ([]corev1.Pod, error) {
		pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(runID)})
		if err != nil {
			return nil, err
		}
		var out []corev1.Pod
		for _, p := range pods.Items {
			if nodes[p.Spec.NodeName] { // terminating ones too: no kubelet finishes them (kwok would, slowly)
				out = append(out, p)
			}
		}
		return out, nil
	}
	pods, err := onNodes()
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil // the pods go with their namespaces, or with their nodes (pod garbage collection)
		}
		return fmt.Errorf("failed to list the pods on hollow nodes: %w", err)
	}
	type group struct{ namespace, node string }
	count := map[group]int{}
	for _, p := range pods {
		count[group{p.Namespace, p.Spec.NodeName}]++
	}
	var many []group
	for g, n := range count {
		if n > 1 {
			many = append(many, g)
		}
	}
	grace := metav1.DeleteOptions{GracePeriodSeconds: new(int64)}
	if len(many) > 0 {
		_ = parallel(ctx, many, func(ctx context.Context, g group) error {
			lo := metav1.ListOptions{LabelSelector: cluster.Selector(runID), FieldSelector: "spec.nodeName=" + g.node}
			_ = c.CoreV1().Pods(g.namespace).DeleteCollection(ctx, grace, lo) // what it left is deleted below
			return nil
		})
		if pods, err = onNodes(); err != nil {
			return fmt.Errorf("failed to list the pods on hollow nodes: %w", err)
		}
	}
	var mu sync.Mutex
	var first error
	failed := 0
	_ = parallel(ctx, pods, func(ctx context.Context, p corev1.Pod) error {
		err := c.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, grace)
		if err != nil && !apierrors.IsNotFound(err) {
			mu.Lock()
			if failed++; first == nil {
				first = fmt.Errorf("failed to delete pod %s/%s on hollow node %s: %w", p.Namespace, p.Name, p.Spec.NodeName, err)
			}
			mu.Unlock()
		}
		return nil // go on with the others
	})
	if failed > 1 { // one line, not thousands
		return fmt.Errorf("%d pods on hollow nodes not deleted; the first: %w", failed, first)
	}
	return first
}

// deleteAll deletes the objects of objs that sel selects, in parallel, and sets their Status.
func deleteAll(ctx context.Context, c kubernetes.Interface, objs []cluster.Object, sel func(cluster.Object) bool) error {
	var mu sync.Mutex
	var errs []error
	var sub []*cluster.Object
	for i := range objs {
		if sel(objs[i]) {
			sub = append(sub, &objs[i])
		}
	}
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	sub = deleteCollections(ctx, c, sub, opts)
	_ = parallel(ctx, sub, func(ctx context.Context, o *cluster.Object) error {
		err := deleteOne(ctx, c, *o, opts)
		mu.Lock()
		defer mu.Unlock()
		if err == nil || apierrors.IsNotFound(err) {
			o.Status = "deleted"
			return nil
		}
		o.Status = "failed: " + err.Error()
		errs = append(errs, fmt.Errorf("failed to delete %s %s: %w", o.Kind, qualified(*o), err))
		return nil // go on with the others
	})
	return errors.Join(errs...)
}

// deleteCollections deletes the Nodes and Leases of objs with one DeleteCollection per run (and namespace) by
// label, instead of one request each (hundreds of nodes and leases at a client's QPS take minutes), marks them
// deleted and returns the objects left to delete one by one (all of them where a DeleteCollection failed, e.g.
// not permitted).
func deleteCollections(ctx context.Context, c kubernetes.Interface, objs []*cluster.Object, opts metav1.DeleteOptions) []*cluster.Object {
	type group struct{ kind, namespace, runID string }
	groups := map[group][]*cluster.Object{}
	var rest []*cluster.Object
	for _, o := range objs {
		if (o.Kind == "Node" || o.Kind == "Lease") && o.RunID != "" {
			g := group{o.Kind, o.Namespace, o.RunID}
			groups[g] = append(groups[g], o)
			continue
		}
		rest = append(rest, o)
	}
	for g, members := range groups {
		// what is still there (not being deleted) afterwards is deleted one by one
		left := map[string]bool{}
		if g.kind == "Node" {
			lo := metav1.ListOptions{LabelSelector: cluster.Selector(g.runID) + "," + cluster.ComponentLabel + "=" + ComponentNode}
			err := c.CoreV1().Nodes().DeleteCollection(ctx, opts, lo)
			if l, lerr := c.CoreV1().Nodes().List(ctx, lo); err == nil && lerr == nil {
				for _, o := range l.Items {
					if o.DeletionTimestamp == nil {
						left[o.Name] = true
					}
				}
			} else {
				left = nil
			}
		} else {
			lo := metav1.ListOptions{LabelSelector: cluster.Selector(g.runID) + "," + cluster.ComponentLabel + "=" + ComponentLease}
			err := c.CoordinationV1().Leases(g.namespace).DeleteCollection(ctx, opts, lo)
			if l, lerr := c.CoordinationV1().Leases(g.namespace).List(ctx, lo); err == nil && lerr == nil {
				for _, o := range l.Items {
					if o.DeletionTimestamp == nil {
						left[o.Name] = true
					}
				}
			} else {
				left = nil
			}
		}
		for _, o := range members {
			if left == nil || left[o.Name] {
				rest = append(rest, o)
				continue
			}
			o.Status = "deleted"
		}
	}
	return rest
}

func deleteOne(ctx context.Context, c kubernetes.Interface, o cluster.Object, opts metav1.DeleteOptions) error {
	switch o.Kind {
	case "Node":
		return c.CoreV1().Nodes().Delete(ctx, o.Name, opts)
	case "Lease":
		return c.CoordinationV1().Leases(o.Namespace).Delete(ctx, o.Name, opts)
	case "Deployment":
		return c.AppsV1().Deployments(o.Namespace).Delete(ctx, o.Name, opts)
	case "ServiceAccount":
		return c.CoreV1().ServiceAccounts(o.Namespace).Delete(ctx, o.Name, opts)
	case "ConfigMap":
		return c.CoreV1().ConfigMaps(o.Namespace).Delete(ctx, o.Name, opts)
	case "ClusterRole":
		return c.RbacV1().ClusterRoles().Delete(ctx, o.Name, opts)
	case "ClusterRoleBinding":
		return c.RbacV1().ClusterRoleBindings().Delete(ctx, o.Name, opts)
	}
	return fmt.Errorf("unsupported kind %s", o.Kind)
}

func qualified(o cluster.Object) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// waitGone waits until the objects sel selects are gone (and, for Deployments, kwok's pods of the run too),
// at most d, listing by label once a second.
func waitGone(ctx context.Context, c kubernetes.Interface, objs []cluster.Object, sel func(cluster.Object) bool, runID string, d time.Duration) error {
	want := map[string]int{}
	deployments := false
	for i, o := range objs {
		if sel(o) && !strings.HasPrefix(o.Status, "failed") {
			want[o.Kind+" "+qualified(o)] = i
			deployments = deployments || o.Kind == "Deployment"
		}
	}
	if len(want) == 0 {
		return nil
	}
	if d <= 0 {
		d = time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var remaining []string
	err := wait.PollUntilContextCancel(wctx, time.Second, true, func(ctx context.Context) (bool, error) {
		found, err := Find(ctx, c, runID, nil)
		if err != nil {
			return false, nil // transient: retry until the deadline
		}
		remaining = remaining[:0]
		for _, o := range found {
			if _, ok := want[o.Kind+" "+qualified(o)]; ok {
				remaining = append(remaining, o.Kind+" "+qualified(o))
			}
		}
		if deployments {
			pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(runID) + "," +
				cluster.ComponentLabel + "=" + ComponentController})
			if err != nil {
				return false, nil
			}
			for _, p := range pods.Items {
				remaining = append(remaining, "Pod "+p.Namespace+"/"+p.Name)
			}
		}
		return len(remaining) == 0, nil
	})
	if err != nil {
		for _, r := range remaining {
			if i, ok := want[r]; ok {
				objs[i].Status = "still terminating"
			}
		}
		return fmt.Errorf("%d hollow-node object(s) still present after %v: %v", len(remaining), d.Round(time.Second), remaining)
	}
	return nil
}

// DeletePods deletes, with grace period 0, the run's pods bound to its hollow nodes (no kubelet finishes them;
// kwok would, at its own pace: minutes for thousands). The run's teardown calls it before deleting the step
// namespaces, so that their deletion does not wait for kwok.
func (h *Hollow) DeletePods(ctx context.Context) error {
	nodes := map[string]bool{}
	for _, n := range h.names {
		nodes[n] = true
	}
	return deletePodsOn(ctx, h.c, h.opts.RunID, nodes)
}
