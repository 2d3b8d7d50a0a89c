package churn

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// The tests in this file run against a real cluster only when PYROMETER_CHURN_KUBECONFIG names a kubeconfig
// (a developer check of the engine against a real kube-apiserver, not CI coverage: CI covers the engine through
// the binary's e2e tests once `run --modes churn` exists). Each creates its own labelled namespace, stays under
// 2000 objects and deletes the namespace at the end.

const clusterEnv = "PYROMETER_CHURN_KUBECONFIG"

type liveCluster struct {
	writes, watches kubernetes.Interface
	runID, ns       string
}

func newLiveCluster(t *testing.T) *liveCluster {
	t.Helper()
	path := os.Getenv(clusterEnv)
	if path == "" {
		t.Skipf("%s is not set: no cluster to churn", clusterEnv)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	writes, watches, err := NewClients(rc)
	if err != nil {
		t.Fatal(err)
	}
	lc := &liveCluster{writes: writes, watches: watches, runID: cluster.NewRunID()}
	lc.ns = "pyrometer-" + lc.runID + "-churn"
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lc.ns, Labels: cluster.Labels(lc.runID, Component)}}
	if _, err := writes.CoreV1().Namespaces().Create(t.Context(), nsObj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := writes.CoreV1().Namespaces().Delete(ctx, lc.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("failed to delete namespace %s: %v", lc.ns, err)
			return
		}
		for ctx.Err() == nil {
			if _, err := writes.CoreV1().Namespaces().Get(ctx, lc.ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Errorf("namespace %s still there after 2 minutes", lc.ns)
	})
	return lc
}

func (lc *liveCluster) config(rate float64, d, lifetime time.Duration, updates, watchers int) Config {
	return Config{
		Namespace: lc.ns, Rate: rate, Duration: d, Lifetime: lifetime, Updates: updates, Watchers: watchers,
		Labels: cluster.Labels(lc.runID, ""), NamePrefix: "pyrometer-churn-" + lc.runID,
	}
}

func (lc *liveCluster) count(ctx context.Context, t *testing.T, selector string) int {
	t.Helper()
	l, err := lc.writes.CoreV1().ConfigMaps(lc.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("failed to list: %v", err)
	}
	return len(l.Items)
}

// TestClusterChurn churns 20/s for 10 s with a 3 s lifetime and one update: delivered, a population near
// rate*lifetime while it runs, every notification seen, nothing left.
func TestClusterChurn(t *testing.T) {
	lc := newLiveCluster(t)
	cfg := lc.config(20, 10*time.Second, 3*time.Second, 1, 1)
	e, err := New(cfg, lc.writes, lc.watches, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	if err := e.Start(t.Context(), c.sink); err != nil {
		t.Fatal(err)
	}
	// Population by listing, once a second after the first lifetime (steady state) until the arrivals end.
	var pop []int
	var mu sync.Mutex
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		time.Sleep(4 * time.Second)
		for range 6 {
			n := lc.count(t.Context(), t, e.Selector())
			mu.Lock()
			pop = append(pop, n)
			mu.Unlock()
			time.Sleep(time.Second)
		}
	}()
	r, err := e.Wait()
	<-listed
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, n := range pop {
		mean += float64(n)
	}
	mean /= float64(len(pop))
	want := e.ExpectedPopulation()
	t.Logf("population listed %v, mean %.1f; rate*lifetime %.0f", pop, mean, want)
	if mean < 0.7*want || mean > 1.3*want {
		t.Errorf("mean population %.1f, want rate*lifetime = %.0f within 30%%", mean, want)
	}

	d := r.Delivery
	t.Logf("delivery: requested %d, issued %d, delivered %d, ratio %.3f; lag p99 %.2f ms; write latency p50 %.1f ms p99 %.1f ms; in flight max %d; %d objects; verdict: %s",
		d.Requested, d.Issued, d.Delivered, d.Ratio, d.LagP99MS, d.LatencyP50MS, d.LatencyP99MS, d.InFlightMax, r.Objects, r.Verdict)
	if d.Ratio < DeliveredRatio || !r.Verdict.Delivered {
		t.Errorf("delivered ratio %.3f, want >= %.2f: %s", d.Ratio, DeliveredRatio, r.Verdict)
	}
	n := r.Notifications
	for _, x := range []struct {
		typ string
		c   NotifyCounts
	}{{"add", n.Add}, {"update", n.Update}, {"delete", n.Delete}} {
		t.Logf("notify:%s expected %d seen %d missed %d coalesced %d duplicates %d; p50 %.2f ms p99 %.2f ms max %.2f ms",
			x.typ, x.c.Expected, x.c.Seen, x.c.Missed, x.c.Coalesced, x.c.Duplicates, x.c.P50MS, x.c.P99MS, x.c.MaxMS)
		if x.c.Expected == 0 || x.c.Seen != x.c.Expected || x.c.Missed != 0 {
			t.Errorf("notify:%s %+v, want every notification seen, none missed", x.typ, x.c)
		}
	}
	if len(c.of(RowNotifyAdd)) != n.Add.Seen || len(c.of(RowCreate)) != int(r.Objects) {
		t.Errorf("%d notify:add samples for %d seen, %d create samples for %d objects", len(c.of(RowNotifyAdd)), n.Add.Seen, len(c.of(RowCreate)), r.Objects)
	}
	if left := lc.count(t.Context(), t, cluster.Selector(lc.runID)); left != 0 {
		t.Errorf("%d objects left after the run, want 0", left)
	}
	if found, err := e.Cleanup(t.Context()); err != nil || found != 0 {
		t.Errorf("Cleanup = %d, %v; want nothing to delete", found, err)
	}
}

// TestClusterStopAndCleanup stops a run mid-way: nothing is created after the stop (a watch opened before it
// sees no add after it), and Cleanup leaves nothing.
func TestClusterStopAndCleanup(t *testing.T) {
	lc := newLiveCluster(t)
	cfg := lc.config(50, 0, 30*time.Second, 1, 0) // runs until stopped; objects outlive the run
	e, err := New(cfg, lc.writes, lc.watches, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A watch of our own, opened before the run and re-opened from its last resourceVersion when the server ends
	// it (a loaded apiserver's watch cache may answer "too large resource version" for a while).
	cms := lc.watches.CoreV1().ConfigMaps(lc.ns)
	l, err := cms.List(t.Context(), metav1.ListOptions{LabelSelector: e.Selector()})
	if err != nil {
		t.Fatal(err)
	}
	var lastAdd time.Time
	adds := 0
	var mu sync.Mutex
	var other []string
	wctx, wcancel := context.WithCancel(t.Context())
	defer wcancel()
	opened := make(chan struct{})
	go func() {
		rv := l.ResourceVersion
		for first := true; wctx.Err() == nil; first = false {
			w, err := cms.Watch(wctx, metav1.ListOptions{LabelSelector: e.Selector(), ResourceVersion: rv})
			if first {
				close(opened)
			}
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				mu.Lock()
				switch ev.Type {
				case watch.Added:
					lastAdd, adds = time.Now(), adds+1
				case watch.Error:
					other = append(other, fmt.Sprint(ev.Object))
				}
				if m, err := meta.Accessor(ev.Object); err == nil && ev.Type != watch.Error {
					rv = m.GetResourceVersion()
				}
				mu.Unlock()
			}
		}
	}()
	<-opened
	ctx, cancel := context.WithCancel(t.Context())
	if err := e.Start(ctx, func(Sample) {}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	cancel()
	stopped := time.Now()
	r, err := e.Wait()
	waited := time.Since(stopped)
	if err == nil || !r.Stopped {
		t.Errorf("Wait = %v, stopped %v; want cancelled", err, r.Stopped)
	}
	// Poll (not spin: the apiserver shares this machine's CPU) until the watch saw every create, 30 s at most.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := adds
		mu.Unlock()
		if int64(n) >= r.Objects {
			break
		}
	}
	mu.Lock()
	after := lastAdd.Sub(stopped)
	t.Logf("%d objects created, %d adds watched, the last %s after the cancel; Wait returned %s after it", r.Objects, adds, after, waited)
	if after > time.Second {
		t.Errorf("an object was created %s after the cancel, want none after 1 s", after)
	}
	if int64(adds) != r.Objects {
		t.Errorf("the watch saw %d adds for %d objects created (watch errors: %v)", adds, r.Objects, other)
	} else if len(other) > 0 {
		t.Logf("the watch was re-opened after: %v", other)
	}
	mu.Unlock()
	if r.Objects == 0 {
		t.Fatal("nothing was created in 2 s at 50/s")
	}
	found, err := e.Cleanup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if int64(found) != r.Objects {
		t.Errorf("Cleanup found %d objects, the engine created %d", found, r.Objects)
	}
	if left := lc.count(t.Context(), t, cluster.Selector(lc.runID)); left != 0 {
		t.Errorf("%d objects left after Cleanup", left)
	}
}

// TestClusterMaxRate finds the highest open-loop rate this process delivers (>= 0.95) against the cluster: doubling
// from 100 objects/s (2 s per rate up to 200/s, 1 s above), then one step halfway back after the first failure,
// within a budget of 2000 objects (create + delete each, lifetime 500 ms). It reports; it asserts only that
// 100/s was delivered.
func TestClusterMaxRate(t *testing.T) {
	lc := newLiveCluster(t)
	const budget = 2000
	used, best, failed := 0, 0.0, 0.0
	var lines []string
	try := func(rate float64) (ok, tried bool) {
		d := time.Second
		if rate <= 200 {
			d = 2 * time.Second
		}
		if used+int(rate*d.Seconds()) > budget {
			return false, false
		}
		cfg := lc.config(rate, d, 500*time.Millisecond, 0, 1)
		cfg.NamePrefix = fmt.Sprintf("pyrometer-churn-%s-%d", lc.runID, int(rate))
		cfg.Window = 250 * time.Millisecond
		e, err := New(cfg, lc.writes, lc.watches, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Run(t.Context(), func(Sample) {})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Cleanup(t.Context()); err != nil {
			t.Fatal(err)
		}
		used += int(r.Objects)
		dl, n := r.Delivery, r.Notifications
		lines = append(lines, fmt.Sprintf("rate %4.0f/s for %s: %d objects, writes requested %d delivered %d ratio %.3f, write p50 %.1f ms p99 %.1f ms, lag p99 %.1f ms, in flight max %d, CPU %.2f of %d cores, notify:add p50 %.1f ms p99 %.1f ms missed %d; %s",
			rate, d, r.Objects, dl.Requested, dl.Delivered, dl.Ratio, dl.LatencyP50MS, dl.LatencyP99MS, dl.LagP99MS, dl.InFlightMax, dl.CPUCores, dl.CPUUsable, n.Add.P50MS, n.Add.P99MS, n.Add.Missed, r.Verdict))
		if !r.Verdict.Delivered && rate == 100 {
			t.Errorf("100/s not delivered: %s", r.Verdict)
		}
		return r.Verdict.Delivered, true
	}
	for rate := 100.0; ; rate *= 2 {
		ok, tried := try(rate)
		if !tried {
			break
		}
		if !ok {
			failed = rate
			break
		}
		best = rate
	}
	if failed > 0 && best > 0 {
		if ok, tried := try((best + failed) / 2); tried && ok {
			best = (best + failed) / 2
		}
	}
	t.Logf("highest rate delivered (>= %.2f of the writes): %.0f objects/s, %.0f writes/s (%d objects used)\n%s",
		DeliveredRatio, best, 2*best, used, strings.Join(lines, "\n"))
}

// TestClusterImpossibleRate asks for 5000 creates/s for 300 ms (at most 1500 objects, kept until Cleanup): on a
// small cluster that is not delivered, and the verdict says so and names the limit.
func TestClusterImpossibleRate(t *testing.T) {
	lc := newLiveCluster(t)
	cfg := lc.config(5000, 300*time.Millisecond, 0, 0, 0)
	cfg.Arrival = Uniform
	cfg.Window = 100 * time.Millisecond
	e, err := New(cfg, lc.writes, lc.watches, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Run(t.Context(), func(Sample) {})
	if err != nil {
		t.Fatal(err)
	}
	found, err := e.Cleanup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d := r.Delivery
	t.Logf("requested %d, issued %d, delivered %d (ratio %.3f), write p50 %.1f ms p99 %.1f ms, lag p99 %.1f ms, in flight max %d, cap waits %d, CPU %.2f of %d cores; %d objects created, %d cleaned up; %s",
		d.Requested, d.Issued, d.Delivered, d.Ratio, d.LatencyP50MS, d.LatencyP99MS, d.LagP99MS, d.InFlightMax, d.CapWaits, d.CPUCores, d.CPUUsable, r.Objects, found, r.Verdict)
	if r.Verdict.Delivered {
		t.Skipf("this cluster took 5000 creates/s: nothing to show")
	}
	if r.Verdict.Limit != LimitClient && r.Verdict.Limit != LimitServer || r.Verdict.Reason == "" {
		t.Errorf("verdict %+v names no limit", r.Verdict)
	}
	if !strings.HasPrefix(r.Verdict.String(), LoadNotDelivered) {
		t.Errorf("verdict line %q", r.Verdict.String())
	}
	if left := lc.count(t.Context(), t, cluster.Selector(lc.runID)); left != 0 {
		t.Errorf("%d objects left after Cleanup", left)
	}
}
