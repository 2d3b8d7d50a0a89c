package run

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func sinkRunner(t *testing.T) *Runner {
	t.Helper()
	w, err := result.CreateJSONL(filepath.Join(t.TempDir(), "probe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	r := &Runner{jsonl: w, clock: newClusterClock(), agg: probe.NewAggregate("baseline", "ramp-step-1", UnmeasuredPhase)}
	r.phase.Store("")
	return r
}

// In-cluster samples arrive late when the log stream lags under load: each belongs to the measured window holding
// its own timestamp (on this machine's clock, with the pod's clock offset removed), not to the phase current when it
// arrives; a sample between windows (a step's setup) belongs to none. Before, every one of them was tagged with the
// phase current on arrival (ramp-step-1 here).
func TestClusterSamplesAttributedByTimestamp(t *testing.T) {
	r := sinkRunner(t)
	const skew = 2 * time.Hour // the pod's clock is 2 h ahead of ours
	now := time.Now()
	// baseline [now-10s, now-6s), then kube-burner's setup of step 1, then its window from now-2s
	r.phase.Store("baseline")
	r.clock.open("baseline", now.Add(-10*time.Second), 4*time.Second)
	r.clock.close("baseline", now.Add(-6*time.Second))
	r.phase.Store("ramp-step-1")
	r.clock.open("ramp-step-1", now.Add(-2*time.Second), 10*time.Second)

	pod := func(at time.Time, latency float64) probe.Sample {
		return probe.Sample{TS: at.Add(skew), Kind: probe.KindGet, Verb: "get", LatencyMS: latency, Source: probe.SourceCluster}
	}
	// the first line comes at once (it calibrates the offset), the others after a lagging stream
	r.sink(pod(time.Now().Add(-3*time.Millisecond), 2))
	for _, s := range []probe.Sample{
		pod(now.Add(-9*time.Second), 4),         // baseline
		pod(now.Add(-6500*time.Millisecond), 4), // baseline, its last slots
		pod(now.Add(-4*time.Second), 4),         // step 1's setup: not measured
		pod(now.Add(-1500*time.Millisecond), 4), // step 1's window
	} {
		r.sink(s)
	}
	// by phase, in arrival order: the calibration line and the step's window; the two baseline slots; the setup
	want := map[string][]float64{"ramp-step-1": {2, 4}, "baseline": {4, 4}, UnmeasuredPhase: {4}}
	for phase, lat := range want {
		got := r.agg.Samples(phase)
		if len(got) != len(lat) {
			t.Errorf("phase %s: %d samples, want %d: %+v", phase, len(got), len(lat), got)
			continue
		}
		for i, s := range got {
			if s.LatencyMS != lat[i] {
				t.Errorf("phase %s sample %d (ts %v before now, pod clock): latency %v, want %v", phase, i, now.Add(skew).Sub(s.TS), s.LatencyMS, lat[i])
			}
		}
	}
	rep := r.clock.report()
	if off := time.Duration(rep.ClockOffsetMS * float64(time.Millisecond)); off < skew-400*time.Millisecond || off > skew {
		t.Errorf("clock offset %v, want about %v (at most: a one-way estimate is low by the fastest delivery)", off, skew)
	}
	if rep.Samples != 5 || rep.Unmeasured != 1 || rep.MaxDeliveryMS < 1000 {
		t.Errorf("report %+v: want 5 samples, 1 unmeasured, the slowest delivery > 1 s", rep)
	}
	// Local samples keep the phase the prober gave them.
	r.sink(probe.Sample{TS: now.Add(-8 * time.Second), Phase: "baseline", Kind: probe.KindGet, Source: probe.SourceLocal})
	if got := r.agg.Samples("baseline"); len(got) != 3 || got[2].Source != probe.SourceLocal {
		t.Errorf("the local sample is not the baseline's third: %+v", got)
	}
}

// A window closed early (the step was aborted) ends there.
func TestClusterClockWindowClosedEarly(t *testing.T) {
	c := newClusterClock()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c.open("ramp-step-1", t0, time.Minute)
	c.close("ramp-step-1", t0.Add(10*time.Second))
	at := func(d time.Duration) string {
		return c.attribute(probe.Sample{TS: t0.Add(d)}, t0.Add(d)) // no skew, delivered at once
	}
	if got := at(5 * time.Second); got != "ramp-step-1" {
		t.Errorf("inside: %q", got)
	}
	if c.caughtUp() {
		t.Error("caughtUp before any sample after the window arrived")
	}
	if got := at(15 * time.Second); got != UnmeasuredPhase {
		t.Errorf("after the early close: %q, want %q", got, UnmeasuredPhase)
	}
	if !c.caughtUp() {
		t.Error("a sample after the last window arrived: the stream caught up")
	}
	if got := at(-time.Second); got != UnmeasuredPhase {
		t.Errorf("before the window: %q, want %q", got, UnmeasuredPhase)
	}
}

// The in-cluster probe outlasts the run at its longest, also when the API flood stretches a step's window beyond
// --step-duration (before, its duration counted --step-duration only: the pod ended during the last steps).
func TestClusterProbeDurationCoversStretchedWindows(t *testing.T) {
	flood := &modes.Mode{Name: "api", Job: modes.JobSpec{Iterations: "iterations", QPS: "qps", Spread: true},
		Objects: []modes.ObjectSpec{{Template: "cm.yaml", Replicas: "2", Pods: "0"}}}
	sel := &modes.Selection{Modes: []*modes.Mode{flood}, Settings: map[string]map[string]float64{"api": {"iterations": 600, "qps": 10}}}
	cfg := Config{Selection: sel, Steps: 3, Baseline: 30 * time.Second, StepDuration: 30 * time.Second, Recovery: 30 * time.Second,
		StepTimeout: time.Minute, TeardownTimeout: 2 * time.Minute}
	r := &Runner{cfg: cfg}
	if w := r.window(); w != 2*time.Minute {
		t.Fatalf("window %v, want the flood's 2m (1200 objects at 10/s)", w)
	}
	// longest run: baseline, 3 x (setup at its timeout + the 2 min window + the flood's own bound past it), teardown
	// at its timeout (+30 s events and margin), recovery
	longest := cfg.Baseline + 3*(cfg.StepTimeout+2*time.Minute+cfg.StepTimeout) + cfg.TeardownTimeout + 30*time.Second + cfg.Recovery
	if got := r.clusterProbeDuration(); got < longest {
		t.Errorf("in-cluster probe duration %v, shorter than the longest run %v", got, longest)
	}
}
