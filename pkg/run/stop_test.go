package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// fakeBurner stands for kube-burner's process: a run lasts until ctx ends (or hold passes), like a flood.
type fakeBurner struct {
	hold    time.Duration
	active  atomic.Int32 // runs in progress
	started atomic.Int32
	mu      sync.Mutex
	specs   []stress.Spec
}

func (f *fakeBurner) Run(ctx context.Context, spec stress.Spec) (stress.Result, error) {
	f.active.Add(1)
	defer f.active.Add(-1)
	f.started.Add(1)
	f.mu.Lock()
	f.specs = append(f.specs, spec)
	f.mu.Unlock()
	start := time.Now()
	select {
	case <-ctx.Done():
		return stress.Result{RC: -1, Elapsed: time.Since(start)}, fmt.Errorf("%w: %w", stress.ErrStopped, ctx.Err())
	case <-time.After(f.hold):
		return stress.Result{Elapsed: time.Since(start), ErrorLogs: 1}, nil
	}
}

// syncBuffer is a log writer shared by the run's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kubeBurnerFlood writes a --plugins file with mode kbflood: a flood spread over the window by kube-burner (a
// `spread: true` job), as user modes may still define (the built-in api flood is the native engine's).
func kubeBurnerFlood(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tmpl := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f-{{.Iteration}}-{{.Replica}}\n  labels:\n" +
		"    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n"
	plugins := "modes:\n- name: kbflood\n  plane: control\n  description: a kube-burner flood\n  parameters:\n" +
		"  - {name: iterations, type: int, default: 50, min: 1, max: 1000, help: h}\n" +
		"  job: {iterations: iterations, qps: 20, burst: 20, spread: true}\n  objects:\n  - {template: f.yaml, replicas: 5, pods: 0}\n"
	if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "plugins.yaml")
	if err := os.WriteFile(f, []byte(plugins), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// testRunner is a run of modes against a fake clientset with a fake kube-burner; nothing leaves the process.
func testRunner(t *testing.T, modeList string, fb *fakeBurner) (*Runner, *fake.Clientset, *syncBuffer) {
	t.Helper()
	cat, err := modes.LoadCatalog(pyrometer.Catalog, pyrometer.Templates, kubeBurnerFlood(t))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := cat.ParseModes(modeList)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cat.Select(ms, []modes.Override{{Mode: "api", Param: "iterations", Value: "2", Origin: "test"},
		{Mode: "kbflood", Param: "iterations", Value: "2", Origin: "test"}})
	if err != nil {
		sel, err = cat.Select(ms, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.NotFoundHandler()) // /metrics: not collected
	t.Cleanup(srv.Close)
	rcs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := fake.NewSimpleClientset()
	logs := &syncBuffer{}
	r, err := New(Config{Selection: sel, Steps: 2, Baseline: 50 * time.Millisecond, StepDuration: 300 * time.Millisecond,
		Recovery: 50 * time.Millisecond, StepTimeout: 5 * time.Second, TeardownTimeout: 5 * time.Second, QPS: 50, Burst: 100,
		Probe:     probe.Config{Kinds: []probe.Kind{probe.KindListCluster}, Interval: 10 * time.Millisecond, RequestTimeout: time.Second},
		ProbeFrom: "local", OutputDir: t.TempDir(), Breaker: BreakerConfig{Interval: 50 * time.Millisecond}},
		Env{Session: &Session{RestConfig: &rest.Config{Host: srv.URL}, Client: client, ProbeClient: client, ProbeRC: rcs.Discovery().RESTClient(),
			RunID: "abcd1234"}, Log: logs})
	if err != nil {
		t.Fatal(err)
	}
	r.newBurner = func(*rest.Config, io.Writer) (burner, error) { return fb, nil }
	r.engines = &engines{writes: client, watches: client} // the native engines write to the fake clientset
	r.res = &result.Doc{ServerSide: map[string][]probe.ServerStat{}}
	return r, client, logs
}

// TestRampStepFloodCancelled drives a flood step whose context is already cancelled (breaker trip, Ctrl-C): under
// -race the flood goroutine and the step goroutine must not write the phase's Details map concurrently (it died
// with "concurrent map writes"), and when rampStep returns no kube-burner run is in progress any more.
func TestRampStepFloodCancelled(t *testing.T) {
	fb := &fakeBurner{hold: time.Hour}
	r, _, _ := testRunner(t, "kbflood", fb)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ph, ok := r.rampStep(ctx, 1, "ramp-step-1", nil, false)
	if ok || ph.Status == "pass" {
		t.Fatalf("a cancelled step must not pass: %+v", ph)
	}
	if n := fb.active.Load(); n != 0 {
		t.Errorf("%d kube-burner run(s) still in progress after the step returned", n)
	}
	if fb.started.Load() == 0 {
		t.Log("the flood was not started (already cancelled)")
	}
}

// TestRampStepFloodStopsWithStep: the flood runs during the window; a cancel mid-window (breaker, Ctrl-C) stops it
// and rampStep returns only after it stopped, recording its figures (no race either).
func TestRampStepFloodStopsWithStep(t *testing.T) {
	fb := &fakeBurner{hold: time.Hour}
	r, _, _ := testRunner(t, "kbflood", fb)
	r.cfg.StepDuration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fb.started.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	done := make(chan struct{})
	var ph = struct{ ok bool }{}
	go func() {
		defer close(done)
		_, ph.ok = r.rampStep(ctx, 1, "ramp-step-1", nil, false)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("rampStep did not return after the cancel")
	}
	if ph.ok {
		t.Error("a cancelled step passed")
	}
	if n := fb.active.Load(); n != 0 {
		t.Errorf("%d kube-burner run(s) still in progress after the step returned", n)
	}
	if len(r.res.Failures) == 0 || !strings.Contains(r.res.Failures[0].Reason, "context canceled") {
		t.Errorf("failures: %+v", r.res.Failures)
	}
}

// TestRampStepFloodFinishes: a flood that ends on its own passes the step and records its figures.
func TestRampStepFloodFinishes(t *testing.T) {
	fb := &fakeBurner{hold: 10 * time.Millisecond}
	r, _, _ := testRunner(t, "kbflood", fb)
	ph, ok := r.rampStep(context.Background(), 1, "ramp-step-1", nil, false)
	if !ok || ph.Details["flood_error_logs"] != "1" || ph.Details["flood_seconds"] == "" || ph.Details["window_start"] == "" {
		t.Fatalf("ok=%v details=%v error=%s", ok, ph.Details, ph.Error)
	}
	if len(fb.specs) != 1 || fb.specs[0].Options.RequestTimeout != time.Second {
		t.Errorf("the flood's spec must use the probe request timeout (--request-timeout): %+v", fb.specs)
	}
}

// TestRunPanicStillTearsDown: a panic in the middle of the run (here: right after a step namespace was created)
// is recovered: the run still deletes what it created, writes its artifacts, prints the cleanup hint and fails.
func TestRunPanicStillTearsDown(t *testing.T) {
	fb := &fakeBurner{hold: 10 * time.Millisecond}
	r, client, logs := testRunner(t, "api", fb)
	r.testHook = func(point string) {
		if point == "step-namespace" {
			var m map[string]int
			//lint:ignore SA5000 a nil map write on purpose: the panic of a real bug
			m["boom"]++
		}
	}
	res, err := r.Run(context.Background(), version.Info{Version: "test"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	nss, _ := client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: cluster.Selector("abcd1234")})
	if len(nss.Items) != 0 {
		t.Errorf("namespaces left after the panic: %d", len(nss.Items))
	}
	if res.Outcome.ExitCode == 0 {
		t.Errorf("a run that panicked must exit non-zero: %+v", res.Outcome)
	}
	found := false
	for _, f := range res.Failures {
		found = found || strings.Contains(f.Reason, "panic")
	}
	if !found {
		t.Errorf("the panic is not among the failures: %+v", res.Failures)
	}
	for _, f := range []string{"run.json", "failures.jsonl", "panic.txt", "phases.jsonl"} {
		if _, err := os.Stat(filepath.Join(r.dir, f)); err != nil {
			t.Errorf("artifact %s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(r.dir, "panic.txt")); !bytes.Contains(b, []byte("assignment to entry in nil map")) {
		t.Errorf("panic.txt:\n%s", b)
	}
	if !strings.Contains(logs.String(), "kubectl pyrometer cleanup --run-id abcd1234") || !strings.Contains(logs.String(), "cleanup: done") {
		t.Errorf("stderr must say what happened, that it cleans up, and the cleanup hint:\n%s", logs.String())
	}
}

// TestRunFloodPanicStopsStep: a panic in the flood goroutine fails the step instead of killing the process.
func TestRunFloodPanicStopsStep(t *testing.T) {
	fb := &fakeBurner{hold: 10 * time.Millisecond}
	r, _, _ := testRunner(t, "kbflood", fb)
	r.testHook = func(point string) {
		if point == "flood" {
			panic(errors.New("flood bug"))
		}
	}
	ph, ok := r.rampStep(context.Background(), 1, "ramp-step-1", nil, false)
	if ok || !strings.Contains(ph.Error, "flood bug") {
		t.Fatalf("ok=%v error=%q", ok, ph.Error)
	}
}
