package probe

import (
	"fmt"
	"slices"
	"time"
)

// LagUnfairRatio is the share of the interval above which the probe's own scheduling lag makes a measurement
// unfair: when the p99 of LagMS exceeds 10% of the interval, the probe client (CPU starved, GC, too many kinds
// for the interval) could not keep its schedule, and what it measured is partly its own delay.
const LagUnfairRatio = 0.10

// Lag summarises the scheduling lag (Sample.LagMS: actual start minus intended start) of a set of samples.
type Lag struct {
	Phase      string  `json:"phase,omitempty"`
	Count      int     `json:"count"`
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"` // nearest rank; the maximum below MinSamplesP99 samples
	MaxMS      float64 `json:"max_ms"`
	IntervalMS float64 `json:"interval_ms"`
	// Unfair: P99MS > LagUnfairRatio * IntervalMS.
	Unfair bool `json:"unfair"`
}

// LagOf summarises the lag of samples probed every interval. Mutate's patch and delete are chained to the
// previous verb, so their lag is a goroutine hand-over, not a schedule slip; they count like the rest.
func LagOf(phase string, samples []Sample, interval time.Duration) Lag {
	lag := make([]float64, len(samples))
	for i, s := range samples {
		lag[i] = s.LagMS
	}
	slices.Sort(lag)
	return lagOfSorted(phase, lag, interval)
}

// lagOfSorted summarises lag values sorted in ascending order.
func lagOfSorted(phase string, lag []float64, interval time.Duration) Lag {
	l := Lag{Phase: phase, Count: len(lag), IntervalMS: ms(interval)}
	if len(lag) == 0 {
		return l
	}
	l.P50MS, l.P99MS, l.MaxMS = Percentile(lag, 0.5), Percentile(lag, 0.99), lag[len(lag)-1]
	l.Unfair = l.P99MS > LagUnfairRatio*l.IntervalMS
	return l
}

// Warning is the line to print when the lag makes the measurement unfair, "" otherwise.
func (l Lag) Warning() string {
	if !l.Unfair {
		return ""
	}
	where := ""
	if l.Phase != "" {
		where = " in " + l.Phase
	}
	return fmt.Sprintf("the probe's client lagged%s: scheduling lag p99 %.1f ms is more than %.0f%% of the %s interval, "+
		"so this measurement is not fair (the client, not only the server, delayed requests): probe fewer kinds, "+
		"use a longer --interval, or give this process more CPU",
		where, l.P99MS, LagUnfairRatio*100, time.Duration(l.IntervalMS*float64(time.Millisecond)))
}

// String is a one-line summary for the terminal: "p50 0.05 ms, p99 0.41 ms, max 2.10 ms (limit 20.0 ms: 10% of
// the 200ms interval)".
func (l Lag) String() string {
	s := fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, max %.2f ms (limit %.1f ms: %.0f%% of the %s interval)",
		l.P50MS, l.P99MS, l.MaxMS, LagUnfairRatio*l.IntervalMS, LagUnfairRatio*100, time.Duration(l.IntervalMS*float64(time.Millisecond)))
	if l.Unfair {
		s += ": NOT FAIR"
	}
	return s
}
