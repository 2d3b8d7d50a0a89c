package result

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stat"
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
	// LevelTooFewSamples: the phase or the baseline has fewer than probe.MinSamplesP50 samples of this kind.
	LevelTooFewSamples = "too-few-samples"
)

// Ratio limits of the levels, inclusive. RecoveryRatio is the recovery criterion.
const (
	NominalRatio  = 1.2
	ElevatedRatio = 2.0
	DegradedRatio = 5.0
	RecoveryRatio = NominalRatio
)

// DefaultSLOErrorRate is the availability SLO of a phase: a phase x kind (and the phase's pooled "all" row)
// fails when more than this fraction of its probe requests failed. Run's --slo-error-rate sets it.
const DefaultSLOErrorRate = 0.01

// Verdict judges one phase x probe kind (kind "all" included): the SLO (availability and latency), and how far
// the latency moved from the baseline.
type Verdict struct {
	Phase string `json:"phase"`
	Kind  string `json:"kind"`
	// P50MS and P99MS are the phase's figures the verdict was made on (from probe.Stats).
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// P99LowCount is set when the phase has fewer than probe.MinSamplesP99 samples: its p99 is then the
	// maximum (noise), so neither the SLO nor the level is judged on it (see SLOQuantile and Note).
	P99LowCount bool `json:"p99_low_count,omitempty"`
	// Count, Errors and ErrorPct are the phase's probe requests, the failed ones, and their share in percent.
	Count    int     `json:"count"`
	Errors   int     `json:"errors"`
	ErrorPct float64 `json:"error_pct"`
	// SLOErrorPct is the availability SLO in percent: the verdict fails when ErrorPct is above it.
	SLOErrorPct float64 `json:"slo_error_pct"`
	// SLOThresholdMS is the p99 SLO of the kind: SLOSingleObjectMS or SLOListMS; 0 (no SLO) for "all".
	SLOThresholdMS float64 `json:"slo_threshold_ms"`
	// SLOQuantile is the percentile compared with SLOThresholdMS: "p99" when the phase has at least
	// probe.MinSamplesP99 samples, else the highest percentile the count supports ("p95", "p90", "p50"), since a
	// p99 of fewer samples is just their maximum. A lower percentile above the SLO proves the p99 is above it
	// too; one below it, with a maximum above the SLO, proves nothing about the p99, which Note then says
	// (with every sample within the SLO, the p99 is too). Empty when no percentile is
	// supported (fewer than 2 samples) or the kind has no latency SLO.
	SLOQuantile string `json:"slo_quantile,omitempty"`
	// SLOPass: at least one successful sample, ErrorPct <= SLOErrorPct, and the SLOQuantile <= SLOThresholdMS.
	SLOPass bool `json:"slo_pass"`
	// P50Ratio and P99Ratio compare with the baseline's same kind, rounded to 2 decimals (the level is
	// decided on the rounded value, so what is shown is what was judged). 1 for the baseline itself; 0
	// when there is nothing to compare (no baseline, no successful sample on either side, or fewer samples
	// on either side than the percentile needs: 2 for p50, probe.MinSamplesP99 for p99).
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// Level is one of the Level constants, decided on the worse of P50Ratio and P99Ratio (on P50Ratio alone
	// when the p99 is not supported on both sides). Empty when Verdicts was called without a baseline.
	Level string `json:"level,omitempty"`
	// Pass is the verdict: SLOPass, which a phase without any successful sample never has.
	Pass bool `json:"pass"`
	// Reason explains a failed verdict, e.g. "p99 1432.1 ms > SLO 1000 ms" or "40.0% errors (40 of 100) > SLO 1%".
	Reason string `json:"reason,omitempty"`
	// Note says what could not be judged for lack of samples, e.g. "p99 not judged: 10 samples (needs 100)".
	Note string `json:"note,omitempty"`
}

// SLOThresholdMS returns the p99 SLO of a probe kind in ms (by its SLO class, declared in the probe kinds' table),
// 0 when none applies (kind "all", unknown kinds).
func SLOThresholdMS(kind string) float64 {
	switch probe.Kind(kind).SLOClass() {
	case probe.SLOSingleObject:
		return SLOSingleObjectMS
	case probe.SLOList:
		return SLOListMS
	}
	return engineSLOThresholdMS(kind) // the native engine's rows (churn.go)
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
// sloErrorRate is the availability SLO, a fraction (DefaultSLOErrorRate): every phase, the baseline and
// recovery included, fails when a larger share of its requests failed. An empty baseline compares nothing
// and leaves Level empty (a lone `probe` phase).
func Verdicts(stats []probe.Stats, baseline string, sloErrorRate float64) []Verdict {
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
		out = append(out, judge(s, base, baseline, sloErrorRate))
	}
	return out
}

// supported returns the highest percentile the count supports, by the probe.MinSamples* rule, and its value;
// "" below probe.MinSamplesP50.
func supported(s probe.Stats) (string, float64) {
	switch {
	case s.Count >= probe.MinSamplesP99:
		return "p99", s.P99
	case s.Count >= probe.MinSamplesP95:
		return "p95", s.P95
	case s.Count >= probe.MinSamplesP90:
		return "p90", s.P90
	case s.Count >= probe.MinSamplesP50:
		return "p50", s.P50
	}
	return "", 0
}

func judge(s probe.Stats, base map[string]probe.Stats, baseline string, sloErrorRate float64) Verdict {
	v := Verdict{
		Phase:          s.Phase,
		Kind:           s.Kind,
		P50MS:          s.P50,
		P99MS:          s.P99,
		P99LowCount:    s.Count < probe.MinSamplesP99,
		Count:          s.Count,
		Errors:         s.Errors,
		ErrorPct:       s.ErrorPct,
		SLOErrorPct:    round3(100 * sloErrorRate),
		SLOThresholdMS: SLOThresholdMS(s.Kind),
	}
	var reasons, notes []string
	ok := s.Count - s.Errors
	switch {
	case s.Count == 0:
		reasons = append(reasons, "no samples")
	case ok <= 0:
		reasons = append(reasons, fmt.Sprintf("no successful samples (%s)", plural(s.Errors, "error")))
	default:
		// The exact ratio decides (ErrorPct is rounded for display).
		if float64(s.Errors) > sloErrorRate*float64(s.Count) {
			reasons = append(reasons, fmt.Sprintf("%s%% errors (%d of %d) > SLO %s%%",
				strconv.FormatFloat(s.ErrorPct, 'f', 1, 64), s.Errors, s.Count, trimFloat(v.SLOErrorPct)))
		}
		if v.SLOThresholdMS <= 0 {
			break
		}
		q, val := supported(s)
		v.SLOQuantile = q
		switch {
		case q == "":
			notes = append(notes, fmt.Sprintf("latency SLO not judged: %s (a percentile needs %d)",
				plural(s.Count, "sample"), probe.MinSamplesP50))
		case val > v.SLOThresholdMS && q == "p99":
			reasons = append(reasons, fmt.Sprintf("p99 %s ms > SLO %s ms", FormatMS(val), trimFloat(v.SLOThresholdMS)))
		case val > v.SLOThresholdMS:
			reasons = append(reasons, fmt.Sprintf("%s %s ms > SLO %s ms, so the p99 is too (only %s: no p99)",
				q, FormatMS(val), trimFloat(v.SLOThresholdMS), plural(s.Count, "sample")))
		case q != "p99" && s.Max > v.SLOThresholdMS:
			// Some samples were above the SLO, too few to say whether 1% were.
			notes = append(notes, fmt.Sprintf("p99 SLO not judged: %s (p99 needs %d); %s within it, max %s ms above it",
				plural(s.Count, "sample"), probe.MinSamplesP99, q, FormatMS(s.Max)))
		}
	}
	v.SLOPass = len(reasons) == 0
	v.Pass = v.SLOPass
	v.Reason = strings.Join(reasons, "; ")

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
		n := min(s.Count, b.Count)
		if n < probe.MinSamplesP50 {
			v.Level = LevelTooFewSamples
			notes = append(notes, fmt.Sprintf("no level: %s here, %d in the baseline (p50 needs %d)",
				plural(s.Count, "sample"), b.Count, probe.MinSamplesP50))
			break
		}
		v.P50Ratio = Ratio(s.P50, b.P50)
		if n >= probe.MinSamplesP99 {
			v.P99Ratio = Ratio(s.P99, b.P99)
		} else {
			notes = append(notes, fmt.Sprintf("level from p50 only: %s here, %d in the baseline (a p99 ratio needs %d each)",
				plural(s.Count, "sample"), b.Count, probe.MinSamplesP99))
		}
		v.Level = LevelOf(max(v.P50Ratio, v.P99Ratio))
	}
	v.Note = strings.Join(notes, "; ")
	return v
}

// Recovery says how long after teardown the latency and the error ratio came back to the baseline.
type Recovery struct {
	Recovered bool `json:"recovered"`
	// AfterMS is the end of the first qualifying window, counted from the first recovery sample (the start
	// of the recovery probe).
	AfterMS  float64 `json:"after_ms"`
	WindowMS float64 `json:"window_ms"`
	// BaselineP50MS is the reference: BaselineP50 of the baseline phase's samples.
	BaselineP50MS float64 `json:"baseline_p50_ms"`
	// BaselineErrorPct is the baseline's share of failed requests, in percent.
	BaselineErrorPct float64 `json:"baseline_error_pct"`
	// WindowP50MS is the p50 of the qualifying window, or of the best window when none qualified.
	WindowP50MS float64 `json:"window_p50_ms,omitempty"`
	// WindowErrorPct is the share of failed requests (timeouts included) of that window, in percent.
	WindowErrorPct float64 `json:"window_error_pct"`
	Reason         string  `json:"reason,omitempty"`
}

// DefaultRecoveryWindow is the window RecoveryTime uses when given none.
const DefaultRecoveryWindow = 5 * time.Second

// RecoveryAlpha is the significance level at which a recovery window's error ratio counts as above the
// baseline's (stat.ErrorRatioTest).
const RecoveryAlpha = 0.05

// RecoveryBaseline is what RecoveryTime compares each window with.
type RecoveryBaseline struct {
	P50MS  float64 // BaselineP50 of the baseline's samples
	Count  int     // the baseline's requests
	Errors int     // and how many of them failed (timeouts included)
}

// NewRecoveryBaseline summarises the baseline phase's samples for RecoveryTime.
func NewRecoveryBaseline(baseline []probe.Sample) RecoveryBaseline {
	b := RecoveryBaseline{P50MS: BaselineP50(baseline), Count: len(baseline)}
	for _, s := range baseline {
		if s.Error != "" {
			b.Errors++
		}
	}
	return b
}

func (b RecoveryBaseline) errorPct() float64 {
	if b.Count == 0 {
		return 0
	}
	return round3(100 * float64(b.Errors) / float64(b.Count))
}

// BaselineP50 is the latency reference RecoveryTime compares with: the nearest-rank p50 of the successful
// samples of every kind pooled together, 0 when there is none. Errors are left out of the latency on both
// sides, so a burst of fast failures can neither make the baseline look slow nor the recovery look fast;
// they are judged apart, as an error ratio.
func BaselineP50(baseline []probe.Sample) float64 {
	lat := successLatencies(baseline)
	slices.Sort(lat)
	return probe.Percentile(lat, 0.5)
}

// RecoveryTime finds when latency and availability came back after teardown. The recovery phase is cut into
// consecutive windows of `window` (DefaultRecoveryWindow when <= 0), from the TS of its first sample; the
// first window that qualifies gives AfterMS = the end of that window. A window qualifies when
//   - the nearest-rank p50 of its successful samples (every kind pooled, as in BaselineP50) is within
//     RecoveryRatio (1.2x, ratio rounded as in Ratio) of the baseline's, and
//   - its error ratio (every request of the window, timeouts included) is not significantly higher than the
//     baseline's (stat.ErrorRatioTest, p < RecoveryAlpha), so that a window of timeouts with a few fast
//     answers does not pass for recovered.
//
// Windows without a successful sample never qualify. Recovered is false, with a Reason, when no window
// qualifies.
func RecoveryTime(recovery []probe.Sample, base RecoveryBaseline, window time.Duration) Recovery {
	if window <= 0 {
		window = DefaultRecoveryWindow
	}
	r := Recovery{WindowMS: durationMS(window), BaselineP50MS: base.P50MS, BaselineErrorPct: base.errorPct()}
	if base.P50MS <= 0 {
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

	best, bestErrPct := math.Inf(1), 0.0
	latencyOnly := 0 // windows whose p50 was back but whose error ratio was not
	i := 0
	for k := 0; !start.Add(time.Duration(k) * window).After(last); k++ {
		end := start.Add(time.Duration(k+1) * window)
		var lat []float64
		n, errs := 0, 0
		for ; i < len(sorted) && sorted[i].TS.Before(end); i++ {
			n++
			if sorted[i].Error != "" {
				errs++
				continue
			}
			lat = append(lat, sorted[i].LatencyMS)
		}
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		p50 := probe.Percentile(lat, 0.5)
		errPct := round3(100 * float64(errs) / float64(n))
		worseErrors := float64(errs)*float64(base.Count) > float64(base.Errors)*float64(n) &&
			stat.ErrorRatioTest(base.Errors, base.Count, errs, n).P < RecoveryAlpha
		if Ratio(p50, base.P50MS) <= RecoveryRatio {
			if !worseErrors {
				r.Recovered = true
				r.AfterMS = durationMS(end.Sub(start))
				r.WindowP50MS, r.WindowErrorPct = p50, errPct
				return r
			}
			latencyOnly++
		}
		if p50 < best {
			best, bestErrPct = p50, errPct
		}
	}
	if math.IsInf(best, 1) {
		r.Reason = "no successful samples in the recovery phase"
		return r
	}
	r.WindowP50MS, r.WindowErrorPct = best, bestErrPct
	r.Reason = fmt.Sprintf("no %s window had a p50 within %sx of the baseline p50 %s ms and an error ratio no worse than the baseline's %s%% (best window: p50 %s ms, %s%% errors)",
		window, trimFloat(RecoveryRatio), FormatMS(base.P50MS), trimFloat(r.BaselineErrorPct), FormatMS(best), trimFloat(bestErrPct))
	if latencyOnly > 0 {
		r.Reason += fmt.Sprintf("; %s had the p50 back but significantly more errors than the baseline", plural(latencyOnly, "window"))
	}
	return r
}

// String is a one-line summary for the terminal.
func (r Recovery) String() string {
	if !r.Recovered {
		return "not recovered: " + r.Reason
	}
	return fmt.Sprintf("recovered after %s: p50 %s ms within %sx of the baseline p50 %s ms, %s%% errors (baseline %s%%) (%s windows)",
		msDuration(r.AfterMS), FormatMS(r.WindowP50MS), trimFloat(RecoveryRatio), FormatMS(r.BaselineP50MS),
		trimFloat(r.WindowErrorPct), trimFloat(r.BaselineErrorPct), msDuration(r.WindowMS))
}

// Overall results and their exit codes.
const (
	ResultPass      = "pass"
	ResultSLOFailed = "slo-failed"
	ResultFailed    = "failed"
	// ResultMeasured is the outcome of a probe: latency was measured, nothing was judged (no baseline, no load).
	ResultMeasured = "measured"

	ExitPass      = exitcode.OK
	ExitFailed    = exitcode.Failed
	ExitSLOFailed = exitcode.SLOFailed
)

// Outcome is the overall result of a run or probe.
type Outcome struct {
	Result   string   `json:"result"`    // ResultPass, ResultSLOFailed or ResultFailed
	ExitCode int      `json:"exit_code"` // ExitPass, ExitSLOFailed or ExitFailed
	Reasons  []string `json:"reasons,omitempty"`
}

// Decide gives the overall outcome. The run failed (exit 1) when it was interrupted, when a phase failed
// or was aborted (or has a non-zero RC; a setup sub-phase counts through its step), or when nothing was judged at all; otherwise the SLO failed
// (exit 2) when any verdict fails; otherwise it passed (exit 0). Levels (elevated, degraded, ...) and
// recovery inform but never change the outcome. Reasons lists every cause, run failures first.
func Decide(phases []Phase, verdicts []Verdict, interrupted bool) Outcome {
	var failed, slo []string
	if interrupted {
		failed = append(failed, "run interrupted")
	}
	for _, p := range phases {
		if !p.Failed() || p.Type == PhaseTypeSetup { // a setup sub-phase's failure is its step's, which says it
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

// round3 rounds to three decimals.
func round3(v float64) float64 {
	return math.Round(v*1000) / 1000
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
