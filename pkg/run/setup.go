package run

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// A ramp step whose modes kube-burner creates and waits for (cpu, mem, disk, network, density) has two sub-phases,
// both probed: setup (its namespace, objects created and started: kube-burner's part, tens of seconds) and window
// (--step-duration, under the running load). The setup is its own phase, "<step>-setup" of type setup, right
// before the step's phase, which is the window: samples, rows (local and @cluster), server-side rows and the probe's
// lag per sub-phase. Verdicts judge the window (the SLO and the level against the baseline); the setup is reported,
// not judged (its rows inform, the step's status carries a failed setup). A step of control-plane modes only
// (churn, api) has no setup: its window opens milliseconds after the step starts.

// SetupSuffix names a ramp step's setup sub-phase: ramp-step-1-setup.
const SetupSuffix = "-setup"

// SetupPhase is the name of step's setup sub-phase.
func SetupPhase(step string) string { return step + SetupSuffix }

// setupBound bounds the setup probe (it stops earlier, when the setup ends): the namespace, kube-burner's
// create-and-wait (at most --step-timeout) and a minute of margin.
func (r *Runner) setupBound() time.Duration { return 2*r.cfg.StepTimeout + time.Minute }

// stepHasSetup says whether a step creates objects with kube-burner and waits for them (a mode without a native
// engine whose job is not spread over the window: modes.Selection.StepJobs' ready jobs).
func (r *Runner) stepHasSetup() bool {
	for _, m := range r.cfg.Selection.Modes {
		if m.Engine == "" && !m.Job.Spread {
			return true
		}
	}
	return false
}

// setupProbe is one step's setup sub-phase in progress.
type setupProbe struct {
	r    *Runner
	ph   result.Phase
	stop context.CancelFunc
	done chan error
	once sync.Once
}

// startSetup starts probing step's setup now (the local probe, when it runs; the in-cluster probe's samples of this
// time are attributed to it); nil when the step has nothing to set up. end (or finish) stops it.
func (r *Runner) startSetup(ctx context.Context, step string, prober *probe.Prober, local bool) *setupProbe {
	if !r.stepHasSetup() {
		return nil
	}
	name := SetupPhase(step)
	s := &setupProbe{r: r, ph: result.Phase{Name: name, Type: result.PhaseTypeSetup, Start: time.Now(), Details: map[string]string{"step": step}}}
	sctx, cancel := context.WithCancel(ctx)
	s.stop, s.done = cancel, make(chan error, 1)
	r.clock.open(name, s.ph.Start, r.setupBound())
	r.logf("%s: probing while the step's load is created and started", name)
	if local && prober != nil {
		go func() {
			var err error
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("internal error (panic in the setup probe: %v)", p)
				}
				s.done <- err
			}()
			err = prober.Run(sctx, name, r.setupBound(), r.sink)
		}()
	} else {
		s.done <- nil
	}
	return s
}

// end ends the setup sub-phase: the server-side rows up to now are the setup's (mark), the probe stops (its requests
// in flight finish) and the phase is recorded, with status (and error, when the step failed during its setup). It
// returns when the setup ended, the time the step's window may start from. Only the first call counts.
func (s *setupProbe) end(status, errMsg string) time.Time {
	if s == nil {
		return time.Time{}
	}
	s.once.Do(func() {
		r := s.r
		if r.serverMark != nil {
			r.serverMark(s.ph.Name)
		}
		s.stop()
		<-s.done
		s.ph.End = time.Now()
		r.clock.close(s.ph.Name, s.ph.End)
		s.ph.Status, s.ph.Error = status, errMsg
		if status != result.StatusPass {
			s.ph.RC = 1
		}
		r.addPhase(s.ph)
	})
	return s.ph.End
}

// failed ends the setup of a step that failed (with the step's status and error when it failed during the setup)
// and makes the step's phase its window: it starts when the setup ended, empty when the step failed in its setup,
// so that the two phases never overlap.
func (s *setupProbe) failed(step *result.Phase) {
	if s == nil {
		return
	}
	end := s.end(step.Status, step.Error)
	step.Start = end
	if step.End.Before(end) {
		step.End = end
	}
}

// finish ends the setup when the step ended during it without failed (a panic), as aborted; it does nothing when
// end was called.
func (s *setupProbe) finish(step *result.Phase) {
	if s == nil {
		return
	}
	status := step.Status
	if status == "" || status == result.StatusPass {
		status = result.StatusAborted // the step returned without a status: a panic
	}
	s.end(status, step.Error)
}

// withoutSetup leaves the rows of setup sub-phases (local and @cluster) out of stats: the verdicts judge windows.
func (r *Runner) withoutSetup(stats []probe.Stats) []probe.Stats {
	setup := map[string]bool{}
	for _, ph := range r.res.Phases {
		if ph.Type == result.PhaseTypeSetup {
			setup[ph.Name] = true
		}
	}
	if len(setup) == 0 {
		return stats
	}
	var out []probe.Stats
	for _, st := range stats {
		if !setup[strings.TrimSuffix(st.Phase, "@cluster")] {
			out = append(out, st)
		}
	}
	return out
}
