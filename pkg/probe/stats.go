package probe

import (
	"math"
	"slices"
)

// Minimum sample counts for a percentile to be supported. With the nearest-rank method the p-th percentile
// of n samples is the sample at rank ceil(p*n); when that rank is n the "percentile" is just the maximum.
// A percentile p is supported when at least one sample lies above its rank, i.e. ceil(p*n) < n, which
// holds exactly when n >= 1/(1-p).
const (
	MinSamplesP50 = 2
	MinSamplesP90 = 10
	MinSamplesP95 = 20
	MinSamplesP99 = 100
)

// percentiles lists the reported percentiles with their names and minimum counts.
var percentiles = []struct {
	name string
	p    float64
	min  int
}{
	{"p50", 0.50, MinSamplesP50},
	{"p90", 0.90, MinSamplesP90},
	{"p95", 0.95, MinSamplesP95},
	{"p99", 0.99, MinSamplesP99},
}

// Stats summarises samples. Latencies are in milliseconds, rounded to microseconds.
//
// Every sample counts, errors included: a failed request still made its caller wait, and a timeout
// counts at its elapsed time (the request timeout), so an overloaded control plane pushes the tail up
// instead of vanishing from the distribution. Errors are also counted on their own (Errors, ErrorPct).
type Stats struct {
	Kind     string  `json:"kind"`
	Phase    string  `json:"phase,omitempty"`
	Count    int     `json:"count"`
	Errors   int     `json:"errors"`
	ErrorPct float64 `json:"error_pct"`
	Min      float64 `json:"min_ms"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Mean     float64 `json:"mean_ms"`
	// LowCount names the percentiles the sample count cannot support (see MinSamplesP50 and friends).
	// They are still filled in, but must be shown as unreliable, never as a plain p99.
	LowCount []string `json:"low_count,omitempty"`
}

// Compute summarises all given samples. Kind and Phase are set when every sample shares them; Kind is
// "all" when samples of several kinds are pooled. Empty input gives Count 0, zero latencies (never NaN)
// and every percentile flagged in LowCount.
func Compute(samples []Sample) Stats {
	var s Stats
	lat := make([]float64, 0, len(samples))
	sum := 0.0
	for i, smp := range samples {
		if i == 0 {
			s.Kind, s.Phase = string(smp.Kind), smp.Phase
		} else {
			if s.Kind != string(smp.Kind) {
				s.Kind = "all"
			}
			if s.Phase != smp.Phase {
				s.Phase = ""
			}
		}
		if smp.Error != "" {
			s.Errors++
		}
		lat = append(lat, smp.LatencyMS)
		sum += smp.LatencyMS
	}
	s.Count = len(lat)
	for _, pc := range percentiles {
		if s.Count < pc.min {
			s.LowCount = append(s.LowCount, pc.name)
		}
	}
	if s.Count == 0 {
		return s
	}
	slices.Sort(lat)
	s.ErrorPct = round3(100 * float64(s.Errors) / float64(s.Count))
	s.Min, s.Max = lat[0], lat[len(lat)-1]
	s.Mean = round3(sum / float64(s.Count))
	s.P50 = Percentile(lat, 0.50)
	s.P90 = Percentile(lat, 0.90)
	s.P95 = Percentile(lat, 0.95)
	s.P99 = Percentile(lat, 0.99)
	return s
}

// ByKind returns one row per kind present in samples, in AllKinds order, then one per other kind (not a probe
// kind, e.g. pod-startup) in the order it first came, then a final row with Kind
// "all" pooling every sample (present even for empty input).
func ByKind(samples []Sample) []Stats {
	groups := map[Kind][]Sample{}
	var other []Kind // kinds that are not probe kinds, in the order they first came
	for _, s := range samples {
		if _, seen := groups[s.Kind]; !seen && !s.Kind.Valid() {
			other = append(other, s.Kind)
		}
		groups[s.Kind] = append(groups[s.Kind], s)
	}
	var out []Stats
	for _, k := range append(append([]Kind(nil), AllKinds...), other...) {
		if g, ok := groups[k]; ok {
			out = append(out, Compute(g))
		}
	}
	all := Compute(samples)
	all.Kind = "all"
	return append(out, all)
}

// Percentile returns the p-th percentile (0 <= p <= 1) of ascending latencies by the nearest-rank method:
// the value at 1-based rank ceil(p*n). There is no interpolation, so every reported percentile is a
// latency that was actually observed. p <= 0 gives the minimum, p >= 1 the maximum, empty input 0.
func Percentile(sortedMS []float64, p float64) float64 {
	n := len(sortedMS)
	if n == 0 {
		return 0
	}
	return sortedMS[rank(p, n)-1]
}

// rank is the nearest rank ceil(p*n), clamped to [1, n]. The small epsilon keeps binary floating point
// from pushing an exact product over an integer (0.07*100 is 7.000000000000001).
func rank(p float64, n int) int {
	r := int(math.Ceil(p*float64(n) - 1e-9))
	return min(max(r, 1), n)
}

// round3 rounds to three decimals (microseconds when the unit is milliseconds).
func round3(v float64) float64 {
	return math.Round(v*1000) / 1000
}
