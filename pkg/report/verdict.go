package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// SLO thresholds on the p99 latency (sig-scalability API call latency SLOs).
const (
	// SLOSingleObjectMS is the SLO of mutating and single-object read calls: readyz, get, mutate, watch.
	SLOSingleObjectMS = 1000.0
	// SLOListMS is the SLO of namespace- and cluster-scoped LIST calls: list-namespace, list-cluster.
	SLOListMS = 30000.0
)

// Levels of a phase compared with the baseline.
const (
	LevelNominal  = "nominal"  // worse ratio <= 1.2
	LevelElevated = "elevated" // <= 2
	LevelDegraded = "degraded" // <= 5
	LevelCritical = "critical" // > 5
	// LevelNoData: the phase has no successful sample, so there is nothing to compare.
	LevelNoData = "no-data"
	// LevelBaseline marks the baseline phase itself.
	LevelBaseline = "baseline"
	// LevelNoBaseline: the baseline has no successful sample of this kind (or no row for it).
	LevelNoBaseline = "no-baseline"
)

// Ratio limits of the levels, inclusive. RecoveryRatio is the recovery criterion.
const (
	NominalRatio  = 1.2
	ElevatedRatio = 2.0
	DegradedRatio = 5.0
	RecoveryRatio = NominalRatio
)

// Verdict judges one phase x probe kind (kind "all" included): the SLO, and how far the latency moved from
// the baseline.
type Verdict struct {
	Phase string `json:"phase"`
	Kind  string `json:"kind"`
	// P50MS and P99MS are the phase's figures the verdict was made on (from probe.Stats).
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// P99LowCount is set when the phase has fewer than probe.MinSamplesP99 samples: its p99 is then the
	// maximum, so the SLO was judged on the slowest sample (stricter, never laxer).
	P99LowCount bool `json:"p99_low_count,omitempty"`
	// SLOThresholdMS is the p99 SLO of the kind: SLOSingleObjectMS or SLOListMS; 0 (no SLO) for "all".
	SLOThresholdMS float64 `json:"slo_threshold_ms"`
	// SLOPass: at least one successful sample and p99 <= SLOThresholdMS (any p99 when there is no SLO).
	SLOPass bool `json:"slo_pass"`
	// P50Ratio and P99Ratio compare with the baseline's same kind, rounded to 2 decimals (the level is
	// decided on the rounded value, so what is shown is what was judged). 1 for the baseline itself; 0
	// when there is nothing to compare (no baseline, or no successful sample on either side).
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// Level is one of the Level constants, decided on the worse of P50Ratio and P99Ratio. Empty when
	// Verdicts was called without a baseline (`kubectl pyrometer probe`).
	Level string `json:"level,omitempty"`
	// Pass is the verdict: SLOPass, which a phase without any successful sample never has.
	Pass bool `json:"pass"`
	// Reason explains a failed verdict, e.g. "p99 1432.1 ms > SLO 1000 ms".
	Reason string `json:"reason,omitempty"`
}

// SLOThresholdMS returns the p99 SLO of a probe kind in ms, 0 when none applies (kind "all", unknown kinds).
func SLOThresholdMS(kind string) float64 {
	switch probe.Kind(kind) {
	case probe.KindReadyz, probe.KindGet, probe.KindMutate, probe.KindWatch:
		return SLOSingleObjectMS
	case probe.KindListNamespace, probe.KindListCluster:
		return SLOListMS
	}
	return 0
}

// LevelOf classifies a ratio to the baseline: nominal (<= 1.2), elevated (<= 2), degraded (<= 5) or
// critical. Callers pass ratios rounded with Ratio.
func LevelOf(ratio float64) string {
	switch {
	case ratio <= NominalRatio:
		return LevelNominal
	case ratio <= ElevatedRatio:
		return LevelElevated
	case ratio <= DegradedRatio:
		return LevelDegraded
	}
	return LevelCritical
}

// Ratio returns v/base rounded to 2 decimals, or 0 when base is not positive.
func Ratio(v, base float64) float64 {
	if base <= 0 {
		return 0
	}
	return math.Round(v/base*100) / 100
}

// Verdicts judges every row of stats (each with Phase set, e.g. probe.ByKind of each phase's samples,
// concatenated) against the rows of the baseline phase with the same kind, keeping the order of stats.
// An empty baseline compares nothing and leaves Level empty (a lone `probe` phase).
func Verdicts(stats []probe.Stats, baseline string) []Verdict {
	base := map[string]probe.Stats{}
	if baseline != "" {
		for _, s := range stats {
			if s.Phase == baseline {
				base[s.Kind] = s
			}
		}
	}
	out := make([]Verdict, 0, len(stats))
	for _, s := range stats {
		out = append(out, judge(s, base, baseline))
	}
	return out
}

func judge(s probe.Stats, base map[string]probe.Stats, baseline string) Verdict {
	v := Verdict{
		Phase:          s.Phase,
		Kind:           s.Kind,
		P50MS:          s.P50,
		P99MS:          s.P99,
		P99LowCount:    slices.Contains(s.LowCount, "p99"),
		SLOThresholdMS: SLOThresholdMS(s.Kind),
	}
	ok := s.Count - s.Errors
	switch {
	case s.Count == 0:
		v.Reason = "no samples"
	case ok <= 0:
		v.Reason = fmt.Sprintf("no successful samples (%s)", plural(s.Errors, "error"))
	case v.SLOThresholdMS > 0 && s.P99 > v.SLOThresholdMS:
		v.Reason = fmt.Sprintf("p99 %s ms > SLO %s ms", FormatMS(s.P99), trimFloat(v.SLOThresholdMS))
		if v.P99LowCount {
			v.Reason += fmt.Sprintf(" (only %s: p99 is their maximum)", plural(s.Count, "sample"))
		}
	default:
		v.SLOPass = true
	}
	v.Pass = v.SLOPass

	switch {
	case ok <= 0:
		v.Level = LevelNoData
	case baseline == "":
	case s.Phase == baseline:
		v.Level, v.P50Ratio, v.P99Ratio = LevelBaseline, 1, 1
	default:
		b, found := base[s.Kind]
		if !found || b.Count-b.Errors <= 0 || b.P50 <= 0 || b.P99 <= 0 {
			v.Level = LevelNoBaseline
			break
		}
		v.P50Ratio, v.P99Ratio = Ratio(s.P50, b.P50), Ratio(s.P99, b.P99)
		v.Level = LevelOf(max(v.P50Ratio, v.P99Ratio))
	}
	return v
}

// Recovery says how long after teardown the latency came back to the baseline.
type Recovery struct {
	Recovered bool `json:"recovered"`
	// AfterMS is the end of the first qualifying window, counted from the first recovery sample (the start
	// of the recovery probe).
	AfterMS  float64 `json:"after_ms"`
	WindowMS float64 `json:"window_ms"`
	// BaselineP50MS is the reference: BaselineP50 of the baseline phase's samples.
	BaselineP50MS float64 `json:"baseline_p50_ms"`
	// WindowP50MS is the p50 of the qualifying window, or of the best window when none qualified.
	WindowP50MS float64 `json:"window_p50_ms,omitempty"`
	Reason      string  `json:"reason,omitempty"`
}

// DefaultRecoveryWindow is the window RecoveryTime uses when given none.
const DefaultRecoveryWindow = 5 * time.Second

// BaselineP50 is the reference RecoveryTime compares with: the nearest-rank p50 of the successful samples
// of every kind pooled together, 0 when there is none. Errors are left out on both sides, so a burst of
// fast failures can neither make the baseline look slow nor the recovery look fast.
func BaselineP50(baseline []probe.Sample) float64 {
	lat := successLatencies(baseline)
	slices.Sort(lat)
	return probe.Percentile(lat, 0.5)
}

// RecoveryTime finds when latency came back after teardown. The recovery phase is cut into consecutive
// windows of `window` (DefaultRecoveryWindow when <= 0), from the TS of its first sample; the first window
// whose successful samples (every kind pooled, as in BaselineP50) have a nearest-rank p50 within
// RecoveryRatio (1.2x, ratio rounded as in Ratio) of baselineP50MS gives AfterMS = the end of that window.
// Windows without a successful sample never qualify. Recovered is false, with a Reason, when no window
// qualifies.
func RecoveryTime(recovery []probe.Sample, baselineP50MS float64, window time.Duration) Recovery {
	if window <= 0 {
		window = DefaultRecoveryWindow
	}
	r := Recovery{WindowMS: durationMS(window), BaselineP50MS: baselineP50MS}
	if baselineP50MS <= 0 {
		r.Reason = "the baseline has no successful samples to compare with"
		return r
	}
	if len(recovery) == 0 {
		r.Reason = "no recovery samples"
		return r
	}
	sorted := slices.Clone(recovery)
	slices.SortStableFunc(sorted, func(a, b probe.Sample) int { return a.TS.Compare(b.TS) })
	start, last := sorted[0].TS, sorted[len(sorted)-1].TS

	best := math.Inf(1)
	i := 0
	for k := 0; !start.Add(time.Duration(k) * window).After(last); k++ {
		end := start.Add(time.Duration(k+1) * window)
		var lat []float64
		for ; i < len(sorted) && sorted[i].TS.Before(end); i++ {
			if sorted[i].Error == "" {
				lat = append(lat, sorted[i].LatencyMS)
			}
		}
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		p50 := probe.Percentile(lat, 0.5)
		if Ratio(p50, baselineP50MS) <= RecoveryRatio {
			r.Recovered = true
			r.AfterMS = durationMS(end.Sub(start))
			r.WindowP50MS = p50
			return r
		}
		best = min(best, p50)
	}
	if math.IsInf(best, 1) {
		r.Reason = "no successful samples in the recovery phase"
		return r
	}
	r.WindowP50MS = best
	r.Reason = fmt.Sprintf("no %s window had a p50 within %sx of the baseline p50 %s ms (best window: %s ms)",
		window, trimFloat(RecoveryRatio), FormatMS(baselineP50MS), FormatMS(best))
	return r
}

// String is a one-line summary for the terminal.
func (r Recovery) String() string {
	if !r.Recovered {
		return "not recovered: " + r.Reason
	}
	return fmt.Sprintf("recovered after %s: p50 %s ms within %sx of the baseline p50 %s ms (%s windows)",
		msDuration(r.AfterMS), FormatMS(r.WindowP50MS), trimFloat(RecoveryRatio), FormatMS(r.BaselineP50MS),
		msDuration(r.WindowMS))
}

// Overall results and their exit codes.
const (
	ResultPass      = "pass"
	ResultSLOFailed = "slo-failed"
	ResultFailed    = "failed"
	// ResultMeasured is the outcome of a probe: latency was measured, nothing was judged (no baseline, no load).
	ResultMeasured = "measured"

	ExitPass      = 0
	ExitFailed    = 1
	ExitSLOFailed = 2
)

// Outcome is the overall result of a run or probe.
type Outcome struct {
	Result   string   `json:"result"`    // ResultPass, ResultSLOFailed or ResultFailed
	ExitCode int      `json:"exit_code"` // ExitPass, ExitSLOFailed or ExitFailed
	Reasons  []string `json:"reasons,omitempty"`
}

// Decide gives the overall outcome. The run failed (exit 1) when it was interrupted, when a phase failed
// or was aborted (or has a non-zero RC), or when nothing was judged at all; otherwise the SLO failed
// (exit 2) when any verdict fails; otherwise it passed (exit 0). Levels (elevated, degraded, ...) and
// recovery inform but never change the outcome. Reasons lists every cause, run failures first.
func Decide(phases []Phase, verdicts []Verdict, interrupted bool) Outcome {
	var failed, slo []string
	if interrupted {
		failed = append(failed, "run interrupted")
	}
	for _, p := range phases {
		if !p.Failed() {
			continue
		}
		status := p.Status
		if status == StatusPass || status == "" {
			status = StatusFail
		}
		msg := fmt.Sprintf("phase %s: %s (rc %d)", p.Name, status, p.RC)
		if p.Error != "" {
			msg += ": " + p.Error
		}
		failed = append(failed, msg)
	}
	if len(verdicts) == 0 {
		failed = append(failed, "no latency was measured")
	}
	for _, v := range verdicts {
		if !v.Pass {
			slo = append(slo, fmt.Sprintf("%s/%s: %s", v.Phase, v.Kind, v.Reason))
		}
	}
	switch {
	case len(failed) > 0:
		return Outcome{Result: ResultFailed, ExitCode: ExitFailed, Reasons: slices.Concat(failed, slo)}
	case len(slo) > 0:
		return Outcome{Result: ResultSLOFailed, ExitCode: ExitSLOFailed, Reasons: slo}
	}
	return Outcome{Result: ResultPass, ExitCode: ExitPass}
}

func successLatencies(samples []probe.Sample) []float64 {
	var lat []float64
	for _, s := range samples {
		if s.Error == "" {
			lat = append(lat, s.LatencyMS)
		}
	}
	return lat
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func durationMS(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

func msDuration(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).String()
}

// trimFloat prints a float without trailing zeros: 1000, 1.2.
func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
