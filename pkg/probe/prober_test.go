package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	testclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var probeLabels = map[string]string{"app.kubernetes.io/managed-by": "kubectl-pyrometer", "pyrometer.kubepyrometer.io/run-id": "r1"}

func testConfig(kinds ...Kind) Config {
	return Config{
		Kinds:          kinds,
		Interval:       time.Second,
		RequestTimeout: 3 * time.Second,
		Namespace:      "probe-ns",
		Source:         SourceLocal,
		Labels:         probeLabels,
		NamePrefix:     "pyrometer-probe-r1",
	}
}

// eventually spins until cond holds, failing the test after 20s of real time (a hang, not a timing check).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// collector is a sink that may be read while Run writes to it.
type collector struct {
	mu      sync.Mutex
	samples []Sample
	active  atomic.Int32
	overlap atomic.Bool
}

func (c *collector) sink(s Sample) {
	if c.active.Add(1) > 1 {
		c.overlap.Store(true)
	}
	defer c.active.Add(-1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, s)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

func (c *collector) all() []Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.samples)
}

func (c *collector) of(k Kind) []Sample {
	var out []Sample
	for _, s := range c.all() {
		if s.Kind == k {
			out = append(out, s)
		}
	}
	return out
}

// startRun runs p.Run in the background and returns a channel with its error.
func startRun(p *Prober, phase string, d time.Duration, c *collector) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), phase, d, c.sink) }()
	return done
}

// runFast runs n slots of p's interval on clk when every request answers at once. Kinds are staggered: the
// i-th of K kinds fires at i*Interval/K into each slot. The clock moves to the next firing only after that
// firing's samples are in (perFiring[kind], 1 when absent) and every scheduler waits again (one Run end timer,
// one timer per kind with a slot left), so samples are exact.
func runFast(t *testing.T, p *Prober, clk *testclock.FakeClock, n int, perFiring map[Kind]int) *collector {
	t.Helper()
	c := &collector{}
	done := startRun(p, "baseline", time.Duration(n)*p.cfg.Interval, c)
	kinds := len(p.cfg.Kinds)
	want := 0
	for slot := range n {
		for i, k := range p.cfg.Kinds {
			at := t0.Add(time.Duration(slot)*p.cfg.Interval + StaggerOffset(p.cfg.Interval, i, kinds))
			if at.After(clk.Now()) {
				clk.SetTime(at)
			}
			if m, ok := perFiring[k]; ok {
				want += m
			} else {
				want++
			}
			eventually(t, fmt.Sprintf("samples of %s in slot %d", k, slot), func() bool { return c.len() == want })
			waiters := 1 + (kinds - 1 - i) // the end timer, the kinds after this one in this slot
			if slot < n-1 {
				waiters += i + 1 // this kind and the ones before it, for the next slot
			}
			eventually(t, fmt.Sprintf("%d clock waiters after %s in slot %d", waiters, k, slot), func() bool { return clk.Waiters() == waiters })
		}
	}
	clk.SetTime(t0.Add(time.Duration(n) * p.cfg.Interval))
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return c
}

func readyzServer(t *testing.T, throttleFirst bool) *httptest.Server {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set(HeaderPriorityLevelUID, "pl-uid-exempt")
		if calls.Add(1) == 1 && throttleFirst {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestNewValidates(t *testing.T) {
	cs := fake.NewClientset()
	mod := func(f func(*Config)) Config {
		cfg := testConfig(KindGet, KindMutate)
		f(&cfg)
		return cfg
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no kinds", mod(func(c *Config) { c.Kinds = nil }), "no probe kinds given"},
		{"unknown kind", mod(func(c *Config) { c.Kinds = []Kind{"nope"} }), `unknown probe kind "nope"`},
		{"duplicate kind", mod(func(c *Config) { c.Kinds = []Kind{KindGet, KindGet} }), `probe kind "get" given twice`},
		{"zero interval", mod(func(c *Config) { c.Interval = 0 }), "probe interval must be positive"},
		{"zero timeout", mod(func(c *Config) { c.RequestTimeout = 0 }), "probe request timeout must be positive"},
		{"bad source", mod(func(c *Config) { c.Source = "remote" }), `invalid probe source "remote"`},
		{"readyz without rest client", mod(func(c *Config) { c.Kinds = []Kind{KindReadyz} }), "needs a REST client"},
		{"no namespace", mod(func(c *Config) { c.Namespace = "" }), "need a namespace"},
		{"no prefix", mod(func(c *Config) { c.NamePrefix = "" }), "invalid probe name prefix"},
		{"bad prefix", mod(func(c *Config) { c.NamePrefix = "Pyrometer_Probe" }), "invalid probe name prefix"},
		{"bad label", mod(func(c *Config) { c.Labels = map[string]string{"run id": "x"} }), `invalid probe label key "run id"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, cs, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	p, err := New(Config{Kinds: []Kind{KindListNamespace, KindListCluster}, Interval: time.Second, RequestTimeout: time.Second}, cs, nil, nil)
	if err != nil {
		t.Fatalf("list kinds need no namespace, prefix or rest client: %v", err)
	}
	if p.cfg.ListNamespace != DefaultListNamespace || p.cfg.Source != SourceLocal {
		t.Errorf("defaults: ListNamespace %q, Source %q; want %q, %q", p.cfg.ListNamespace, p.cfg.Source, DefaultListNamespace, SourceLocal)
	}
}

func TestRunRefusesBadCalls(t *testing.T) {
	p, err := New(testConfig(KindGet), fake.NewClientset(), nil, testclock.NewFakeClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), "x", time.Second, func(Sample) {}); err == nil || !strings.Contains(err.Error(), "call Setup before Run") {
		t.Errorf("Run before Setup: error = %v", err)
	}
	if err := p.Run(context.Background(), "x", 0, func(Sample) {}); err == nil {
		t.Error("Run with zero duration: no error")
	}
	if err := p.Run(context.Background(), "x", time.Second, nil); err == nil {
		t.Error("Run without a sink: no error")
	}
}

// TestRunAllKinds runs every kind against the fake clientset (readyz against an HTTP server through a
// DedicatedConfig client) and checks each sample, what was created, and that Teardown removes it.
func TestRunAllKinds(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
		&flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "exempt", UID: "pl-uid-exempt"}},
	)
	clk := testclock.NewFakeClock(t0)
	cfg := testConfig(AllKinds...)
	cfg.Source = SourceCluster
	p, err := New(cfg, cs, restClientFor(t, readyzServer(t, true).URL), clk)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Setup(ctx); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	// readyz, get, list-namespace, list-cluster, mutate x3, watch.
	c := runFast(t, p, clk, 3, map[Kind]int{KindMutate: 3})
	if c.overlap.Load() {
		t.Error("sink was called concurrently")
	}

	wantVerbs := map[Kind][]string{
		KindReadyz: {"get"}, KindGet: {"get"}, KindListNamespace: {"list"}, KindListCluster: {"list"},
		KindMutate: {"create", "patch", "delete"}, KindWatch: {"watch"},
	}
	for i, k := range AllKinds {
		samples := c.of(k)
		if len(samples) != 3*len(wantVerbs[k]) {
			t.Fatalf("%s: %d samples, want %d", k, len(samples), 3*len(wantVerbs[k]))
		}
		for _, s := range samples {
			// staggered: the i-th of the 6 kinds starts i/6 s into each second
			intended := t0.Add(time.Duration(s.Seq-1)*time.Second + time.Duration(i)*time.Second/6)
			if s.Error != "" || !s.TS.Equal(intended) || s.LagMS != 0 || s.Phase != "baseline" || s.Source != SourceCluster {
				t.Errorf("%s sample %+v: want no error, TS %s, lag 0, phase baseline, source cluster", k, s, intended)
			}
			wantStatus := http.StatusOK
			if s.Verb == "create" {
				wantStatus = http.StatusCreated
			}
			if s.Status != wantStatus {
				t.Errorf("%s %s seq %d: status %d, want %d", k, s.Verb, s.Seq, s.Status, wantStatus)
			}
		}
		for seq := int64(1); seq <= 3; seq++ {
			var verbs []string
			for _, s := range samples {
				if s.Seq == seq {
					verbs = append(verbs, s.Verb)
				}
			}
			if !slices.Equal(verbs, wantVerbs[k]) {
				t.Errorf("%s seq %d verbs = %v, want %v", k, seq, verbs, wantVerbs[k])
			}
		}
	}
	readyz := c.of(KindReadyz)
	if readyz[0].PriorityLevel != "exempt" {
		t.Errorf("readyz priority level = %q, want the name resolved from its UID", readyz[0].PriorityLevel)
	}
	retries := 0
	for _, s := range readyz {
		retries += s.Retries
	}
	if retries != 1 {
		t.Errorf("readyz retries = %d, want 1 (the first request was throttled with Retry-After)", retries)
	}

	var created []string
	for _, a := range cs.Actions() {
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			if cm, ok := a.GetObject().(*corev1.ConfigMap); ok {
				created = append(created, cm.Name)
				for k, v := range probeLabels {
					if cm.Labels[k] != v {
						t.Errorf("created ConfigMap %s lacks label %s=%s: %v", cm.Name, k, v, cm.Labels)
					}
				}
				if cm.Namespace != "probe-ns" {
					t.Errorf("created ConfigMap %s in namespace %q", cm.Name, cm.Namespace)
				}
			}
		case k8stesting.ListActionImpl:
			if r := a.GetResource().Resource; r != "configmaps" && r != "nodes" {
				continue
			}
			if a.ListOptions.Limit != ListLimit || a.ListOptions.Continue != "" {
				t.Errorf("%s list options %+v, want one page of %d", a.GetResource().Resource, a.ListOptions, ListLimit)
			}
		}
	}
	wantCreated := []string{"pyrometer-probe-r1-get", "pyrometer-probe-r1-watch",
		"pyrometer-probe-r1-m1-1", "pyrometer-probe-r1-m1-2", "pyrometer-probe-r1-m1-3"}
	if !slices.Equal(created, wantCreated) {
		t.Errorf("created ConfigMaps %v, want %v", created, wantCreated)
	}
	left := configMapNames(t, cs)
	if !slices.Equal(left, []string{"pyrometer-probe-r1-get", "pyrometer-probe-r1-watch"}) {
		t.Errorf("after Run the namespace holds %v, want only the get and watch ConfigMaps", left)
	}

	if err := p.Teardown(ctx); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if left := configMapNames(t, cs); len(left) != 0 {
		t.Errorf("after Teardown the namespace holds %v", left)
	}
}

func configMapNames(t *testing.T, cs *fake.Clientset) []string {
	t.Helper()
	list, err := cs.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
		schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "probe-ns")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range list.(*corev1.ConfigMapList).Items {
		names = append(names, cm.Name)
	}
	slices.Sort(names)
	return names
}

// slowGets calls before, then the fake, on every ConfigMap GET.
type slowGets struct {
	*fake.Clientset
	before func()
}

func (c slowGets) CoreV1() corev1client.CoreV1Interface {
	return slowCore{CoreV1Interface: c.Clientset.CoreV1(), before: c.before}
}

type slowCore struct {
	corev1client.CoreV1Interface
	before func()
}

func (c slowCore) ConfigMaps(ns string) corev1client.ConfigMapInterface {
	return slowConfigMaps{ConfigMapInterface: c.CoreV1Interface.ConfigMaps(ns), before: c.before}
}

type slowConfigMaps struct {
	corev1client.ConfigMapInterface
	before func()
}

func (c slowConfigMaps) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error) {
	c.before()
	return c.ConfigMapInterface.Get(ctx, name, opts)
}

// TestRunOpenLoop proves there is no coordinated omission: every request takes 5 intervals, yet one
// request still starts every interval, on time, and the sample count equals duration/interval.
func TestRunOpenLoop(t *testing.T) {
	const n = 10
	cs := fake.NewClientset()
	clk := testclock.NewFakeClock(t0)
	cfg := testConfig(KindGet)
	cfg.RequestTimeout = 100 * time.Second
	p, err := New(cfg, cs, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Requests block in a client wrapper: the fake clientset holds one lock while its reactors run, which
	// would serialise them.
	var mu sync.Mutex
	var held []chan struct{} // one per request, in arrival order; closed to let it answer
	p.client = slowGets{Clientset: cs, before: func() {
		release := make(chan struct{})
		mu.Lock()
		held = append(held, release)
		mu.Unlock()
		<-release
	}}
	arrived := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(held)
	}

	c := &collector{}
	done := startRun(p, "stress", n*time.Second, c)
	released := 0
	for slot := 0; ; slot++ {
		eventually(t, fmt.Sprintf("%d requests in flight", min(slot+1, n)), func() bool { return arrived() == min(slot+1, n) })
		if i := slot - 5; i >= 0 && i < n { // request i has now taken exactly 5 intervals
			mu.Lock()
			close(held[i])
			mu.Unlock()
			released++
		}
		eventually(t, fmt.Sprintf("%d samples", released), func() bool { return c.len() == released })
		if released == n {
			break
		}
		// Run's end timer, the scheduler's next slot, and one request timeout per request in flight.
		want := arrived() - released
		if slot < n {
			want++
		}
		if slot < n-1 {
			want++
		}
		eventually(t, fmt.Sprintf("%d clock waiters in slot %d", want, slot), func() bool { return clk.Waiters() == want })
		clk.Step(time.Second)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	samples := c.all()
	if len(samples) != n {
		t.Fatalf("%d samples, want duration/interval = %d", len(samples), n)
	}
	for i, s := range samples {
		wantTS := t0.Add(time.Duration(i) * time.Second)
		if s.Seq != int64(i+1) || !s.TS.Equal(wantTS) || s.LatencyMS != 5000 || s.LagMS != 0 || s.Error != "" || s.Status != 200 {
			t.Errorf("sample %d = %+v, want seq %d at %s, 5000 ms, no lag, no error", i, s, i+1, wantTS)
		}
	}
	if err := p.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRunTimeoutIsASample(t *testing.T) {
	cs := fake.NewClientset()
	clk := testclock.NewFakeClock(t0)
	p, err := New(testConfig(KindListCluster), cs, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	defer close(hang)
	var arrived atomic.Bool
	cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		arrived.Store(true)
		<-hang // never answers within the timeout
		return false, nil, nil
	})
	c := &collector{}
	done := startRun(p, "baseline", time.Second, c)
	eventually(t, "the request and its timeout", func() bool { return arrived.Load() && clk.Waiters() == 2 })
	clk.Step(time.Second) // the run's duration is over; the request is still in flight
	eventually(t, "only the request timeout", func() bool { return clk.Waiters() == 1 })
	select {
	case <-done:
		t.Fatal("Run returned before its in-flight request was reported")
	default:
	}
	clk.Step(2 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []Sample{{TS: t0, Phase: "baseline", Kind: KindListCluster, Verb: "list", LatencyMS: 3000, Status: 0,
		Error: "timeout after 3s: context deadline exceeded", Seq: 1, Source: SourceLocal}}
	if got := c.all(); !slices.Equal(got, want) {
		t.Errorf("samples =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRunErrorStatuses(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, apierrors.NewTooManyRequests("too many requests, please try again later", 1)
	})
	cs.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is unavailable")
	})
	cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("no RBAC"))
	})
	cs.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		if cm := a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap); strings.Contains(cm.Name, "-m1-") {
			return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
		}
		return false, nil, nil
	})
	cs.PrependReactor("patch", "configmaps", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, errors.New("connection reset by peer")
	})
	clk := testclock.NewFakeClock(t0)
	p, err := New(testConfig(KindGet, KindListNamespace, KindListCluster, KindMutate, KindWatch), cs, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := runFast(t, p, clk, 1, nil) // mutate: only its failed create
	want := map[Kind]struct {
		verb   string
		status int
		err    string
	}{
		KindGet:           {"get", 429, "too many requests, please try again later"},
		KindListNamespace: {"list", 503, "etcd is unavailable"},
		KindListCluster:   {"list", 403, `nodes is forbidden: no RBAC`},
		KindMutate:        {"create", 500, "Internal error occurred: etcdserver: request timed out"},
		KindWatch:         {"watch", 0, "failed to write the watched ConfigMap: connection reset by peer"},
	}
	for k, w := range want {
		got := c.of(k)
		if len(got) != 1 {
			t.Errorf("%s: %d samples, want 1 (no patch/delete after a failed create)", k, len(got))
			continue
		}
		if got[0].Verb != w.verb || got[0].Status != w.status || got[0].Error != w.err {
			t.Errorf("%s: verb/status/error = %s/%d/%q, want %s/%d/%q", k, got[0].Verb, got[0].Status, got[0].Error, w.verb, w.status, w.err)
		}
	}
	// A 500 on create may still have stored the object: Teardown must try to delete it (NotFound is fine).
	cs.ClearActions()
	if err := p.Teardown(context.Background()); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	var deleted []string
	for _, a := range cs.Actions() {
		if d, ok := a.(k8stesting.DeleteActionImpl); ok {
			deleted = append(deleted, d.Name)
		}
	}
	slices.Sort(deleted)
	if want := []string{"pyrometer-probe-r1-get", "pyrometer-probe-r1-m1-1", "pyrometer-probe-r1-watch"}; !slices.Equal(deleted, want) {
		t.Errorf("Teardown deleted %v, want %v", deleted, want)
	}
}

func TestTeardownReportsFailures(t *testing.T) {
	cs := fake.NewClientset()
	p, err := New(testConfig(KindGet), cs, nil, testclock.NewFakeClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	cs.PrependReactor("delete", "configmaps", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "pyrometer-probe-r1-get", errors.New("denied"))
	})
	err = p.Teardown(context.Background())
	if err == nil || !strings.Contains(err.Error(), `failed to delete probe ConfigMap "pyrometer-probe-r1-get" in namespace "probe-ns"`) {
		t.Errorf("Teardown error = %v, want the failed delete named", err)
	}
}

// timerClock records when each timer was started and for how long.
type timerClock struct {
	*testclock.FakeClock
	mu     sync.Mutex
	timers [][2]int64 // start (unix ns), duration
}

func (c *timerClock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	c.timers = append(c.timers, [2]int64{c.Now().UnixNano(), int64(d)})
	c.mu.Unlock()
	return c.FakeClock.NewTimer(d)
}

func (c *timerClock) timersAt(at time.Time, d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, tm := range c.timers {
		if tm[0] == at.UnixNano() && tm[1] == int64(d) {
			n++
		}
	}
	return n
}

// TestWatchReconnects closes the watch while seq 1 waits for its event (an error sample), checks the
// watch is re-opened from the latest resourceVersion and delivers seq 2, and lets seq 3's event never
// come (a "not delivered" sample).
func TestWatchReconnects(t *testing.T) {
	cs := fake.NewClientset()
	// The second watch is buffered and its events are sent from the patch reactor itself, before the patch
	// returns: a send from a goroutine of its own could come after the run stopped (closed) the watch and panic.
	watchers := []*watch.FakeWatcher{watch.NewFake(), watch.NewFakeWithChanSize(4, false)}
	var opens []string
	var mu sync.Mutex
	reopened := make(chan struct{})
	cs.PrependWatchReactor("configmaps", func(a k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		opens = append(opens, a.(k8stesting.WatchActionImpl).WatchRestrictions.ResourceVersion)
		n := len(opens)
		if n == 2 {
			defer close(reopened)
		}
		return true, watchers[n-1], nil
	})
	cs.PrependReactor("patch", "configmaps", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		patch := string(a.(k8stesting.PatchAction).GetPatch())
		switch {
		case strings.Contains(patch, `"1-1"`):
			// A bookmark moves the resourceVersion on, then the watch breaks while seq 1 waits.
			watchers[0].Action(watch.Bookmark, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "17"}})
			watchers[0].Stop()
		case strings.Contains(patch, `"1-2"`):
			watchers[1].Modify(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pyrometer-probe-r1-watch",
				ResourceVersion: "42", Annotations: map[string]string{TokenAnnotation: "1-2"}}})
		case strings.Contains(patch, `"1-3"`):
			// Another object carrying seq 3's token is not seq 3's event.
			watchers[1].Modify(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-else",
				ResourceVersion: "43", Annotations: map[string]string{TokenAnnotation: "1-3"}}})
		}
		return false, nil, nil
	})
	clk := &timerClock{FakeClock: testclock.NewFakeClock(t0)}
	p, err := New(testConfig(KindWatch), cs, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	done := startRun(p, "baseline", 3*time.Second, c)
	eventually(t, "seq 1", func() bool { return c.len() == 1 })
	<-reopened
	eventually(t, "the scheduler waiting for seq 2", func() bool { return clk.Waiters() == 2 })
	clk.Step(time.Second)
	eventually(t, "seq 2", func() bool { return c.len() == 2 })
	eventually(t, "the scheduler waiting for seq 3", func() bool { return clk.Waiters() == 2 })
	clk.Step(time.Second)
	// seq 3 starts two 3s timers at t0+2s: the patch's timeout, then the wait for its event.
	eventually(t, "seq 3 waiting for its event", func() bool { return clk.timersAt(t0.Add(2*time.Second), 3*time.Second) == 2 })
	clk.Step(3 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := c.all()
	if s[0].Seq != 1 || s[0].Status != 0 || s[0].Error != "watch closed before the event was delivered (re-established)" {
		t.Errorf("seq 1 = %+v, want an error for the closed watch", s[0])
	}
	if s[1].Seq != 2 || s[1].Status != 200 || s[1].Error != "" || s[1].LatencyMS != 0 {
		t.Errorf("seq 2 = %+v, want delivered on the re-opened watch", s[1])
	}
	if s[2].Seq != 3 || s[2].Status != 0 || s[2].Error != "watch event not delivered within 3s" || s[2].LatencyMS != 3000 {
		t.Errorf("seq 3 = %+v, want not delivered within the request timeout", s[2])
	}
	mu.Lock()
	if len(opens) != 2 || opens[1] != "17" {
		t.Errorf("watch opened from resourceVersions %q, want twice, re-opened from the latest (17)", opens)
	}
	mu.Unlock()
	if err := p.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !watchers[1].IsStopped() {
		t.Error("Teardown left the watch open")
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	clk := testclock.NewFakeClock(t0)
	p, err := New(testConfig(KindListCluster), fake.NewClientset(), nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, "baseline", time.Hour, c.sink) }()
	eventually(t, "seq 1", func() bool { return c.len() == 1 && clk.Waiters() == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: error = %v, want context.Canceled", err)
	}
	if c.len() != 1 {
		t.Errorf("%d samples, want 1", c.len())
	}
}

func TestSetupLeavesForeignObjects(t *testing.T) {
	existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pyrometer-probe-r1-get", Namespace: "probe-ns"}}
	cs := fake.NewClientset(existing)
	p, err := New(testConfig(KindGet, KindWatch), cs, nil, testclock.NewFakeClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Setup(context.Background())
	if err == nil || !strings.Contains(err.Error(), `failed to create probe ConfigMap "pyrometer-probe-r1-get" in namespace "probe-ns"`) {
		t.Fatalf("Setup error = %v, want the failed create named", err)
	}
	if err := p.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := configMapNames(t, cs); !slices.Equal(left, []string{"pyrometer-probe-r1-get"}) {
		t.Errorf("after Teardown the namespace holds %v, want the pre-existing ConfigMap kept", left)
	}
}

func TestReadyzNotReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("[-]etcd failed: reason withheld\nreadyz check failed\n"))
	}))
	defer srv.Close()
	clk := testclock.NewFakeClock(t0)
	p, err := New(testConfig(KindReadyz), fake.NewClientset(), restClientFor(t, srv.URL), clk)
	if err != nil {
		t.Fatal(err)
	}
	c := runFast(t, p, clk, 1, nil)
	s := c.all()[0]
	if s.Status != http.StatusInternalServerError || !strings.Contains(s.Error, "etcd failed") || s.Verb != "get" {
		t.Errorf("readyz sample = %+v, want status 500 with the failed check in the error", s)
	}
}
