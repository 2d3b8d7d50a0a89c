package run

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// TestSetupConflictDeletesNothingOfTheOtherRun: a run whose namespace exists already (another process uses the
// same run id) fails its setup and must not delete the other process's objects in its final cleanup (issue 12
// item 12: before, the final cleanup deleted everything labelled with the run id).
func TestSetupConflictDeletesNothingOfTheOtherRun(t *testing.T) {
	id := "abcd1234"
	other := []string{"pyrometer-" + id, "pyrometer-" + id + "-step-1"}
	kube := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other[0], Labels: cluster.Labels(id, "probe")}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other[1], Labels: cluster.Labels(id, "stress")}})
	r := &Runner{env: Env{Client: kube, RunID: id, Owner: "bob", Log: io.Discard}, cfg: Config{TeardownTimeout: 5 * time.Second}, res: &result.Doc{}}
	ctx := context.Background()
	err := r.createNamespace(ctx, other[0], "probe")
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("creating an existing namespace: %v", err)
	}
	r.finalCleanup()
	for _, n := range other {
		if _, err := kube.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("the other run's namespace %s was deleted: %v", n, err)
		}
	}

	// This process created its probe namespace, then found its step namespace taken: it deletes its own only.
	r = &Runner{env: Env{Client: kube, RunID: id, Owner: "carol", Log: io.Discard}, cfg: Config{TeardownTimeout: 5 * time.Second}, res: &result.Doc{}}
	mine := "pyrometer-" + id + "-own"
	if err := r.createNamespace(ctx, mine, "probe"); err != nil {
		t.Fatal(err)
	}
	ns, _ := kube.CoreV1().Namespaces().Get(ctx, mine, metav1.GetOptions{})
	if ns.Annotations[cluster.OwnerAnnotation] != "carol" {
		t.Errorf("the namespace must record who created it: %v", ns.Annotations)
	}
	if err := r.createNamespace(ctx, other[1], "stress"); err == nil {
		t.Fatal("want AlreadyExists")
	}
	r.finalCleanup()
	if _, err := kube.CoreV1().Namespaces().Get(ctx, mine, metav1.GetOptions{}); err == nil {
		t.Error("this run's own namespace must be deleted")
	}
	for _, n := range other {
		if _, err := kube.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("the other run's namespace %s was deleted: %v", n, err)
		}
	}
}
