package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
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
