package churn

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestPoissonArrivals(t *testing.T) {
	const rate, n = 50.0, 200000
	a := newArrivals(Poisson, rate, 42)
	var prev time.Duration
	var sum, sumSq float64
	for range n {
		at := a.next()
		if at < prev {
			t.Fatalf("arrival at %s before the previous one at %s", at, prev)
		}
		gap := (at - prev).Seconds()
		sum += gap
		sumSq += gap * gap
		prev = at
	}
	mean := sum / n
	sd := math.Sqrt(sumSq/n - mean*mean)
	// The mean of n exponential gaps has a standard error of mean/sqrt(n) (0.2% here): 1% is five of them.
	if want := 1 / rate; math.Abs(mean-want) > 0.01*want {
		t.Errorf("Poisson mean gap %.6f s, want 1/rate = %.6f s within 1%%", mean, want)
	}
	// Exponential gaps: standard deviation equals the mean (coefficient of variation 1).
	if cv := sd / mean; math.Abs(cv-1) > 0.02 {
		t.Errorf("Poisson gap coefficient of variation %.3f, want 1 (exponential) within 0.02", cv)
	}
	// Rate over the whole span: n arrivals in prev seconds.
	if got := n / prev.Seconds(); math.Abs(got-rate) > 0.01*rate {
		t.Errorf("Poisson rate over %d arrivals %.3f/s, want %.0f/s within 1%%", n, got, rate)
	}
}

func TestArrivalsAreSeeded(t *testing.T) {
	draw := func(seed uint64) []time.Duration {
		a := newArrivals(Poisson, 100, seed)
		out := make([]time.Duration, 100)
		for i := range out {
			out[i] = a.next()
		}
		return out
	}
	if !slices.Equal(draw(7), draw(7)) {
		t.Error("the same seed gave different Poisson schedules")
	}
	if slices.Equal(draw(7), draw(8)) {
		t.Error("different seeds gave the same Poisson schedule")
	}
}

func TestUniformArrivals(t *testing.T) {
	a := newArrivals(Uniform, 3, 1)
	for k := range 3000 {
		want := time.Duration(float64(k) / 3 * float64(time.Second))
		if got := a.next(); got != want {
			t.Fatalf("uniform arrival %d at %s, want %s (k/rate, no accumulated rounding)", k+1, got, want)
		}
	}
}

func TestLifecycleSpreadsUpdates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		updates  int
		want     []time.Duration
	}{
		{"default one update at mid-life", 30 * time.Second, 1, []time.Duration{0, 15 * time.Second, 30 * time.Second}},
		{"three updates", 4 * time.Second, 3, []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second}},
		{"no updates", 10 * time.Second, 0, []time.Duration{0, 10 * time.Second}},
		{"kept objects: no delete", 0, 0, []time.Duration{0}},
		{"kept objects with updates right after the create", 0, 2, []time.Duration{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lifecycle(tc.lifetime, tc.updates); !slices.Equal(got, tc.want) {
				t.Errorf("lifecycle(%s, %d) = %v, want %v", tc.lifetime, tc.updates, got, tc.want)
			}
		})
	}
}

func TestExpectedPopulation(t *testing.T) {
	if got := expectedPopulation(20, 30*time.Second); got != 600 {
		t.Errorf("population at 20/s for 30s = %v, want 600 (Little's law)", got)
	}
}

// BenchmarkScheduler measures the open-loop scheduler's own cost per write (arrival draw, event heap, ledger,
// sample hand-over) against a server that answers at once.
func BenchmarkScheduler(b *testing.B) {
	cfg := testConfig()
	cfg.Arrival = Poisson
	cfg.Rate = 1e6 // every arrival is due at once: the scheduler never sleeps
	cfg.Count = b.N
	cfg.Lifetime = 0
	cfg.Updates = 0
	e := newBenchEngine(b, cfg, nopObjects{})
	b.ReportAllocs()
	b.ResetTimer()
	r, err := e.Run(b.Context(), func(Sample) {})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r.Objects != int64(b.N) {
		b.Fatalf("%d objects, want %d", r.Objects, b.N)
	}
}

// BenchmarkArrivals is the cost of drawing one Poisson arrival.
func BenchmarkArrivals(b *testing.B) {
	a := newArrivals(Poisson, 1000, 1)
	for b.Loop() {
		a.next()
	}
}

func TestPlanFigures(t *testing.T) {
	for _, tc := range []struct {
		name         string
		c            Config
		writes, objs float64
	}{
		{"churn defaults", Config{Rate: 20, Lifetime: 30 * time.Second, Updates: 1}, 60, 600},
		{"api flood of 500 objects", Config{Rate: 50, Count: 500}, 50, 500},
		{"kept for a duration", Config{Rate: 10, Duration: 5 * time.Second}, 10, 50},
		{"kept until stopped", Config{Rate: 10}, 10, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.WriteRate(); got != tc.writes {
				t.Errorf("WriteRate = %v, want %v", got, tc.writes)
			}
			if got := tc.c.Population(); got != tc.objs {
				t.Errorf("Population = %v, want %v", got, tc.objs)
			}
		})
	}
}
