package knee

import (
	"fmt"
	"math"
	"sort"
)

// Trend windows: a step is cut into windows of its duration / TrendWindows (at least MinTrendWindowS); a window
// counts with at least MinTrendSamples successful writes; the test needs at least MinTrendWindowsN such windows.
const (
	TrendWindows     = 20
	MinTrendWindowS  = 0.25
	MinTrendSamples  = 5
	MinTrendWindowsN = 8
	// TrendFloorShare: a rising trend fails the step only when its fitted end is at least this share of the writes'
	// SLO; a rise from 3 to 8 ms is real but is not queueing that threatens the SLO.
	TrendFloorShare = 0.1
)

// trend tests whether the writes' latency rose through the step: the median of each window's successful writes,
// the Mann-Kendall test for a monotonic rise (one-sided; the window medians are continuous, no tie correction) and
// the Theil-Sen slope (the median of the pairwise slopes, robust to outliers). Rising (the step fails) needs all
// three: significant (p < alpha), material (the fitted rise over the step is at least the step's level, the median
// of the window medians: the latency at least doubled) and high (the fitted end is at least TrendFloorShare of the
// SLO). That is queueing that would not settle: the server falls behind the rate, and a longer step would only
// see it worse.
func trend(writes []Sample, seconds, slo, alpha float64) Trend {
	w := math.Max(seconds/TrendWindows, MinTrendWindowS)
	t := Trend{WindowS: w}
	if seconds <= 0 {
		t.Note = "trend not judged: no step duration"
		return t
	}
	n := int(math.Ceil(seconds/w - 1e-9))
	buckets := make([][]float64, n)
	for _, s := range writes {
		if s.Err || s.At < 0 {
			continue
		}
		i := int(s.At / w)
		if i >= n {
			continue
		}
		buckets[i] = append(buckets[i], s.MS)
	}
	var xs, ys []float64
	for i, b := range buckets {
		if len(b) < MinTrendSamples {
			continue
		}
		sort.Float64s(b)
		xs = append(xs, (float64(i)+0.5)*w)
		ys = append(ys, percentile(b, 0.5))
	}
	t.Windows = len(xs)
	if t.Windows < MinTrendWindowsN {
		t.Note = fmt.Sprintf("trend not judged: %d windows of %.2gs with at least %d successful writes (needs %d)",
			t.Windows, w, MinTrendSamples, MinTrendWindowsN)
		return t
	}
	k := len(xs)
	s := 0
	var slopes []float64
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			switch {
			case ys[j] > ys[i]:
				s++
			case ys[j] < ys[i]:
				s--
			}
			slopes = append(slopes, (ys[j]-ys[i])/(xs[j]-xs[i]))
		}
	}
	t.S = s
	vr := float64(k*(k-1)*(2*k+5)) / 18
	z := 0.0
	if s > 0 {
		z = (float64(s) - 1) / math.Sqrt(vr)
	}
	t.P = 0.5 * math.Erfc(z/math.Sqrt2)
	sort.Float64s(slopes)
	t.SlopeMS = median(slopes)
	t.RiseMS = t.SlopeMS * seconds
	sorted := append([]float64(nil), ys...)
	sort.Float64s(sorted)
	t.LevelMS = median(sorted)
	var icpt []float64
	for i := range xs {
		icpt = append(icpt, ys[i]-t.SlopeMS*xs[i])
	}
	sort.Float64s(icpt)
	t.EndMS = median(icpt) + t.SlopeMS*seconds
	t.Rising = t.P < alpha && t.RiseMS >= t.LevelMS && t.EndMS >= TrendFloorShare*slo
	return t
}

// median of sorted values (the mean of the two middle ones for an even count).
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
