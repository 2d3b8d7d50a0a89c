package run

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/podstartup"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// ModeLabel is the label every mode's template puts on its objects and pods (the mode's name); the pod startup
// watch follows the run's pods that carry it (the stress pods, not the probe's).
const ModeLabel = "kubepyrometer.io/mode"

// podWatch measures the startup of the run's stress pods (pkg/podstartup) for the whole run: its samples go to
// their own aggregate (never pooled with the probe's), per phase (the phase current when the pod was created).
type podWatch struct {
	tracker         *podstartup.Tracker
	agg             *probe.Aggregate
	hollow          string // name prefix of the run's hollow nodes ("" without)
	onHollow, total map[string]int
	steps           map[string][2]time.Time // phase -> [start, end] for the throughput
	wait            func()
	cancel          context.CancelFunc
}

// startPodWatch starts the pod startup watch when the run creates pods (a data-plane mode); nil otherwise, or when
// the watch cannot start (a note says why: the run goes on without pod startup rows).
func (r *Runner) startPodWatch(ctx context.Context) *podWatch {
	dataPlane := false
	for _, m := range r.cfg.Selection.Modes {
		dataPlane = dataPlane || m.Plane == modes.PlaneData
	}
	if !dataPlane {
		return nil
	}
	w := &podWatch{agg: probe.NewAggregate(), onHollow: map[string]int{}, total: map[string]int{}, steps: map[string][2]time.Time{}}
	if r.cfg.Hollow != nil && r.cfg.Hollow.Nodes > 0 {
		w.hollow = strings.TrimSuffix(hollow.NodeName(r.env.RunID, 0), "0")
	}
	w.tracker = podstartup.NewTracker(func(s podstartup.Sample) {
		w.agg.Add(s.Probe())
		if s.Kind == podstartup.KindStartup {
			w.total[s.Phase]++ // the sink is called under the tracker's lock: no race with the readers below
			if w.hollow != "" && strings.HasPrefix(s.Node, w.hollow) {
				w.onHollow[s.Phase]++
			}
		}
	})
	wctx, cancel := context.WithCancel(ctx)
	type started struct {
		wait func()
		err  error
	}
	ch := make(chan started, 1)
	go func() {
		wait, err := podstartup.Watch(wctx, r.env.Client, podstartup.Config{LabelSelector: cluster.Selector(r.env.RunID) + "," + ModeLabel}, w.tracker)
		ch <- started{wait, err}
	}()
	// An informer whose list is forbidden retries for ever: give up after podWatchSync (the run goes on without
	// pod startup rows, saying why).
	var s started
	select {
	case s = <-ch:
	case <-time.After(podWatchSync):
		cancel()
		s = <-ch
		s.err = fmt.Errorf("pods and events of the run not listed within %v (may this identity list and watch pods and events in every namespace?)", podWatchSync)
	}
	if s.err != nil {
		cancel()
		r.note("pod startup not measured: " + s.err.Error())
		r.logf("warning: pod startup not measured: %v", s.err)
		return nil
	}
	w.wait, w.cancel = s.wait, cancel
	return w
}

var podWatchSync = 30 * time.Second

// stop ends the watch and waits for its informers.
func (w *podWatch) stop() {
	if w == nil {
		return
	}
	w.cancel()
	w.wait()
}

// phase starts a phase: the pods created from now on belong to it.
func (w *podWatch) phase(name string) {
	if w == nil {
		return
	}
	w.tracker.SetPhase(name)
	w.steps[name] = [2]time.Time{time.Now()}
}

// end ends phase name (for its throughput) and records the named reasons its pods did not start in failures.jsonl.
func (r *Runner) endPodPhase(w *podWatch, name string) {
	if w == nil {
		return
	}
	s := w.steps[name]
	s[1] = time.Now()
	w.steps[name] = s
}

// trouble names a pod startup failure the breaker stops the ramp on: pods of the step Pending for at least grace
// with a named reason (maxPods exhausted, pod CIDR exhausted, sandbox creation failed); "" when there is none
// (insufficient cpu/memory and other unschedulable pods are left to the breaker's unschedulable check).
func (w *podWatch) trouble(grace time.Duration) string {
	if w == nil {
		return ""
	}
	p := w.tracker.Pending(time.Now())
	if p.Count == 0 || p.Oldest < grace {
		return ""
	}
	for _, f := range w.tracker.Failures() {
		// Plain unschedulable pods, also for lack of cpu or memory, are the breaker's own unschedulable check
		// (podTrouble), which names the pod and the scheduler's message: only what it cannot name is named here.
		generic := f.Reason == podstartup.ReasonUnschedulable || f.Reason == podstartup.ReasonCPU || f.Reason == podstartup.ReasonMemory
		if n := p.Reasons[f.Reason]; n > 0 && !generic {
			return fmt.Sprintf("%s: %d pod(s) Pending (%s: %s)", f.Reason, n, f.K8sReason, f.Message)
		}
	}
	return ""
}

// podStartupRows adds the pod startup rows of every phase to stats (kinds pod-startup, pod-schedule, pod-run,
// pod-startup-server; no "all" row: pooling them means nothing) and fills run.json's PodStartup section.
func (r *Runner) podStartupRows(w *podWatch, stats []probe.Stats) []probe.Stats {
	if w == nil {
		return stats
	}
	w.stop()
	ps := &result.PodStartup{}
	for _, ph := range r.res.Phases {
		rows := w.agg.ByKind(probe.SourceLocal, ph.Name)
		if len(rows) == 0 {
			continue
		}
		rows = rows[:len(rows)-1] // the "all" row
		p := result.PodStartupPhase{Phase: ph.Name, Rows: rows, ControlPlaneOnly: w.total[ph.Name] > 0 && w.onHollow[ph.Name] == w.total[ph.Name]}
		for _, st := range rows {
			stats = append(stats, st)
			if st.Kind == podstartup.KindStartup {
				p.SLO = result.StatusPass
				if st.P99 > result.PodStartupSLOMS {
					p.SLO = result.StatusFail
				}
			}
		}
		if s, ok := w.steps[ph.Name]; ok && !s[1].IsZero() {
			th := w.tracker.Throughput(s[0], s[1], time.Second)
			p.Scheduled, p.ThroughputMean, p.ThroughputMax = th.Scheduled, round2(th.Mean), round2(th.Max)
		}
		ps.Phases = append(ps.Phases, p)
	}
	pend := w.tracker.Pending(time.Now())
	if len(ps.Phases) > 0 {
		last := &ps.Phases[len(ps.Phases)-1]
		last.Pending, last.PendingReasons = pend.Count, pend.Reasons
	}
	for _, f := range w.tracker.Failures() {
		r.note(fmt.Sprintf("pod startup: %s: %d pod(s), %s %dx: %s", f.Reason, f.Pods, f.K8sReason, f.Count, f.Message))
	}
	if len(ps.Phases) > 0 {
		r.res.PodStartup = ps
	}
	return stats
}

// podStartupOutcome fails the SLO of the run when a phase's pod-startup p99 is above the SLO. Only a run with mode
// density is judged on it: the SLI is defined for stateless pods without image pulls (density's pause pods); the
// other modes' stress pods are reported (their startup includes pulling their images and is not what the SLO is
// about), never turning a run into an SLO failure.
func (r *Runner) podStartupOutcome() {
	if r.res.PodStartup == nil {
		return
	}
	if !slices.ContainsFunc(r.cfg.Selection.Modes, func(m *modes.Mode) bool { return m.Name == "density" }) {
		r.note(fmt.Sprintf("pod startup of the stress pods is reported, not judged: the SLO (p99 <= %v) is judged only with mode density", podstartup.SLO))
		return
	}
	var failed []string
	for _, p := range r.res.PodStartup.Phases {
		if p.SLO == result.StatusFail {
			failed = append(failed, p.Phase)
		}
	}
	if len(failed) == 0 {
		return
	}
	sort.Strings(failed)
	r.res.Outcome.Reasons = append(r.res.Outcome.Reasons, fmt.Sprintf("pod startup SLO (p99 <= %v) failed in %s", podstartup.SLO, strings.Join(failed, ", ")))
	if r.res.Outcome.Result == result.ResultPass {
		r.res.Outcome.Result, r.res.Outcome.ExitCode = result.ResultSLOFailed, result.ExitSLOFailed
	}
}

// isPodRow says whether st is a pod startup row (judged by podStartupOutcome, not by the probe's verdicts).
func isPodRow(st probe.Stats) bool {
	switch st.Kind {
	case podstartup.KindStartup, podstartup.KindSchedule, podstartup.KindRun, podstartup.KindStartupServer:
		return true
	}
	return false
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
