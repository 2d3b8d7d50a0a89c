package knee

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Writes is the kind of the load's write samples (creates, updates, deletes pooled): one row, judged like a probe
// kind against the mutating SLO.
const Writes = "writes"

// Sample is one request of a step: a probe sample (Kind is the probe kind) or a write of the load (Kind Writes).
type Sample struct {
	Kind      string
	At        float64 // seconds from the step's start to the request's intended start
	MS        float64 // latency
	Err       bool
	Throttled bool // answered 429 (API Priority and Fairness), or retried by the client after one
}

// Measurement is what one step (or the baseline) measured.
type Measurement struct {
	Rate    float64 // writes per second asked for (0: the baseline)
	Seconds float64 // the step's measured window
	Samples []Sample
	// Of the load's writes due in the window: requested by the schedule, delivered (answered with success in time).
	Requested, Delivered         int
	RequestedRate, DeliveredRate float64
	// Limit and LimitReason: which side the load generator named when the load was not delivered ("client" or
	// "server", pkg/churn's verdict).
	Limit, LimitReason string
	Breaker            string // the breaker stopped the step early, why
}

// Criteria are what a step is held to.
type Criteria struct {
	// SLO is the latency SLO per kind in ms (Writes included), judged on the p99 (or the highest percentile the
	// count supports); a kind without an entry is reported, not judged.
	SLO map[string]float64
	// MaxErrorRatio and MaxThrottleRatio are the ceilings of the failed and of the throttled (429) share of the
	// probe's requests and of the writes; a step fails when the share is significantly above one (one-sided
	// binomial test, p < Alpha).
	MaxErrorRatio, MaxThrottleRatio float64
	// MinDelivered is the share of the requested writes that must be delivered (0.95): below it the step is
	// inconclusive when the client was the limit, failed when the server was.
	MinDelivered float64
	// Alpha is the significance level of the ratio tests and of the trend (default 0.01 for the trend, 0.05 for the
	// ratios when zero).
	TrendAlpha, RatioAlpha float64
}

// Minimum samples for a percentile to be more than the maximum (nearest rank): as pkg/probe's MinSamples*. A
// percentile is judged only with at least its count; with fewer samples the highest supported one is judged
// instead (above the SLO it proves the p99 above it too), and below 2 samples nothing is.
const (
	MinSamplesP50 = 2
	MinSamplesP90 = 10
	MinSamplesP95 = 20
	MinSamplesP99 = 100
)

// Criteria names, in the order a failing step names them.
const (
	CriterionBreaker    = "breaker"
	CriterionDelivery   = "delivery"
	CriterionLatency    = "latency"
	CriterionErrors     = "errors"
	CriterionThrottling = "throttling"
	CriterionTrend      = "trend"
)

// KindStats is one row of a step: a probe kind, the pooled probe (kind "probe") or the writes.
type KindStats struct {
	Kind      string  `json:"kind"`
	Count     int     `json:"count"`
	Errors    int     `json:"errors"`
	Throttled int     `json:"throttled"`
	P50MS     float64 `json:"p50_ms"`
	P90MS     float64 `json:"p90_ms"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	SLOMS     float64 `json:"slo_ms,omitempty"`
	// Quantile is the percentile compared with the SLO: p99 with at least MinSamplesP99 samples, else the highest
	// the count supports; "" when none is (or no SLO applies).
	Quantile string `json:"quantile,omitempty"`
}

// Trend is the test of latency rising through a step (the writes' successful latencies).
type Trend struct {
	Windows int     `json:"windows"`  // windows with enough samples
	WindowS float64 `json:"window_s"` // their width
	S       int     `json:"s"`        // Mann-Kendall statistic of the window medians
	P       float64 `json:"p"`        // one-sided p-value of a rising trend
	SlopeMS float64 `json:"slope_ms"` // Theil-Sen slope, ms per second
	RiseMS  float64 `json:"rise_ms"`  // slope x the step's duration
	LevelMS float64 `json:"level_ms"` // median of the window medians
	EndMS   float64 `json:"end_ms"`   // the fitted latency at the step's end
	Rising  bool    `json:"rising"`   // significant, material and high enough: the step fails
	Note    string  `json:"note,omitempty"`
}

// Verdict is the judgement of one step.
type Verdict struct {
	Verdict   string      `json:"verdict"` // Pass, Fail or Inconclusive
	Criterion string      `json:"criterion,omitempty"`
	Reasons   []string    `json:"reasons,omitempty"`
	Notes     []string    `json:"notes,omitempty"`
	Kinds     []KindStats `json:"kinds"`
	Trend     *Trend      `json:"trend,omitempty"`
	// DeliveredRatio is Delivered/Requested of the writes (1 without load).
	DeliveredRatio float64 `json:"delivered_ratio"`
}

// Reason is the verdict's reasons in one line.
func (v Verdict) Reason() string { return strings.Join(v.Reasons, "; ") }

// Probe is the row of every probe kind pooled (the error and throttle ratios are judged on it and on Writes).
const Probe = "probe"

// Judge judges one step (or the baseline: a Measurement without writes) against c.
func Judge(m Measurement, c Criteria) Verdict {
	if c.MinDelivered == 0 {
		c.MinDelivered = 0.95
	}
	if c.TrendAlpha == 0 {
		c.TrendAlpha = 0.01
	}
	if c.RatioAlpha == 0 {
		c.RatioAlpha = 0.05
	}
	v := Verdict{Verdict: Pass, DeliveredRatio: 1}
	fail := func(criterion, reason string) {
		if v.Criterion == "" {
			v.Criterion = criterion
		}
		v.Verdict = Fail
		v.Reasons = append(v.Reasons, reason)
	}
	if m.Requested > 0 {
		v.DeliveredRatio = float64(m.Delivered) / float64(m.Requested)
	}
	// rows: every kind in order of first appearance, then the pooled probe
	groups := map[string][]Sample{}
	var order []string
	for _, s := range m.Samples {
		if _, ok := groups[s.Kind]; !ok {
			order = append(order, s.Kind)
		}
		groups[s.Kind] = append(groups[s.Kind], s)
		if s.Kind != Writes {
			groups[Probe] = append(groups[Probe], s)
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { // writes last
		return boolInt(a == Writes) - boolInt(b == Writes)
	})
	if _, ok := groups[Probe]; ok {
		order = append(order, Probe)
	}
	if m.Breaker != "" {
		fail(CriterionBreaker, "breaker: "+m.Breaker)
	}
	if m.Requested > 0 && v.DeliveredRatio < c.MinDelivered {
		what := fmt.Sprintf("%.2f of the requested writes delivered (%.1f of %.1f writes/s)", v.DeliveredRatio, m.DeliveredRate, m.RequestedRate)
		if m.Limit != "server" {
			v.Verdict, v.Criterion = Inconclusive, CriterionDelivery
			v.Reasons = []string{fmt.Sprintf("the client was the limit: %s: %s; the server was not tested at this rate: "+
				"generate the load from more machines (distributed load: --load-from cluster --workers N)", what, m.LimitReason)}
		} else {
			fail(CriterionDelivery, fmt.Sprintf("load not delivered, the server was the limit: %s: %s", what, m.LimitReason))
		}
	}
	var latency, errs, throttled []string
	for _, k := range order {
		st := stats(k, groups[k], c.SLO[k])
		if k != Probe {
			if r, n := judgeLatency(&st); r != "" {
				latency = append(latency, r)
			} else if n != "" {
				v.Notes = append(v.Notes, n)
			}
		}
		v.Kinds = append(v.Kinds, st)
		if k != Probe && k != Writes {
			continue
		}
		if st.Count > 0 && st.Errors == st.Count {
			errs = append(errs, fmt.Sprintf("%s: every request failed (%d)", k, st.Count))
			continue
		}
		if r, n := judgeRatio(k, "failed", st.Errors, st.Count, c.MaxErrorRatio, c.RatioAlpha); r != "" {
			errs = append(errs, r)
		} else if n != "" {
			v.Notes = append(v.Notes, n)
		}
		if r, n := judgeRatio(k, "throttled (429)", st.Throttled, st.Count, c.MaxThrottleRatio, c.RatioAlpha); r != "" {
			throttled = append(throttled, r)
		} else if n != "" {
			v.Notes = append(v.Notes, n)
		}
	}
	if v.Verdict == Inconclusive {
		return v // the step says nothing about the server
	}
	for _, r := range latency {
		fail(CriterionLatency, r)
	}
	for _, r := range errs {
		fail(CriterionErrors, r)
	}
	for _, r := range throttled {
		fail(CriterionThrottling, r)
	}
	if w := groups[Writes]; len(w) > 0 {
		t := trend(w, m.Seconds, c.SLO[Writes], c.TrendAlpha)
		v.Trend = &t
		if t.Rising {
			fail(CriterionTrend, fmt.Sprintf("write latency rose through the step: %s ms to %s ms fitted (Theil-Sen %+.1f ms/s, Mann-Kendall p %.2g < %g)",
				fmtMS(math.Max(0, t.EndMS-t.RiseMS)), fmtMS(t.EndMS), t.SlopeMS, t.P, c.TrendAlpha))
		} else if t.Note != "" {
			v.Notes = append(v.Notes, t.Note)
		}
	}
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stats summarises one row (nearest-rank percentiles of every sample, errors included, as pkg/probe does).
func stats(kind string, ss []Sample, slo float64) KindStats {
	st := KindStats{Kind: kind, Count: len(ss), SLOMS: slo}
	lat := make([]float64, 0, len(ss))
	for _, s := range ss {
		lat = append(lat, s.MS)
		if s.Err {
			st.Errors++
		}
		if s.Throttled {
			st.Throttled++
		}
	}
	sort.Float64s(lat)
	st.P50MS, st.P90MS, st.P95MS, st.P99MS = percentile(lat, 0.5), percentile(lat, 0.9), percentile(lat, 0.95), percentile(lat, 0.99)
	if len(lat) > 0 {
		st.MaxMS = lat[len(lat)-1]
	}
	return st
}

// percentile is the nearest-rank percentile of sorted values (0 when empty).
func percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	r := int(math.Ceil(p*float64(n) - 1e-9))
	return sorted[min(max(r, 1), n)-1]
}

// judgeLatency compares the highest percentile the count supports with the SLO; it returns a failure reason or a
// note of what could not be judged.
func judgeLatency(st *KindStats) (reason, note string) {
	if st.SLOMS <= 0 {
		return "", ""
	}
	var val float64
	switch {
	case st.Count >= MinSamplesP99:
		st.Quantile, val = "p99", st.P99MS
	case st.Count >= MinSamplesP95:
		st.Quantile, val = "p95", st.P95MS
	case st.Count >= MinSamplesP90:
		st.Quantile, val = "p90", st.P90MS
	case st.Count >= MinSamplesP50:
		st.Quantile, val = "p50", st.P50MS
	default:
		return "", fmt.Sprintf("%s: latency not judged: too few samples (%d; a percentile needs %d)", st.Kind, st.Count, MinSamplesP50)
	}
	switch {
	case val > st.SLOMS && st.Quantile == "p99":
		return fmt.Sprintf("%s: p99 %s ms > SLO %s ms", st.Kind, fmtMS(val), fmtMS(st.SLOMS)), ""
	case val > st.SLOMS:
		return fmt.Sprintf("%s: %s %s ms > SLO %s ms, so the p99 is too (%d samples: no p99)", st.Kind, st.Quantile, fmtMS(val), fmtMS(st.SLOMS), st.Count), ""
	case st.Quantile != "p99" && st.MaxMS > st.SLOMS:
		return "", fmt.Sprintf("%s: p99 SLO not judged: %d samples (p99 needs %d); %s within it, max %s ms above it",
			st.Kind, st.Count, MinSamplesP99, st.Quantile, fmtMS(st.MaxMS))
	}
	return "", ""
}

// judgeRatio fails a row whose share of bad requests is significantly above ceiling (one-sided exact binomial
// test: the chance of at least that many at a true share of exactly ceiling is below alpha). With few samples a
// single bad request is not significant: that is the point.
func judgeRatio(kind, what string, bad, n int, ceiling, alpha float64) (reason, note string) {
	if n == 0 || bad == 0 || ceiling <= 0 || float64(bad) <= ceiling*float64(n) {
		return "", ""
	}
	p := binomialUpper(bad, n, ceiling)
	share := 100 * float64(bad) / float64(n)
	if p < alpha {
		return fmt.Sprintf("%s: %.1f%% %s (%d of %d) > ceiling %s%% (binomial p %.2g)", kind, share, what, bad, n, trim(100*ceiling), p), ""
	}
	return "", fmt.Sprintf("%s: %.1f%% %s (%d of %d) above the %s%% ceiling, but not significantly with %d requests (p %.2g)",
		kind, share, what, bad, n, trim(100*ceiling), n, p)
}

// binomialUpper is P(X >= k) for X ~ Binomial(n, p).
func binomialUpper(k, n int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if p >= 1 {
		return 1
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lgn, _ := math.Lgamma(float64(n) + 1)
	sum := 0.0
	for i := k; i <= n; i++ {
		a, _ := math.Lgamma(float64(i) + 1)
		b, _ := math.Lgamma(float64(n-i) + 1)
		t := math.Exp(lgn - a - b + float64(i)*lp + float64(n-i)*lq)
		sum += t
		if t < sum*1e-12 && float64(i) > float64(n)*p {
			break
		}
	}
	return math.Min(sum, 1)
}

func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func trim(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
