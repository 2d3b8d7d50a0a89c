package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func meta(ns, name, runID string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Namespace: ns, Name: name}
	if runID != "" {
		m.Labels = Labels(runID, "")
	}
	return m
}

func TestFindAndCleanupByRun(t *testing.T) {
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: meta("", "pyro-a-step-1", "aaaa")},
		&corev1.Namespace{ObjectMeta: meta("", "pyro-b-step-1", "bbbb")},
		&corev1.Namespace{ObjectMeta: meta("", "someone-elses", "")},
		&rbacv1.ClusterRole{ObjectMeta: meta("", "pyro-a-probe", "aaaa")},
		&rbacv1.ClusterRoleBinding{ObjectMeta: meta("", "pyro-a-probe", "aaaa")},
		&rbacv1.Role{ObjectMeta: meta("kube-system", "pyro-a-probe", "aaaa")},
		&rbacv1.RoleBinding{ObjectMeta: meta("kube-system", "pyro-a-probe", "aaaa")},
		&corev1.ConfigMap{ObjectMeta: meta("pyro-a-step-1", "inside-our-namespace", "aaaa")},
		&corev1.ConfigMap{ObjectMeta: meta("kube-system", "unrelated", "")},
	}
	c := fake.NewClientset(objs...)
	ctx := context.Background()

	all, err := Find(ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("want 6 labelled objects outside our namespaces + namespaces, got %d: %+v", len(all), all)
	}
	got, err := Cleanup(ctx, c, "aaaa", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("run aaaa: want 5 objects, got %+v", got)
	}
	for _, o := range got {
		if o.RunID != "aaaa" || o.Status != "deleted" {
			t.Errorf("%+v", o)
		}
	}
	left, _ := Find(ctx, c, "bbbb")
	if len(left) != 1 || left[0].Name != "pyro-b-step-1" {
		t.Fatalf("another run's objects must be untouched: %+v", left)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "someone-elses", metav1.GetOptions{}); err != nil {
		t.Error("unlabelled namespace was touched")
	}
	// (the fake clientset does not cascade a namespace's deletion to its objects, so ask for namespaces only)
	if again, _ := Find(ctx, c, "aaaa"); len(again) != 1 || again[0].Kind != "ConfigMap" {
		t.Errorf("after cleanup only the fake's uncascaded ConfigMap may remain: %+v", again)
	}
	again, err := Cleanup(ctx, c, "bbbb", time.Second)
	if err != nil || len(again) != 1 {
		t.Errorf("cleanup twice: %v %v", again, err)
	}
}

func TestSelectorAndRunID(t *testing.T) {
	if s := Selector(""); s != "app.kubernetes.io/managed-by=kubectl-pyrometer" {
		t.Error(s)
	}
	if s := Selector("ab12"); !strings.Contains(s, "kubepyrometer.io/run-id=ab12") {
		t.Error(s)
	}
	a, b := NewRunID(), NewRunID()
	if len(a) != 8 || a == b {
		t.Errorf("run ids %q %q", a, b)
	}
}

// TestFindSkipsForbiddenKinds: an identity that may not list ClusterRoles (issue 12 item 11) still finds and
// deletes the namespace it created, and is told which kind it could not look for.
func TestFindSkipsForbiddenKinds(t *testing.T) {
	c := fake.NewClientset(&corev1.Namespace{ObjectMeta: meta("", "pyrometer-aaaa", "aaaa")})
	c.PrependReactor("list", "clusterroles", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, "", errors.New("no"))
	})
	ctx := context.Background()
	got, err := Cleanup(ctx, c, "aaaa", 5*time.Second)
	if err != nil {
		t.Fatalf("a forbidden list must not stop the cleanup: %v", err)
	}
	if len(got) != 1 || got[0].Kind != "Namespace" || got[0].Status != "deleted" {
		t.Fatalf("the namespace must be found and deleted: %+v", got)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "pyrometer-aaaa", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace still there: %v", err)
	}
	var notes []string
	if _, err := Find(ctx, c, "aaaa", WithNotes(func(n string) { notes = append(notes, n) })); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "clusterroles") || !strings.Contains(notes[0], "may not list") {
		t.Errorf("want one note naming clusterroles, got %q", notes)
	}
	// any other error still stops the search
	c.PrependReactor("list", "roles", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if _, err := Find(ctx, c, "aaaa"); err == nil || !strings.Contains(err.Error(), "roles") {
		t.Errorf("a failed list must be an error naming the kind: %v", err)
	}
}

func unstructuredObj(apiVersion, kind, ns, name, runID string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	if runID != "" {
		u.SetLabels(Labels(runID, "stress"))
	}
	return u
}

// TestFindAndDeleteTemplateKinds: objects a --plugins template created outside the run's namespaces (cluster-scoped,
// or in another namespace) are found with the dynamic client and deleted (issue 12 item 14).
func TestFindAndDeleteTemplateKinds(t *testing.T) {
	pc := schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}
	sa := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{pc: "PriorityClassList", sa: "ServiceAccountList"},
		unstructuredObj("scheduling.k8s.io/v1", "PriorityClass", "", "pyrometer-pc", "aaaa"),
		unstructuredObj("v1", "ServiceAccount", "default", "pyrometer-sa", "aaaa"),
		unstructuredObj("v1", "ServiceAccount", "pyrometer-aaaa-step-1", "inside", "aaaa"),
		unstructuredObj("v1", "ServiceAccount", "default", "other-run", "bbbb"),
		unstructuredObj("v1", "ServiceAccount", "default", "not-ours", ""))
	c := fake.NewClientset(&corev1.Namespace{ObjectMeta: meta("", "pyrometer-aaaa-step-1", "aaaa")})
	kinds := []Kind{{GVR: pc, Kind: "PriorityClass"}, {GVR: sa, Kind: "ServiceAccount", Namespaced: true},
		{GVR: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Kind: "ConfigMap", Namespaced: true}} // built-in: ignored
	ctx := context.Background()
	objs, err := Find(ctx, c, "aaaa", WithKinds(dyn, kinds))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Kind+" "+qualified(o))
	}
	want := "Namespace pyrometer-aaaa-step-1,PriorityClass pyrometer-pc,ServiceAccount default/pyrometer-sa"
	if strings.Join(names, ",") != want {
		t.Fatalf("found %v, want %s", names, want)
	}
	if _, err := Cleanup(ctx, c, "aaaa", 5*time.Second, WithKinds(dyn, kinds)); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(pc).Get(ctx, "pyrometer-pc", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster-scoped template object not deleted: %v", err)
	}
	if _, err := dyn.Resource(sa).Namespace("default").Get(ctx, "pyrometer-sa", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("template object in another namespace not deleted: %v", err)
	}
	for _, n := range []string{"other-run", "not-ours"} {
		if _, err := dyn.Resource(sa).Namespace("default").Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("%s must be untouched: %v", n, err)
		}
	}
}

// TestRunsGroupsByRun: the per-run summary cleanup shows (age from the oldest object, owner from the namespace).
func TestRunsGroupsByRun(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	objs := []Object{
		{Kind: "ClusterRole", RunID: "bbbb", Created: t0.Add(time.Hour), Owner: "ci"},
		{Kind: "Namespace", RunID: "aaaa", Created: t0.Add(time.Minute), Owner: "alice"},
		{Kind: "Namespace", RunID: "aaaa", Created: t0, Owner: "alice"},
		{Kind: "ConfigMap", RunID: "aaaa", Created: t0.Add(2 * time.Minute)},
		{Kind: "Namespace", RunID: "bbbb", Created: t0.Add(2 * time.Hour), Owner: "bob"},
	}
	got := Runs(objs)
	if len(got) != 2 || got[0].ID != "aaaa" || got[0].Objects != 3 || got[0].Owner != "alice" || !got[0].Created.Equal(t0) {
		t.Fatalf("%+v", got)
	}
	if got[1].ID != "bbbb" || got[1].Owner != "bob" || !got[1].Created.Equal(t0.Add(time.Hour)) {
		t.Errorf("owner from the namespace, age from the oldest object: %+v", got[1])
	}
}

// TestDeleteWaitNeverSaysZeroPresent: when the wait ends with a pass cut short (a transient error, or the deadline
// interrupting a get), the error names what was last seen present or the error, never "0 object(s) still present
// ...: []" (what the old code said of a namespace still terminating).
func TestDeleteWaitNeverSaysZeroPresent(t *testing.T) {
	t.Run("transient error", func(t *testing.T) {
		c := fake.NewClientset(&corev1.Namespace{ObjectMeta: meta("", "pyrometer-aaaa-step-1", "aaaa")})
		c.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewServiceUnavailable("etcd is slow")
		})
		_, err := Delete(context.Background(), c, []Object{{Kind: "Namespace", Name: "pyrometer-aaaa-step-1"}}, 1500*time.Millisecond)
		if err == nil || strings.Contains(err.Error(), "0 object(s)") || !strings.Contains(err.Error(), "etcd is slow") {
			t.Errorf("err = %v, want the error that kept the deletion unconfirmed", err)
		}
	})
	t.Run("still terminating", func(t *testing.T) {
		c := fake.NewClientset(&corev1.Namespace{ObjectMeta: meta("", "pyrometer-aaaa-step-1", "aaaa")})
		c.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, nil // accepted, but the namespace stays (terminating)
		})
		_, err := Delete(context.Background(), c, []Object{{Kind: "Namespace", Name: "pyrometer-aaaa-step-1"}}, 1500*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "1 object(s) still present") || !strings.Contains(err.Error(), "Namespace pyrometer-aaaa-step-1") {
			t.Errorf("err = %v, want the terminating namespace named", err)
		}
	})
}
