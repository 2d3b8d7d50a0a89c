package knee

import (
	"context"
	"fmt"
	"math"
)

// SustainableShare is the share of the knee reported as sustainable: 0.8 x knee. The knee is the highest rate that
// passed one fixed-length step; 20% headroom covers what one step does not see: the precision of the search (up to
// --precision below the true edge), the step-to-step noise of a shared control plane, bursts above the mean rate
// (Poisson arrivals) and the rest of the cluster's traffic, which the test did not carry.
const SustainableShare = 0.8

// Driver runs the measurements of a search: pkg/run against a cluster, a simulated server in the tests.
type Driver interface {
	// Baseline measures the control plane without load (the probe only).
	Baseline(ctx context.Context) (Measurement, error)
	// Step runs step n (1-based) at rate writes per second for the step's duration while the probe measures, then
	// stops the load and removes its objects. An error ends the search (the step could not run, or ctx ended).
	Step(ctx context.Context, n int, rate float64, phase string) (Measurement, error)
	// Cooldown waits after step n until the control plane is back at its baseline (bounded).
	Cooldown(ctx context.Context, n int) (Cooldown, error)
}

// Cooldown is what the wait after a step saw.
type Cooldown struct {
	Seconds       float64 `json:"seconds"`
	Recovered     bool    `json:"recovered"`
	P50MS         float64 `json:"p50_ms"`          // the probe's p50 (successful samples, every kind) of the last window
	BaselineP50MS float64 `json:"baseline_p50_ms"` // the reference
	Note          string  `json:"note,omitempty"`
}

// Config is a search.
type Config struct {
	Start, Max, Precision float64
	Criteria              Criteria
	Log                   func(format string, a ...any) // progress; nil: none
	// Judged receives each step's verdict as soon as it is judged, before the step's line is logged and before its
	// cool-down (the caller records the step with its verdict); nil: none.
	Judged func(n int, v Verdict)
}

// Step is one row of the step table.
type Step struct {
	N             int       `json:"n"`
	Phase         string    `json:"phase"` // PhaseExponential, PhaseBisection or PhaseConfirm
	Rate          float64   `json:"rate"`  // writes per second asked for
	Seconds       float64   `json:"seconds"`
	Requested     int       `json:"requested"`
	Delivered     int       `json:"delivered"`
	RequestedRate float64   `json:"requested_rate"`
	DeliveredRate float64   `json:"delivered_rate"`
	Verdict       Verdict   `json:"verdict"`
	Cooldown      *Cooldown `json:"cooldown,omitempty"`
}

// Result is the answer of a search.
type Result struct {
	Status    string  `json:"status"` // Status* of search.go
	Start     float64 `json:"start_rate"`
	Max       float64 `json:"max_rate"`
	Precision float64 `json:"precision"`
	MaxSteps  int     `json:"max_steps"`
	// Knee is the highest rate that passed (confirmed when Status is StatusFound; at least this with
	// StatusAboveMax); 0 when none did. Sustainable is SustainableShare of it.
	Knee        float64 `json:"knee"`
	Sustainable float64 `json:"sustainable"`
	// FailedAt is the lowest rate that failed above the knee, Criterion and Reason why (empty when none failed).
	FailedAt  float64 `json:"failed_at,omitempty"`
	Criterion string  `json:"criterion,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Baseline  Verdict `json:"baseline"`
	Steps     []Step  `json:"steps"`
	// Findings are what the operator should know beside the knee: a control plane that did not recover after a
	// step, a step that could not run.
	Findings []string `json:"findings,omitempty"`
	Summary  string   `json:"summary"` // the answer in one line
}

// Find runs the search against d: the baseline (a baseline that fails its SLOs is doomed: no search), then the steps
// Search asks for, judged by Judge, with a cool-down between two steps.
func Find(ctx context.Context, cfg Config, d Driver) Result {
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	res := Result{Start: cfg.Start, Max: cfg.Max, Precision: cfg.Precision, MaxSteps: MaxSteps(cfg.Start, cfg.Max, cfg.Precision)}
	s, err := NewSearch(cfg.Start, cfg.Max, cfg.Precision)
	if err != nil {
		res.Status, res.Summary = StatusInterrupted, err.Error()
		return res
	}
	bm, err := d.Baseline(ctx)
	if err != nil {
		res.Status = StatusInterrupted
		res.Findings = append(res.Findings, "baseline: "+err.Error())
		res.Summary = "no answer: the baseline could not be measured: " + err.Error()
		return res
	}
	res.Baseline = Judge(bm, cfg.Criteria)
	if res.Baseline.Verdict != Pass {
		res.Status, res.Criterion, res.Reason = StatusDoomed, res.Baseline.Criterion, res.Baseline.Reason()
		res.Summary = "doomed: the control plane fails its SLOs without any load: " + res.Baseline.Reason()
		return res
	}
	logf("baseline: pass")
	for n := 1; ; n++ {
		rate, phase, ok := s.Next()
		if !ok {
			break
		}
		if ctx.Err() != nil {
			s.finish(StatusInterrupted)
			break
		}
		m, err := d.Step(ctx, n, rate, phase)
		if err != nil {
			res.Findings = append(res.Findings, fmt.Sprintf("step %d at %s writes/s: %v", n, FormatRate(rate), err))
			s.finish(StatusInterrupted)
			break
		}
		v := Judge(m, cfg.Criteria)
		if cfg.Judged != nil {
			cfg.Judged(n, v)
		}
		st := Step{N: n, Phase: phase, Rate: rate, Seconds: m.Seconds, Requested: m.Requested, Delivered: m.Delivered,
			RequestedRate: m.RequestedRate, DeliveredRate: m.DeliveredRate, Verdict: v}
		logf("step %d (%s) at %s writes/s: %s%s", n, phase, FormatRate(rate), v.Verdict, suffix(v.Reason()))
		if err := s.Record(rate, v.Verdict); err != nil { // a bug: stop rather than loop
			res.Findings = append(res.Findings, "internal error: "+err.Error())
			s.finish(StatusInterrupted)
		}
		if _, _, more := s.Next(); more {
			cd, err := d.Cooldown(ctx, n)
			st.Cooldown = &cd
			if err == nil && !cd.Recovered {
				res.Findings = append(res.Findings, fmt.Sprintf("after step %d at %s writes/s the control plane did not recover within %.0fs: %s",
					n, FormatRate(rate), cd.Seconds, cd.Note))
			}
			if err != nil {
				res.Findings = append(res.Findings, fmt.Sprintf("cool-down after step %d: %v", n, err))
				s.finish(StatusInterrupted)
			}
		}
		res.Steps = append(res.Steps, st)
	}
	res.Status = s.Status()
	res.answer()
	return res
}

// answer fills the knee, the failure above it and the summary from the steps.
func (res *Result) answer() {
	// The knee is the highest passing rate below the lowest failing one: a rate that passed once and failed its
	// confirmation is above it.
	lowestFail := math.Inf(1)
	for _, st := range res.Steps {
		if st.Verdict.Verdict == Fail && st.Rate < lowestFail {
			lowestFail = st.Rate
		}
	}
	best := 0.0
	for _, st := range res.Steps {
		if st.Verdict.Verdict == Pass && st.Rate > best && st.Rate < lowestFail {
			best = st.Rate
		}
	}
	// the lowest rate above the knee that failed, and why
	for _, st := range res.Steps {
		if st.Verdict.Verdict == Fail && st.Rate > best && (res.FailedAt == 0 || st.Rate < res.FailedAt) {
			res.FailedAt, res.Criterion, res.Reason = st.Rate, st.Verdict.Criterion, st.Verdict.Reason()
		}
	}
	switch res.Status {
	case StatusFound, StatusUnconfirmed, StatusAboveMax:
		res.Knee = best
		res.Sustainable = roundRate(SustainableShare * best)
	}
	switch res.Status {
	case StatusFound:
		res.Summary = fmt.Sprintf("knee %s writes/s (confirmed), sustainable %s writes/s (0.8 x knee); above it, at %s writes/s, %s failed: %s",
			FormatRate(res.Knee), FormatRate(res.Sustainable), FormatRate(res.FailedAt), res.Criterion, res.Reason)
	case StatusUnconfirmed:
		res.Summary = fmt.Sprintf("knee %s writes/s, unconfirmed (the confirmation step failed %d times: the control plane is noisy at this rate), sustainable %s writes/s; above it, at %s writes/s, %s failed: %s",
			FormatRate(res.Knee), MaxConfirmations, FormatRate(res.Sustainable), FormatRate(res.FailedAt), res.Criterion, res.Reason)
	case StatusAboveMax:
		res.Summary = fmt.Sprintf("no step failed up to --max-rate: the knee is at least %s writes/s (sustainable at least %s writes/s); raise --max-rate to find it",
			FormatRate(res.Knee), FormatRate(res.Sustainable))
	case StatusBelowStart:
		if len(res.Steps) > 1 { // the start rate passed, then failed its confirmation
			res.Summary = fmt.Sprintf("--start-rate %s writes/s passed once, then failed its confirmation (%s: %s): no rate passed twice, the knee is at or below it; lower --start-rate",
				FormatRate(res.Start), res.Criterion, res.Reason)
			break
		}
		res.Summary = fmt.Sprintf("the first step, at --start-rate %s writes/s, already failed (%s: %s): the knee is below it; lower --start-rate",
			FormatRate(res.Start), res.Criterion, res.Reason)
	case StatusInconclusive:
		last := res.Steps[len(res.Steps)-1]
		res.Summary = fmt.Sprintf("inconclusive: at %s writes/s %s", FormatRate(last.Rate), last.Verdict.Reason())
		if best > 0 {
			res.Summary += fmt.Sprintf(" (every rate up to %s writes/s that was delivered passed; that is no knee: the server's limit was not reached)", FormatRate(best))
		}
	default:
		res.Status = StatusInterrupted
		res.Summary = "interrupted before the search ended: no knee"
		if best > 0 {
			res.Summary += fmt.Sprintf(" (the highest rate that passed so far: %s writes/s)", FormatRate(best))
		}
	}
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// FormatRate prints a rate without needless decimals: 160, 226, 12.5.
func FormatRate(r float64) string {
	if r == math.Trunc(r) {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}
