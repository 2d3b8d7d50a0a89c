package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// TestRunProbesStepSetup: a data-plane step's setup (kube-burner creating the load and waiting for it, here a fake
// that takes 300 ms) is probed as its own sub-phase, ramp-step-N-setup, right before the step's window: samples, rows
// and a phase of type setup, contiguous with the window, reported and not judged.
func TestRunProbesStepSetup(t *testing.T) {
	fb := &fakeBurner{hold: 300 * time.Millisecond}
	r, _, _ := testRunner(t, "cpu", fb)
	res, err := r.Run(context.Background(), version.Info{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name+":"+p.Type+":"+p.Status)
	}
	want := "baseline:probe:pass,ramp-step-1-setup:setup:pass,ramp-step-1:ramp:pass,ramp-step-2-setup:setup:pass,ramp-step-2:ramp:pass,teardown:teardown:pass,recovery:recovery:pass"
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("phases:\n got %s\nwant %s", got, want)
	}
	for i, p := range res.Phases {
		if p.Type != result.PhaseTypeSetup {
			continue
		}
		step := res.Phases[i+1]
		if p.Details["step"] != step.Name || step.Details["setup_phase"] != p.Name {
			t.Errorf("%s and %s do not name each other: %v %v", p.Name, step.Name, p.Details, step.Details)
		}
		if p.Elapsed() < 300*time.Millisecond {
			t.Errorf("%s lasted %v: it must cover kube-burner's 300 ms", p.Name, p.Elapsed())
		}
		if !step.Start.Equal(p.End) {
			t.Errorf("%s's window starts at %v, its setup ended at %v: no time may go unmeasured", step.Name, step.Start, p.End)
		}
	}
	rows := map[string]int{}
	for _, st := range res.Stats {
		rows[st.Phase+"/"+string(st.Kind)] = st.Count
	}
	for _, k := range []string{"ramp-step-1-setup/list-cluster", "ramp-step-2-setup/list-cluster", "ramp-step-1/list-cluster"} {
		// 10 ms interval: the 300 ms setup holds about 30 samples
		if rows[k] < 10 {
			t.Errorf("row %s has %d samples, want the setup probed (rows %v)", k, rows[k], rows)
		}
	}
	for _, v := range res.Verdicts {
		if strings.HasSuffix(v.Phase, SetupSuffix) {
			t.Errorf("verdict on %s: the setup is reported, not judged", v.Phase)
		}
	}
	b, err := os.ReadFile(filepath.Join(r.dir, result.SamplesFile))
	if err != nil || !strings.Contains(string(b), `"phase":"ramp-step-1-setup"`) {
		t.Errorf("probe.jsonl has no sample of ramp-step-1-setup (%v)", err)
	}
	b, _ = os.ReadFile(filepath.Join(r.dir, result.PhasesFile))
	if !strings.Contains(string(b), `"name":"ramp-step-2-setup","type":"setup"`) {
		t.Errorf("phases.jsonl lacks the setup sub-phase:\n%s", b)
	}
}

// TestStepFailingInSetupEndsSetup: a step whose kube-burner part fails ends its setup sub-phase with the failure;
// the step's phase (its window) is empty, after the setup (no overlap); the run's outcome names the step once (the
// setup's failure is its step's).
func TestStepFailingInSetupEndsSetup(t *testing.T) {
	fb := &fakeBurner{hold: time.Hour}
	r, _, _ := testRunner(t, "cpu", fb)
	r.res.Phases = nil
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ph, ok := r.rampStep(ctx, 1, "ramp-step-1", nil, false)
	if ok || ph.Status != result.StatusAborted {
		t.Fatalf("step: ok=%v %+v", ok, ph)
	}
	if len(r.res.Phases) != 1 || r.res.Phases[0].Name != "ramp-step-1-setup" || r.res.Phases[0].Status != result.StatusAborted ||
		r.res.Phases[0].Error != ph.Error {
		t.Fatalf("setup sub-phase: %+v", r.res.Phases)
	}
	if st := r.res.Phases[0]; !ph.Start.Equal(st.End) || ph.End.Before(ph.Start) || st.Elapsed() < 150*time.Millisecond {
		t.Errorf("setup %v..%v, step %v..%v: the step's window must be empty and start where the setup ended", st.Start, st.End, ph.Start, ph.End)
	}
	out := result.Decide(append(r.res.Phases, ph), []result.Verdict{{Pass: true}}, false)
	if len(out.Reasons) != 1 || !strings.Contains(out.Reasons[0], "phase ramp-step-1:") {
		t.Errorf("reasons %q: want the step's failure once", out.Reasons)
	}
}

// TestBreakerJudgesSetupSamples: the breaker's error-rate ceiling applies to the setup's samples too, and says so.
func TestBreakerJudgesSetupSamples(t *testing.T) {
	r := &Runner{agg: probe.NewAggregate()}
	for i := range 20 {
		s := probe.Sample{Phase: "ramp-step-1-setup", Kind: probe.KindGet, LatencyMS: 10, Status: 200}
		if i%2 == 0 {
			s.Status, s.Error = 0, "timeout"
		}
		r.agg.Add(s)
	}
	b := &breaker{r: r, phase: "ramp-step-1", cfg: BreakerConfig{MaxErrorRate: 0.25, MinSamples: 10}}
	if got := b.checkSamples(); !strings.Contains(got, "above --max-error-rate") || !strings.Contains(got, "during the step's setup") {
		t.Errorf("checkSamples = %q", got)
	}
}
