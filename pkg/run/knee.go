package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// `kubectl pyrometer knee`: the run's machinery (Session, probe, namespaces, breaker, engines, teardown, artifacts)
// driven by pkg/knee's search. Phases: baseline; knee-step-N (the load at the step's rate in its own namespace
// pyrometer-<run-id>-step-N for --step-duration while the probe measures, then its objects and namespace deleted);
// cooldown-N (the probe until its p50 is back within 1.2x of the baseline's, bounded) between two steps. pkg/knee
// judges every step on the samples the run's sink sees (tap) and the load's delivery account (run.json loads).

// KneeConfig is a resolved knee search.
type KneeConfig struct {
	// Selection is the mix: one native-engine mode (churn or api) with its settings; each step sets its rate.
	Selection *modes.Selection
	Mix       string
	Start     float64 // writes per second
	Max       float64
	Precision float64
	Baseline  time.Duration
	Step      time.Duration // each step's measured window
	// Cooldown > 0 waits exactly that long after each step (probing); 0 is auto: until the probe's p50 over a
	// window is back within result.RecoveryRatio of the baseline's, at most CooldownMax.
	Cooldown, CooldownMax time.Duration
	TeardownTimeout       time.Duration
	Probe                 probe.Config
	ProbeFrom, ProbeImage string
	OutputDir             string
	Flags                 map[string]string
	Safety                json.RawMessage
	Breaker               BreakerConfig
	Criteria              knee.Criteria
	// Workers: where each step's load comes from (--load-from, --workers; workers.go), as for run.
	Workers      WorkersConfig
	NodeSelector map[string]string // the worker pods' and the in-cluster probe pod's
}

// WritesPerObject is the writes one object of the mix costs: a create, its updates and, with a lifetime, a delete.
func WritesPerObject(sel *modes.Selection) float64 {
	loads := sel.EngineLoads(1)
	if len(loads) == 0 || loads[0].Rate <= 0 {
		return 1
	}
	total := 0.0
	for _, l := range loads {
		total += l.WriteRate()
	}
	objects := 0.0
	for _, l := range loads {
		objects += l.Rate
	}
	return total / objects
}

// KneeSelection is the mix at rate writes per second over a window of d: churn at rate / WritesPerObject objects
// per second; api's flood at rate objects per second, as many as the window takes (split between its kinds).
func KneeSelection(base *modes.Selection, rate float64, d time.Duration) *modes.Selection {
	sel := &modes.Selection{Modes: base.Modes, Settings: map[string]map[string]float64{}}
	for m, set := range base.Settings {
		sel.Settings[m] = maps.Clone(set)
	}
	per := WritesPerObject(base)
	for _, m := range base.Modes {
		set := sel.Settings[m.Name]
		switch m.Engine {
		case modes.EngineChurn:
			set["rate"] = rate / per
		case modes.EngineFlood:
			set["qps"] = rate
			set["replicas"] = 1
			set["iterations"] = math.Ceil(rate * d.Seconds() / 2)
		}
	}
	return sel
}

// Knee runs the search. Like Run, it returns the document (also when interrupted: partial) and an error only when
// it could not start or write its artifacts; everything it created is deleted before it returns.
func Knee(ctx context.Context, kc KneeConfig, env Env, v version.Info) (*result.Doc, error) {
	maxSteps := knee.MaxSteps(kc.Start, kc.Max, kc.Precision)
	if kc.CooldownMax <= 0 {
		kc.CooldownMax = 10*time.Second + 2*kc.Step
	}
	// The run's Config as far as its machinery reads it: the in-cluster probe lives for Steps x (window + 2 x
	// StepTimeout), so StepTimeout covers a step's teardown and cool-down.
	cfg := Config{Selection: kc.Selection, Steps: maxSteps + knee.MaxConfirmations, Baseline: kc.Baseline, StepDuration: kc.Step,
		StepTimeout: max(kc.Cooldown, kc.CooldownMax)/2 + kc.TeardownTimeout/2, TeardownTimeout: kc.TeardownTimeout, Probe: kc.Probe,
		ProbeFrom: kc.ProbeFrom, ProbeImage: kc.ProbeImage, OutputDir: kc.OutputDir, Flags: kc.Flags, Breaker: kc.Breaker, Safety: kc.Safety,
		Workers: kc.Workers, NodeSelector: kc.NodeSelector}
	r, err := New(cfg, env)
	if err != nil {
		return nil, err
	}
	var modeNames []string
	for _, m := range kc.Selection.Modes {
		modeNames = append(modeNames, m.Name)
	}
	r.res = &result.Doc{Command: result.CommandKnee, Version: v, RunID: r.env.RunID, Server: r.env.RestConfig.Host, Start: time.Now(),
		Flags: kc.Flags, Modes: modeNames, Settings: kc.Selection.Settings, Safety: kc.Safety, ServerSide: map[string][]probe.ServerStat{},
		OutputDir: r.dir}
	if err := r.openArtifacts(ctx); err != nil {
		return nil, err
	}
	defer r.jsonl.Close()
	r.logf("knee %s against %s: mix %s, %s to %s writes/s, steps of %v, precision %g%% (at most %d steps); artifacts in %s",
		r.env.RunID, r.env.RestConfig.Host, kc.Mix, knee.FormatRate(kc.Start), knee.FormatRate(kc.Max), kc.Step, 100*kc.Precision, maxSteps, r.dir)

	d := &kneeDriver{r: r, kc: kc}
	r.tap = d.add
	var answer knee.Result
	interrupted := r.guarded(ctx, func(ctx context.Context) bool {
		answer = d.search(ctx)
		return ctx.Err() != nil
	})
	r.finalCleanup()
	r.res.End = time.Now()
	r.res.Samples = r.sampleFile()
	r.tagStats()
	r.res.Verdicts = result.Verdicts(r.localStats(), "baseline", kc.Criteria.MaxErrorRatio)
	if interrupted && answer.Status != knee.StatusInterrupted && answer.Status != "" {
		answer.Findings = append(answer.Findings, "interrupted")
	}
	if answer.Status == "" { // a panic before the search answered
		answer = knee.Result{Status: knee.StatusInterrupted, Start: kc.Start, Max: kc.Max, Precision: kc.Precision, MaxSteps: maxSteps,
			Summary: "interrupted before the search ended: no knee"}
	}
	// each step's phase in run.json names its verdict and criterion (its status is the verdict: judged)
	for _, st := range answer.Steps {
		for i := range r.res.Phases {
			if ph := &r.res.Phases[i]; ph.Name == fmt.Sprintf("knee-step-%d", st.N) && ph.Details != nil {
				ph.Details["verdict"] = strings.TrimSpace(st.Verdict.Verdict + " " + st.Verdict.Criterion)
			}
		}
	}
	r.res.Knee = &result.Knee{Result: answer, Mix: kc.Mix, WritesPerObject: WritesPerObject(kc.Selection), StepSeconds: kc.Step.Seconds(), Criteria: kc.Criteria}
	r.res.Outcome = result.KneeOutcome(answer)
	if interrupted && r.res.Outcome.ExitCode == result.ExitPass {
		r.res.Outcome = result.Outcome{Result: result.ResultFailed, ExitCode: result.ExitFailed, Reasons: append(r.res.Outcome.Reasons, "run interrupted")}
	}
	for _, f := range r.res.Failures {
		if f.Phase == "setup" || f.Phase == "cleanup" {
			r.res.Outcome.Reasons = append(r.res.Outcome.Reasons, f.Phase+": "+f.Reason)
			if f.Phase == "cleanup" && r.res.Outcome.ExitCode == result.ExitPass {
				r.res.Outcome.Result, r.res.Outcome.ExitCode = result.ResultFailed, result.ExitFailed
			}
		}
	}
	if err := r.writeArtifacts(); err != nil {
		return r.res, err
	}
	return r.res, nil
}

// localStats are the statistics of the local probe and the engines (the in-cluster rows are reported, not judged).
func (r *Runner) localStats() []probe.Stats {
	var out []probe.Stats
	for _, st := range r.res.Stats {
		if !strings.HasSuffix(st.Phase, "@cluster") {
			out = append(out, st)
		}
	}
	return out
}

// kneeDriver is knee.Driver against the cluster.
type kneeDriver struct {
	r      *Runner
	kc     KneeConfig
	prober *probe.Prober
	local  bool

	mu      sync.Mutex
	phase   string // the phase whose samples are collected
	start   time.Time
	samples []knee.Sample

	baseP50 float64 // the baseline's p50 (successful local probe samples, every kind pooled)

	pending *result.Phase // the step Step measured, recorded by judged with its verdict
}

// add is the run's tap: it keeps the samples of the phase being judged.
func (d *kneeDriver) add(s probe.Sample) {
	src := probe.SourceOf(s)
	if src == probe.SourceCluster {
		return
	}
	kind := string(s.Kind)
	if src == probe.SourceChurn {
		if !strings.HasPrefix(kind, "churn:") {
			return // notifications are reported (rows notify:*), not judged
		}
		kind = knee.Writes
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.Phase != d.phase || d.phase == "" {
		return
	}
	d.samples = append(d.samples, knee.Sample{Kind: kind, At: s.TS.Sub(d.start).Seconds(), MS: s.LatencyMS, Err: s.Error != "",
		Throttled: s.Status == http.StatusTooManyRequests || s.Retries > 0})
}

// collect starts keeping the samples of phase; take returns them and stops.
func (d *kneeDriver) collect(phase string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.phase, d.start, d.samples = phase, time.Now(), nil
}

func (d *kneeDriver) take() []knee.Sample {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.samples
	d.phase, d.samples = "", nil
	return out
}

// search sets up the probe and runs the search; the probe's objects are removed when it returns.
func (d *kneeDriver) search(ctx context.Context) knee.Result {
	r := d.r
	fail := func(err error) knee.Result {
		r.fail("setup", err.Error())
		return knee.Result{Status: knee.StatusInterrupted, Start: d.kc.Start, Max: d.kc.Max, Precision: d.kc.Precision,
			MaxSteps: knee.MaxSteps(d.kc.Start, d.kc.Max, d.kc.Precision), Summary: "no answer: setup failed: " + err.Error()}
	}
	pcfg := r.probeConfig()
	if err := r.createNamespace(ctx, r.probeNS, "probe"); err != nil {
		return fail(err)
	}
	prober, err := probe.New(pcfg, r.env.ProbeClient, r.env.ProbeRC, nil)
	if err != nil {
		return fail(err)
	}
	defer r.proberTeardown(prober)()
	if err := prober.Setup(ctx); err != nil {
		return fail(fmt.Errorf("probe setup failed: %w", err))
	}
	if err := r.startAPF(ctx); err != nil { // --workers-flowschema (apf.go)
		return fail(err)
	}
	d.prober, d.local = prober, r.cfg.ProbeFrom != "cluster"
	if r.cfg.ProbeFrom != "local" {
		stop := r.startClusterProbe(ctx, pcfg)
		defer stop()
	}
	defer func() { // a step measured but never judged (a panic in between): recorded as aborted
		if d.pending != nil {
			ph := *d.pending
			d.pending = nil
			ph.Status, ph.Error = result.StatusAborted, "measured, not judged"
			r.addPhase(ph)
		}
	}()
	kc := knee.Config{Start: d.kc.Start, Max: d.kc.Max, Precision: d.kc.Precision, Criteria: d.kc.Criteria, Log: r.logf, Judged: d.judged}
	return knee.Find(ctx, kc, d)
}

// judged records step n's phase (measured by Step) with the step's verdict as its status: pass, fail or
// inconclusive, the verdict's reasons as its error, so that phases.jsonl, run.json and the reports say what the
// step showed, not only that it ran. No progress line: the search logs the step's verdict.
func (d *kneeDriver) judged(n int, v knee.Verdict) {
	ph := d.pending
	d.pending = nil
	if ph == nil || ph.Name != fmt.Sprintf("knee-step-%d", n) {
		return
	}
	switch v.Verdict {
	case knee.Fail:
		ph.Status, ph.Error = result.StatusFail, v.Reason()
	case knee.Inconclusive:
		ph.Status, ph.Error = result.StatusInconclusive, v.Reason()
	}
	ph.Details["verdict"] = strings.TrimSpace(v.Verdict + " " + v.Criterion)
	d.r.appendPhase(*ph)
}

// measure probes phase for dur (the local prober, or a wait when only the in-cluster probe runs) and records the
// phase's server-side rows.
func (d *kneeDriver) measure(ctx context.Context, phase string, dur time.Duration) error {
	r := d.r
	r.phase.Store(phase)
	start := time.Now()
	r.clock.open(phase, start, dur)
	defer func() { r.clock.close(phase, time.Now()) }()
	if d.local {
		return d.prober.Run(ctx, phase, dur, r.sink)
	}
	select {
	case <-time.After(dur):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Baseline is knee.Driver's: the probe alone for --baseline.
func (d *kneeDriver) Baseline(ctx context.Context) (knee.Measurement, error) {
	r := d.r
	snap := r.snapshot(ctx, nil)
	ph := result.Phase{Name: "baseline", Type: result.PhaseTypeProbe, Start: time.Now()}
	d.collect(ph.Name)
	r.logf("baseline: probing for %v", d.kc.Baseline)
	err := d.measure(ctx, ph.Name, d.kc.Baseline)
	ph.End, ph.Status = time.Now(), result.StatusPass
	m := knee.Measurement{Seconds: ph.End.Sub(ph.Start).Seconds(), Samples: d.take()}
	r.snapshot(ctx, snap, ph.Name)
	if err != nil {
		ph.Status, ph.RC, ph.Error = result.StatusAborted, 1, err.Error()
	}
	r.addPhase(ph)
	d.baseP50 = r.agg.SuccessPercentile(probe.SourceLocal, ph.Name, 0.5)
	return m, err
}

// Step is knee.Driver's: the mix at rate in the step's own namespace for --step-duration while the probe measures,
// under the breaker; then the load stops (its engines waited for), its objects are deleted (awaited) and the
// namespace deletion starts (the cool-down and the final cleanup wait for it).
func (d *kneeDriver) Step(ctx context.Context, n int, rate float64, searchPhase string) (knee.Measurement, error) {
	r := d.r
	name := fmt.Sprintf("knee-step-%d", n)
	ns := cluster.StepNamespace(r.env.RunID, n)
	ph := result.Phase{Name: name, Type: result.PhaseTypeRamp, Start: time.Now(), Details: map[string]string{
		"rate": knee.FormatRate(rate), "search": searchPhase, "namespace": ns}}
	m := knee.Measurement{Rate: rate}
	snap := r.snapshot(ctx, nil)
	defer func() {
		r.snapshot(ctx, snap, name)
		if ph.Status == result.StatusPass { // measured: recorded with its verdict as its status once judged (judged)
			pending := ph
			d.pending = &pending
			return
		}
		r.addPhase(ph)
	}()
	stepFail := func(err error) (knee.Measurement, error) {
		ph.End, ph.Status, ph.RC, ph.Error = time.Now(), result.StatusFail, 1, err.Error()
		if ctx.Err() != nil {
			ph.Status = result.StatusAborted
		}
		r.fail(name, err.Error())
		return m, err
	}
	if err := r.createNamespace(ctx, ns, "stress"); err != nil {
		return stepFail(err)
	}
	defer d.teardownStep(ns)
	sctx, brk, stopBreaker := r.startBreaker(ctx, ns, name)
	defer stopBreaker()
	d.collect(name)
	r.phase.Store(name)
	loads, err := d.startLoad(sctx, name, ns, KneeSelection(d.kc.Selection, rate, d.kc.Step))
	if err != nil {
		d.take()
		return stepFail(err)
	}
	r.logf("%s: %s writes/s (%s) for %v while the probe measures", name, knee.FormatRate(rate), searchPhase, d.kc.Step)
	ph.Details["window_start"] = time.Now().UTC().Format(time.RFC3339Nano)
	perr := d.measure(sctx, name, d.kc.Step)
	undelivered := loads.stop()
	ph.End = time.Now()
	m.Samples = d.take()
	for _, l := range r.res.Loads {
		if l.Phase != name {
			continue
		}
		m.Requested += l.Delivery.Requested
		m.Delivered += l.Delivery.Delivered
		if !l.Verdict.Delivered && m.Limit != "server" {
			m.Limit, m.LimitReason = l.Verdict.Limit, l.Verdict.Reason
		}
	}
	// Rates over the step's window: the writes due in it (the engine's own span also holds the seconds its writes
	// in flight took to return after the window, which would dilute them); the trend is judged over the window too.
	m.Seconds = d.kc.Step.Seconds()
	m.RequestedRate, m.DeliveredRate = float64(m.Requested)/m.Seconds, float64(m.Delivered)/m.Seconds
	ph.Status = result.StatusPass
	if undelivered != "" {
		ph.Details["load"] = undelivered
	}
	switch {
	case ctx.Err() != nil:
		return stepFail(ctx.Err())
	case brk.Reason() != "":
		m.Breaker = brk.Reason()
		ph.Details["breaker"] = m.Breaker
	case perr != nil:
		return stepFail(perr)
	}
	return m, nil
}

// stepLoader starts a knee step's load in ns on ctx with the mix at its rate (sel) over the step's window. The
// returned load's stop stops it, waits until nothing of it writes any more, records its account in run.json (loads)
// and says why it was not delivered ("" when it was). The native engines (startLoads) implement it; worker pods
// (--load-from cluster) are another implementation of the same contract.
type stepLoader interface{ stop() string }

func (d *kneeDriver) startLoad(ctx context.Context, phase, ns string, sel *modes.Selection) (stepLoader, error) {
	r := d.r
	keep := r.cfg.Selection
	r.cfg.Selection = sel // startLoads reads the step's loads from the selection: step 1 is the rate as set
	defer func() { r.cfg.Selection = keep }()
	s, err := r.startLoads(ctx, 1, phase, ns, d.kc.Step)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("the mix has no write load")
	}
	return s, nil
}

// teardownStep deletes the step's objects by label and waits until they are gone, then starts deleting its
// namespace (not awaited: the next step has its own; the final cleanup waits for every namespace of the run).
func (d *kneeDriver) teardownStep(ns string) {
	r := d.r
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TeardownTimeout)
	defer cancel()
	r.cleanupLoads(ctx)
	if _, err := cluster.Delete(ctx, r.env.Client, []cluster.Object{{Kind: "Namespace", Name: ns, RunID: r.env.RunID}}, 0); err != nil {
		r.note(fmt.Sprintf("teardown of %s: %v (the final cleanup retries)", ns, err))
	}
}

// Cooldown is knee.Driver's: the probe in windows until a window's p50 (successful local samples, every kind
// pooled) is within result.RecoveryRatio of the baseline's (auto), or for exactly --cooldown; at most CooldownMax.
func (d *kneeDriver) Cooldown(ctx context.Context, n int) (knee.Cooldown, error) {
	r := d.r
	name := fmt.Sprintf("cooldown-%d", n)
	ph := result.Phase{Name: name, Type: result.PhaseTypeCooldown, Start: time.Now(), Status: result.StatusPass, Details: map[string]string{}}
	cd := knee.Cooldown{BaselineP50MS: d.baseP50}
	window := max(time.Second, 5*d.kc.Probe.Interval)
	bound := d.kc.CooldownMax
	if d.kc.Cooldown > 0 {
		window, bound = d.kc.Cooldown, d.kc.Cooldown
	}
	var err error
	for time.Since(ph.Start) < bound {
		w := min(window, bound-time.Since(ph.Start))
		if w <= 0 {
			break
		}
		d.collect(name)
		err = d.measure(ctx, name, w)
		cd.P50MS = successP50(d.take())
		if err != nil {
			break
		}
		if !d.local || d.baseP50 <= 0 {
			cd.Recovered, cd.Note = true, "not judged: no local baseline samples"
			if d.kc.Cooldown == 0 {
				break
			}
			continue
		}
		cd.Recovered = cd.P50MS > 0 && result.Ratio(cd.P50MS, d.baseP50) <= result.RecoveryRatio
		if cd.Recovered && d.kc.Cooldown == 0 {
			break
		}
	}
	ph.End = time.Now()
	cd.Seconds = ph.End.Sub(ph.Start).Seconds()
	if !cd.Recovered && cd.Note == "" {
		cd.Note = fmt.Sprintf("the probe's p50 was %s ms, more than %gx the baseline's %s ms", result.FormatMS(cd.P50MS), result.RecoveryRatio, result.FormatMS(d.baseP50))
	}
	ph.Details["recovered"] = fmt.Sprint(cd.Recovered)
	ph.Details["p50_ms"] = result.FormatMS(cd.P50MS)
	if err != nil {
		ph.Status, ph.RC, ph.Error = result.StatusAborted, 1, err.Error()
	}
	r.addPhase(ph)
	r.logf("%s: %s after %.1fs (p50 %s ms, baseline %s ms)", name, map[bool]string{true: "recovered", false: "not recovered"}[cd.Recovered],
		cd.Seconds, result.FormatMS(cd.P50MS), result.FormatMS(d.baseP50))
	return cd, err
}

// successP50 is the nearest-rank p50 of the successful probe samples (the writes left out).
func successP50(ss []knee.Sample) float64 {
	var lat []float64
	for _, s := range ss {
		if !s.Err && s.Kind != knee.Writes {
			lat = append(lat, s.MS)
		}
	}
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return probe.Percentile(lat, 0.5)
}
