package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

func ourNamespace(name, runID, owner string, created time.Time) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: cluster.Labels(runID, "probe"),
		Annotations: cluster.Annotations(owner), CreationTimestamp: metav1.NewTime(created)}}
}

// TestCleanupGuard: without --run-id, --all or --older-than, cleanup lists the runs (id, age, owner, objects),
// deletes nothing and exits non-zero; --older-than deletes only the older runs; --all deletes every run
// (issue 12 item 13: before, a bare cleanup deleted every user's runs, also ones in progress).
func TestCleanupGuard(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	newClient := func() *fake.Clientset {
		return fake.NewClientset(
			ourNamespace("pyrometer-aaaa1111", "aaaa1111", "alice", now.Add(-3*time.Hour)),
			ourNamespace("pyrometer-aaaa1111-step-1", "aaaa1111", "alice", now.Add(-3*time.Hour+time.Minute)),
			ourNamespace("pyrometer-bbbb2222", "bbbb2222", "bob", now.Add(-5*time.Minute)),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}})
	}
	dyn := dynfake.NewSimpleDynamicClient(runtime.NewScheme())
	run := func(c *fake.Clientset, mod func(*CleanupOptions)) (string, string, error) {
		var out, errb bytes.Buffer
		o := &CleanupOptions{Wait: true, Timeout: 5 * time.Second, Output: "table", now: func() time.Time { return now }}
		o.Out, o.ErrOut = &out, &errb
		mod(o)
		err := o.run(context.Background(), c, dyn)
		return out.String(), errb.String(), err
	}
	left := func(c *fake.Clientset) []string {
		nss, _ := c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
		var n []string
		for _, ns := range nss.Items {
			n = append(n, ns.Name)
		}
		return n
	}

	c := newClient()
	out, _, err := run(c, func(*CleanupOptions) {})
	if err == nil || !strings.Contains(err.Error(), "refusing to delete the objects of 2 run(s) without --run-id, --all or --older-than") {
		t.Fatalf("a bare cleanup must refuse: %v", err)
	}
	if len(left(c)) != 4 {
		t.Fatalf("a bare cleanup deleted %v", left(c))
	}
	for _, want := range []string{"RUN ID", "AGE", "OWNER", "OBJECTS", "aaaa1111", "3h", "alice", "bbbb2222", "5m", "bob"} {
		if !strings.Contains(out, want) {
			t.Errorf("the listing lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "aaaa1111"), strings.Index(out, "bbbb2222"); i > j {
		t.Errorf("oldest run first:\n%s", out)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "aaaa1111 3h alice 2") {
		t.Errorf("run aaaa1111 has 2 objects:\n%s", out)
	}

	// --dry-run deletes nothing and needs no selection
	if _, _, err := run(c, func(o *CleanupOptions) { o.DryRun = true }); err != nil || len(left(c)) != 4 {
		t.Fatalf("dry run: %v, left %v", err, left(c))
	}
	// --older-than 1h: only alice's 3h old run
	out, _, err = run(c, func(o *CleanupOptions) { o.OlderThan = time.Hour })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(left(c), ","); got != "pyrometer-bbbb2222,someone-elses" {
		t.Errorf("--older-than 1h left %s\n%s", got, out)
	}
	// --all: the rest of ours
	if _, _, err := run(c, func(o *CleanupOptions) { o.All = true }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(left(c), ","); got != "someone-elses" {
		t.Errorf("--all left %s", got)
	}
	// nothing left: a bare cleanup says so and succeeds
	if _, errs, err := run(c, func(*CleanupOptions) {}); err != nil || !strings.Contains(errs, "nothing to clean up") {
		t.Errorf("nothing to clean up: %v %q", err, errs)
	}
	// --run-id: that run only
	c = newClient()
	if _, _, err := run(c, func(o *CleanupOptions) { o.RunID = "bbbb2222" }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(left(c), ","); got != "pyrometer-aaaa1111,pyrometer-aaaa1111-step-1,someone-elses" {
		t.Errorf("--run-id bbbb2222 left %s", got)
	}
}
