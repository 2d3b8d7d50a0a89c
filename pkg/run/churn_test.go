package run

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// TestRampStepFloodEngineDelivers: mode api runs on the native engine in the step's window: its ConfigMaps and
// Secrets are created, the delivered-load account of each kind is in run.json, its rows are samples of source churn,
// and teardown's cleanup deletes them by label.
func TestRampStepFloodEngineDelivers(t *testing.T) {
	r, client, _ := testRunner(t, "api", &fakeBurner{})
	deleteCollection(client)
	ph, ok := r.rampStep(context.Background(), 1, "ramp-step-1", nil, false)
	if !ok || ph.Status != "pass" {
		t.Fatalf("ok=%v status=%s error=%s", ok, ph.Status, ph.Error)
	}
	if len(r.res.Loads) != 2 {
		t.Fatalf("loads: %+v", r.res.Loads)
	}
	for _, l := range r.res.Loads {
		// --api-iterations 2 x 5 replicas of each kind
		if l.Phase != "ramp-step-1" || l.Objects != 10 || l.Delivery.Requested != 10 || !l.Verdict.Delivered || l.Lifetime != "0s" {
			t.Errorf("%s: %+v", l.Name(), l)
		}
	}
	ns := cluster.StepNamespace("abcd1234", 1)
	cms, _ := client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	secs, _ := client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if len(cms.Items) != 10 || len(secs.Items) != 10 || !strings.HasPrefix(cms.Items[0].Name, "pyrometer-api-") {
		t.Fatalf("the flood created %d ConfigMaps and %d Secrets, want 10 each named pyrometer-api-*", len(cms.Items), len(secs.Items))
	}
	if rows := r.agg.ByRows(probe.SourceChurn, "ramp-step-1", engineRows); len(rows) != 1 || rows[0].Kind != "churn:create" || rows[0].Count != 20 {
		t.Errorf("rows: %+v", rows)
	}
	r.cleanupLoads(context.Background())
	cms, _ = client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	secs, _ = client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if len(cms.Items)+len(secs.Items) != 0 {
		t.Errorf("left after cleanup: %d ConfigMaps, %d Secrets", len(cms.Items), len(secs.Items))
	}
}

// TestRampStepChurnStopsWithStep: a cancel mid-window (breaker, Ctrl-C) stops the churn engine; rampStep returns only
// when it has returned, and nothing is written after that.
func TestRampStepChurnStopsWithStep(t *testing.T) {
	r, client, _ := testRunner(t, "churn", &fakeBurner{})
	r.cfg.StepDuration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	done := make(chan bool)
	go func() {
		_, ok := r.rampStep(ctx, 1, "ramp-step-1", nil, false)
		done <- ok
	}()
	select {
	case ok := <-done:
		if ok {
			t.Error("a cancelled step passed")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("rampStep did not return after the cancel")
	}
	writes := len(client.Actions())
	time.Sleep(200 * time.Millisecond)
	if n := len(client.Actions()); n != writes {
		t.Errorf("%d requests after rampStep returned", n-writes)
		for _, a := range client.Actions()[writes:] {
			t.Logf("%s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if len(r.res.Loads) != 1 || r.res.Loads[0].Objects == 0 || r.res.Loads[0].Rate != 20 {
		t.Errorf("loads: %+v", r.res.Loads)
	}
}

// deleteCollection makes the fake clientset honour delete-collection with a label selector (it ignores it).
func deleteCollection(c *fake.Clientset) {
	c.PrependReactor("delete-collection", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		dc := a.(k8stesting.DeleteCollectionAction)
		sel, err := labels.Parse(dc.GetListRestrictions().Labels.String())
		if err != nil {
			return true, nil, err
		}
		gvr := dc.GetResource()
		kind := map[string]string{"configmaps": "ConfigMap", "secrets": "Secret"}[gvr.Resource]
		list, err := c.Tracker().List(gvr, schema.GroupVersionKind{Version: "v1", Kind: kind}, dc.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, _ := meta.ExtractList(list)
		for _, o := range items {
			m, _ := meta.Accessor(o)
			if sel.Matches(labels.Set(m.GetLabels())) {
				_ = c.Tracker().Delete(gvr, dc.GetNamespace(), m.GetName())
			}
		}
		return true, nil, nil
	})
}
