package churn

import (
	"math"
	"math/rand/v2"
	"time"
)

// Arrival is how object creations are spaced in the open loop.
type Arrival string

const (
	// Poisson spaces creations by exponentially distributed gaps of mean 1/Rate (a Poisson process).
	Poisson Arrival = "poisson"
	// Uniform spaces creations exactly 1/Rate apart.
	Uniform Arrival = "uniform"
)

// Arrivals lists the valid Arrival values.
var Arrivals = []Arrival{Poisson, Uniform}

// arrivals yields the offsets from the start of the run at which objects are due to be created. The offsets depend
// only on the rate, the arrival kind and the seed, never on when the scheduler asks for them: that is what keeps the
// schedule independent of the server (no coordinated omission).
type arrivals struct {
	kind Arrival
	rate float64
	rng  *rand.Rand
	n    int64         // arrivals yielded so far
	at   time.Duration // offset of the last one yielded (Poisson)
}

func newArrivals(kind Arrival, rate float64, seed uint64) *arrivals {
	return &arrivals{kind: kind, rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// next returns the offset of the next arrival. The first Poisson arrival comes one exponential gap after the start
// (a Poisson process started at 0); the first uniform arrival comes at 0.
func (a *arrivals) next() time.Duration {
	a.n++
	switch a.kind {
	case Uniform:
		// Computed from n, not by adding gaps, so rounding never accumulates.
		return time.Duration(float64(a.n-1) / a.rate * float64(time.Second))
	default:
		a.at += time.Duration(a.rng.ExpFloat64() / a.rate * float64(time.Second))
		return a.at
	}
}

// lifecycle returns the offsets, from an object's creation slot, of its writes: 0 for the create, then updates
// patches spread evenly over lifetime (update k of u at k*lifetime/(u+1)), then the delete at lifetime. A zero
// lifetime means the object is kept (no delete; Cleanup removes it) and its updates, if any, follow the create at
// once.
func lifecycle(lifetime time.Duration, updates int) []time.Duration {
	out := make([]time.Duration, 0, updates+2)
	out = append(out, 0)
	for k := 1; k <= updates; k++ {
		out = append(out, time.Duration(int64(lifetime)*int64(k)/int64(updates+1)))
	}
	if lifetime > 0 {
		out = append(out, lifetime)
	}
	return out
}

// expectedPopulation is Little's law: the mean number of live objects at rate (objects/s) and lifetime.
func expectedPopulation(rate float64, lifetime time.Duration) float64 {
	return rate * lifetime.Seconds()
}

// secondsToDuration converts seconds to a Duration, saturating instead of overflowing.
func secondsToDuration(s float64) time.Duration {
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// WriteRate is the writes per second c requests in steady state: Rate times the writes of one object (its create,
// its Updates patches, and its delete when Lifetime > 0). For the safety plan's write-rate limit.
func (c Config) WriteRate() float64 {
	per := 1 + c.Updates
	if c.Lifetime > 0 {
		per++
	}
	return c.Rate * float64(per)
}

// Population is the mean number of objects c keeps alive: Rate * Lifetime in steady state (Little's law; a
// Poisson population fluctuates around it by about its square root). With Lifetime 0 the objects are kept until
// Cleanup, so it is how many are created: Count, else Rate * Duration, else +Inf (unbounded until stopped). For
// the safety plan's object limit.
func (c Config) Population() float64 {
	switch {
	case c.Lifetime > 0:
		p := expectedPopulation(c.Rate, c.Lifetime)
		if c.Count > 0 {
			p = min(p, float64(c.Count))
		}
		return p
	case c.Count > 0:
		return float64(c.Count)
	case c.Duration > 0:
		return math.Ceil(c.Rate * c.Duration.Seconds())
	default:
		return math.Inf(1)
	}
}
