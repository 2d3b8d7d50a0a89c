package churn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	testclock "k8s.io/utils/clock/testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"rate", func(c *Config) { c.Rate = 0 }, "invalid churn rate 0"},
		{"kind", func(c *Config) { c.Kind = "pod" }, `invalid churn kind "pod": allowed values are configmap, secret`},
		{"arrival", func(c *Config) { c.Arrival = "burst" }, `invalid churn arrival "burst": allowed values are poisson, uniform`},
		{"lifetime", func(c *Config) { c.Lifetime = -time.Second }, "invalid churn lifetime"},
		{"updates", func(c *Config) { c.Updates = -1 }, "invalid churn updates -1"},
		{"size", func(c *Config) { c.Size = 1 << 20 }, "invalid churn size"},
		{"watchers", func(c *Config) { c.Watchers = -1 }, "invalid churn watchers"},
		{"namespace", func(c *Config) { c.Namespace = "" }, "churn needs a namespace"},
		{"labels", func(c *Config) { c.Labels = map[string]string{"a": "b"} }, "churn labels must include app.kubernetes.io/managed-by=kubectl-pyrometer"},
		{"prefix", func(c *Config) { c.NamePrefix = "Bad_Prefix" }, "invalid churn name prefix"},
		{"closed loop too few workers", func(c *Config) { c.Workers, c.Rate, c.Lifetime = 2, 10, time.Second }, "needs at least 10 workers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mod(&cfg)
			_, err := New(cfg, fake.NewClientset(), nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	e, err := New(testConfig(), fake.NewClientset(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.Config()
	if c.Kind != ConfigMap || c.Size != DefaultSize || c.MaxInFlight != DefaultMaxInFlight || c.Window != time.Second {
		t.Errorf("defaults not applied: %+v", c)
	}
	for _, l := range []string{cluster.ManagedByLabel + "=" + cluster.ManagedBy, cluster.RunIDLabel + "=r1", IDLabel + "=e1"} {
		if !strings.Contains(e.Selector(), l) {
			t.Errorf("selector %q lacks %q", e.Selector(), l)
		}
	}
}

// startEngine starts e with a collector; the returned channel yields Wait's outcome.
func startEngine(t *testing.T, ctx context.Context, e *Engine, c *collector) <-chan Result {
	t.Helper()
	if err := e.Start(ctx, c.sink); err != nil {
		t.Fatal(err)
	}
	done := make(chan Result, 1)
	go func() {
		r, _ := e.Wait()
		done <- r
	}()
	return done
}

// holder holds requests until released, by object name.
type holder struct {
	mu   sync.Mutex
	held map[string]chan struct{}
	skip func(verb, name string) bool // answer these at once
}

func (h *holder) hold(verb, name string) <-chan struct{} {
	if h.skip != nil && h.skip(verb, name) {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	h.held[name] = ch
	return ch
}

// release answers the request held for object seq (it must have arrived).
func (h *holder) release(t *testing.T, seq int) {
	t.Helper()
	name := fmt.Sprintf("pyrometer-churn-r1-%d", seq)
	var ch chan struct{}
	eventually(t, "request of "+name+" held", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		ch = h.held[name]
		return ch != nil
	})
	close(ch)
}

// A server that takes 5 arrival intervals to answer delays nothing: every create is sent at its intended time.
func TestOpenLoopSlowServerKeepsSchedule(t *testing.T) {
	const n = 10
	clk := testclock.NewFakeClock(t0)
	f := newFakeObjects(clk)
	h := &holder{}
	f.hold = h.hold
	cfg := testConfig()
	cfg.Duration = time.Second // uniform at 10/s: creates due at 0, 100, ..., 900 ms
	e := newTestEngine(t, cfg, clk, f)
	c := &collector{}
	done := startEngine(t, context.Background(), e, c)

	released := 0
	for tick := 0; released < n; tick++ {
		eventually(t, fmt.Sprintf("%d creates sent at tick %d", min(tick+1, n), tick), func() bool { return len(f.callsOf("create")) == min(tick+1, n) })
		if i := tick - 5; i >= 0 { // create i has now taken exactly 5 intervals
			h.release(t, i+1)
			released++
		}
		eventually(t, fmt.Sprintf("%d samples", released), func() bool { return c.len() == released })
		if tick < n-1 {
			eventually(t, "the scheduler waiting for the next arrival", func() bool { return clk.Waiters() == 1 })
		}
		clk.Step(100 * time.Millisecond)
	}
	r := <-done
	samples := c.of(RowCreate)
	if len(samples) != n {
		t.Fatalf("%d create samples, want %d", len(samples), n)
	}
	for i, s := range samples {
		want := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if !s.TS.Equal(want) || s.LagMS != 0 || s.LatencyMS != 500 || s.Status != 201 || s.Seq != int64(i+1) {
			t.Errorf("sample %d = %+v, want intended %s, no lag, 500 ms, status 201", i, s, want)
		}
	}
	// Every create was answered within the grace window after the one-second span: delivered, however slowly;
	// half of them returned after the span.
	d := r.Delivery
	if d.Requested != n || d.Issued != n || d.Delivered != n || d.Succeeded != 5 || !r.Verdict.Delivered || d.LatencyP99MS != 500 {
		t.Errorf("delivery %+v verdict %v, want 10 requested, sent and delivered, 5 answered in the span, p99 500 ms", d, r.Verdict)
	}
	if d.InFlightMax != 6 {
		t.Errorf("in flight max %d, want 6 (5 intervals of latency)", d.InFlightMax)
	}
}

// A full in-flight cap delays the sends: the lag grows, the intended times do not move.
func TestOpenLoopCapDelaysButKeepsIntendedTimes(t *testing.T) {
	clk := testclock.NewFakeClock(t0)
	f := newFakeObjects(clk)
	h := &holder{skip: func(_, name string) bool { return name != "pyrometer-churn-r1-1" }}
	f.hold = h.hold
	cfg := testConfig()
	cfg.Duration = time.Second
	cfg.MaxInFlight = 1
	e := newTestEngine(t, cfg, clk, f)
	c := &collector{}
	done := startEngine(t, context.Background(), e, c)

	eventually(t, "create 1 sent", func() bool { return len(f.callsOf("create")) == 1 })
	eventually(t, "the scheduler waiting", func() bool { return clk.Waiters() == 1 })
	clk.Step(100 * time.Millisecond) // create 2 is due and waits for the slot
	eventually(t, "a cap wait", func() bool { return e.Windows()[0].CapWaits == 1 })
	clk.Step(400 * time.Millisecond) // 500 ms: create 1 answers; 2..6 are due
	h.release(t, 1)
	eventually(t, "6 samples", func() bool { return c.len() == 6 })
	for tick := 6; tick < 10; tick++ {
		eventually(t, "the scheduler waiting", func() bool { return clk.Waiters() == 1 })
		clk.Step(100 * time.Millisecond)
		eventually(t, fmt.Sprintf("%d samples", tick+1), func() bool { return c.len() == tick+1 })
	}
	r := <-done
	wantLag := []float64{0, 400, 300, 200, 100, 0, 0, 0, 0, 0}
	for i, s := range c.of(RowCreate) {
		want := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if !s.TS.Equal(want) || s.LagMS != wantLag[i] {
			t.Errorf("sample %d intended %s lag %v ms, want %s and %v ms", i, s.TS, s.LagMS, want, wantLag[i])
		}
	}
	if r.Delivery.LagMaxMS != 400 || r.Delivery.CapWaits < 1 || r.Delivery.InFlightCap != 1 {
		t.Errorf("delivery %+v, want lag max 400 ms and cap waits", r.Delivery)
	}
}

func TestUpdatesSpreadOverLifetime(t *testing.T) {
	clk := testclock.NewFakeClock(t0)
	f := newFakeObjects(clk)
	cfg := testConfig()
	cfg.Rate, cfg.Duration = 1, time.Second // one object
	cfg.Lifetime, cfg.Updates = 4*time.Second, 3
	e := newTestEngine(t, cfg, clk, f)
	c := &collector{}
	done := startEngine(t, context.Background(), e, c)
	for sec := 1; sec <= 4; sec++ {
		eventually(t, fmt.Sprintf("%d samples", sec), func() bool { return c.len() == sec })
		eventually(t, "the scheduler waiting", func() bool { return clk.Waiters() == 1 })
		clk.Step(time.Second)
	}
	r := <-done
	type w struct {
		row string
		gen int
		at  time.Duration
	}
	want := []w{{RowCreate, 0, 0}, {RowUpdate, 1, time.Second}, {RowUpdate, 2, 2 * time.Second}, {RowUpdate, 3, 3 * time.Second}, {RowDelete, 0, 4 * time.Second}}
	got := c.of("")
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d: %+v", len(got), len(want), got)
	}
	for i, s := range got {
		if s.Row != want[i].row || s.Gen != want[i].gen || !s.TS.Equal(t0.Add(want[i].at)) || s.Error != "" {
			t.Errorf("write %d = %s gen %d at %s (%s), want %s gen %d at +%s", i, s.Row, s.Gen, s.TS, s.Error, want[i].row, want[i].gen, want[i].at)
		}
	}
	if f.live() != 0 || r.Objects != 1 || r.Stopped {
		t.Errorf("%d objects left, %d created, stopped %v: want 0, 1, false", f.live(), r.Objects, r.Stopped)
	}
	// The result's span is the arrival span (the first second: the create); the lifecycle runs on after it.
	if r.Delivery.Requested != 1 || r.Delivery.Ratio != 1 {
		t.Errorf("delivery %+v, want the create requested and delivered", r.Delivery)
	}
	if d := e.Delivery(t0, t0.Add(5*time.Second)); d.Requested != 5 || d.Ratio != 1 || d.LiveMax != 1 {
		t.Errorf("delivery over the lifetime %+v, want 5 writes requested, all delivered, 1 live", d)
	}
}

func TestRejectedCreateEndsTheLifecycle(t *testing.T) {
	clk := testclock.NewFakeClock(t0)
	f := newFakeObjects(clk)
	f.fail = func(verb, _ string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "x", errors.New("no"))
	}
	cfg := testConfig()
	cfg.Rate, cfg.Duration, cfg.Lifetime, cfg.Updates = 1, time.Second, 2*time.Second, 1
	e := newTestEngine(t, cfg, clk, f)
	r, err := e.Run(context.Background(), (&collector{}).sink)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.callsOf("")); n != 1 {
		t.Errorf("%d requests, want only the create (rejected: nothing to update or delete)", n)
	}
	if r.Delivery.Requested != 1 || r.Delivery.Succeeded != 0 || r.Verdict.Delivered || !strings.Contains(r.Verdict.Reason, "failed") {
		t.Errorf("delivery %+v verdict %v", r.Delivery, r.Verdict)
	}
}

func TestClosedLoopPaces(t *testing.T) {
	clk := testclock.NewFakeClock(t0)
	f := newFakeObjects(clk)
	cfg := testConfig()
	cfg.Workers, cfg.Rate, cfg.Duration = 2, 4, time.Second // slots 0, 250, 500, 750 ms
	e := newTestEngine(t, cfg, clk, f)
	c := &collector{}
	done := startEngine(t, context.Background(), e, c)
	for q := 1; q <= 4; q++ {
		eventually(t, fmt.Sprintf("%d samples", q), func() bool { return c.len() == q })
		waiters := min(2, 4-q)
		eventually(t, fmt.Sprintf("%d workers waiting", waiters), func() bool { return clk.Waiters() == waiters })
		clk.Step(250 * time.Millisecond)
	}
	r := <-done
	got := c.of(RowCreate)
	seen := map[time.Duration]bool{}
	for _, s := range got {
		seen[s.TS.Sub(t0)] = true
	}
	for _, at := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond} {
		if !seen[at] {
			t.Errorf("no create at slot +%s: %v", at, seen)
		}
	}
	if len(got) != 4 || r.Delivery.Ratio != 1 || r.Delivery.InFlightCap != 0 {
		t.Errorf("%d creates, delivery %+v", len(got), r.Delivery)
	}
}

// On cancel the engine sends nothing more within 1 s (in fact at once); writes in flight end at their timeout.
func TestStopOnCancelWithBlockedServer(t *testing.T) {
	f := newFakeObjects(clock.RealClock{})
	f.hold = func(string, string) <-chan struct{} { return make(chan struct{}) } // never answers
	cfg := testConfig()
	cfg.Rate = 200
	cfg.RequestTimeout = 300 * time.Millisecond
	e := newTestEngine(t, cfg, nil, f)
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	if err := e.Start(ctx, c.sink); err != nil {
		t.Fatal(err)
	}
	eventually(t, "5 creates sent", func() bool { return len(f.callsOf("create")) >= 5 })
	cancel()
	cancelled := time.Now()
	r, err := e.Wait()
	waited := time.Since(cancelled)
	if !errors.Is(err, context.Canceled) || !r.Stopped {
		t.Errorf("Wait = %v, stopped %v; want context.Canceled", err, r.Stopped)
	}
	calls := f.callsOf("")
	var last time.Time
	for _, cl := range calls {
		if cl.real.After(last) {
			last = cl.real
		}
	}
	if after := last.Sub(cancelled); after > time.Second {
		t.Errorf("a request was sent %s after the cancel, want none after 1 s", after)
	}
	t.Logf("last request %s after the cancel; Wait returned %s after it (request timeout %s)", last.Sub(cancelled), waited, cfg.RequestTimeout)
	if waited > cfg.RequestTimeout+time.Second {
		t.Errorf("Wait returned %s after the cancel, want within the request timeout %s + 1 s", waited, cfg.RequestTimeout)
	}
	samples := c.of(RowCreate)
	if len(samples) != len(calls) {
		t.Errorf("%d samples for %d requests: every write sent must be a sample", len(samples), len(calls))
	}
	for _, s := range samples {
		if !strings.Contains(s.Error, "timeout after 300ms") || s.Status != 0 {
			t.Errorf("sample %+v, want a timeout", s)
			break
		}
	}
	if d := r.Delivery; d.Requested < d.Issued || d.Issued != len(calls) || d.Succeeded != 0 {
		t.Errorf("delivery %+v for %d requests", d, len(calls))
	}
	if n, err := e.Cleanup(context.Background()); err != nil || n != 0 || f.live() != 0 {
		t.Errorf("Cleanup = %d, %v; %d left", n, err, f.live())
	}
}

func TestWatchersTimeEveryNotification(t *testing.T) {
	run := func(t *testing.T, event func(int, watch.EventType, string) int) (Result, *collector) {
		f := newFakeObjects(clock.RealClock{})
		f.event = event
		cfg := testConfig()
		cfg.Rate, cfg.Duration, cfg.Lifetime, cfg.Updates, cfg.Watchers = 200, 250*time.Millisecond, 100*time.Millisecond, 1, 2
		cfg.NotifyGrace = time.Second
		e := newTestEngine(t, cfg, nil, f)
		c := &collector{}
		r, err := e.Run(context.Background(), c.sink)
		if err != nil {
			t.Fatal(err)
		}
		if r.Objects != 50 || f.live() != 0 {
			t.Fatalf("%d objects created, %d left; want 50 and 0", r.Objects, f.live())
		}
		return r, c
	}
	t.Run("all delivered", func(t *testing.T) {
		r, c := run(t, nil)
		n := r.Notifications
		for _, nc := range []NotifyCounts{n.Add, n.Update, n.Delete} {
			if nc.Expected != 100 || nc.Seen != 100 || nc.Duplicates != 0 {
				t.Errorf("notifications %+v, want 100 expected and seen (50 objects x 2 watchers)", nc)
			}
		}
		if !n.Complete() || n.Stray != 0 {
			t.Errorf("notifications %+v, want complete", n)
		}
		for _, row := range []string{RowNotifyAdd, RowNotifyUpdate, RowNotifyDelete} {
			if got := len(c.of(row)); got != 100 {
				t.Errorf("%d %s samples, want 100", got, row)
			}
		}
		if r.Delivery.Ratio < DeliveredRatio {
			t.Errorf("delivery %+v", r.Delivery)
		}
	})
	t.Run("missed and duplicated", func(t *testing.T) {
		r, _ := run(t, func(w int, typ watch.EventType, name string) int {
			switch {
			case w == 1 && typ == watch.Added && name == "pyrometer-churn-r1-7":
				return 0
			case w == 0 && typ == watch.Modified && name == "pyrometer-churn-r1-8":
				return 2
			}
			return 1
		})
		n := r.Notifications
		if n.Add.Missed != 1 || n.Add.Seen != 99 || n.Update.Duplicates != 1 || n.Complete() {
			t.Errorf("notifications %+v, want 1 missed add, 1 duplicate update", n)
		}
	})
}

func TestCleanupByLabel(t *testing.T) {
	e, err := New(testConfig(), fake.NewClientset(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := e.client.(*fake.Clientset)
	mk := func(name string, l map[string]string) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "churn-ns", Labels: l}}
		if _, err := cs.CoreV1().ConfigMaps("churn-ns").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		mk(fmt.Sprintf("ours-%d", i), e.cfg.Labels)
	}
	mk("foreign", map[string]string{"app": "x"})
	mk("other-run", cluster.Labels("r2", Component))
	// The fake clientset does not implement delete-collection: delete what the selector selects.
	cs.PrependReactor("delete-collection", "configmaps", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		sel := a.(k8stesting.DeleteCollectionAction).GetListRestrictions().Labels
		l, _ := cs.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "churn-ns")
		for _, cm := range l.(*corev1.ConfigMapList).Items {
			if sel.Matches(labels.Set(cm.Labels)) {
				_ = cs.Tracker().Delete(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "churn-ns", cm.Name)
			}
		}
		return true, nil, nil
	})
	n, err := e.Cleanup(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Cleanup = %d, %v; want 3", n, err)
	}
	left, _ := cs.CoreV1().ConfigMaps("churn-ns").List(context.Background(), metav1.ListOptions{})
	var names []string
	for _, cm := range left.Items {
		names = append(names, cm.Name)
	}
	if strings.Join(names, ",") != "foreign,other-run" {
		t.Errorf("left %v, want foreign,other-run", names)
	}
	if _, err := Cleanup(context.Background(), cs, ConfigMap, "churn-ns", "app=x"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("Cleanup with a selector not naming managed-by = %v, want a refusal", err)
	}
}

// Through a client from NewClients, a write's sample carries the HTTP status, client-go's retries after a 429
// with Retry-After, and the APF priority level.
func TestSampleStatusRetriesPriorityLevel(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/namespaces/churn-ns/configmaps" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set(probe.HeaderPriorityLevelUID, "pl-uid-workload-low")
		if posts.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type")) // echo the object in the encoding it came in
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	writes, watches, err := NewClients(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Count = 1
	e, err := New(cfg, writes, watches, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	r, err := e.Run(context.Background(), c.sink)
	if err != nil {
		t.Fatal(err)
	}
	s := c.of(RowCreate)
	if len(s) != 1 || s[0].Status != http.StatusCreated || s[0].Retries != 1 || s[0].PriorityLevel != "pl-uid-workload-low" || s[0].Error != "" {
		t.Fatalf("samples %+v, want one create, 201 after 1 retry, priority level pl-uid-workload-low", s)
	}
	if r.Delivery.Throttled != 1 || r.Delivery.Retries != 1 || r.Delivery.Delivered != 1 {
		t.Errorf("delivery %+v, want the create delivered, throttled once", r.Delivery)
	}
}

// Through the typed clients (the fake clientset), both kinds carry the labels, the generation annotation and the
// payload.
func TestKindsThroughClientset(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			cs := fake.NewClientset()
			cfg := testConfig()
			cfg.Kind, cfg.Rate, cfg.Count, cfg.Updates, cfg.Size = kind, 1000, 3, 2, 100
			e, err := New(cfg, cs, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.Run(context.Background(), func(Sample) {})
			if err != nil || r.Objects != 3 {
				t.Fatalf("Run = %d objects, %v", r.Objects, err)
			}
			var metas []metav1.ObjectMeta
			var sizes []int
			if kind == Secret {
				l, _ := cs.CoreV1().Secrets("churn-ns").List(context.Background(), metav1.ListOptions{LabelSelector: e.Selector()})
				for _, s := range l.Items {
					metas, sizes = append(metas, s.ObjectMeta), append(sizes, len(s.Data[PayloadKey]))
				}
			} else {
				l, _ := cs.CoreV1().ConfigMaps("churn-ns").List(context.Background(), metav1.ListOptions{LabelSelector: e.Selector()})
				for _, c := range l.Items {
					metas, sizes = append(metas, c.ObjectMeta), append(sizes, len(c.Data[PayloadKey]))
				}
			}
			if len(metas) != 3 {
				t.Fatalf("%d %ss selected by %s, want 3 (kept: lifetime 0)", len(metas), kind, e.Selector())
			}
			for i, m := range metas {
				if m.Annotations[GenAnnotation] != "2" || m.Labels[cluster.RunIDLabel] != "r1" || sizes[i] != 100 {
					t.Errorf("%s %s: annotations %v labels %v payload %d bytes; want generation 2, run-id r1, 100 bytes", kind, m.Name, m.Annotations, m.Labels, sizes[i])
				}
			}
		})
	}
}
