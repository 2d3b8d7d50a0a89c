// Package knee is the logic of `kubectl pyrometer knee`, without Kubernetes: the search for the highest write rate
// the control plane sustains within its SLOs (Search), the judge of one step (Judge) and the loop that runs them
// against a Driver (Find), which pkg/run implements against a cluster and the tests against a simulated server.
//
// The method (Envoy Nighthawk's adaptive load controller, applied to the API server): open-loop steps of a fixed
// duration; the rate doubles from the start rate until a step fails (exponential phase), then the interval between
// the last passing and the first failing rate is halved, geometrically, until the two are within the precision
// (bisection phase); then a confirmation step at the rate found. A step whose load the client could not deliver
// stops the search (inconclusive): a knee is never reported at a rate the client did not test.
package knee

import (
	"errors"
	"fmt"
	"math"
)

// Verdicts of a step.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Search phases, for the step table.
const (
	PhaseExponential = "exponential"
	PhaseBisection   = "bisection"
	PhaseConfirm     = "confirm"
)

// Search is the rate search: Next gives the rate of the next step, Record its verdict. It is pure and
// deterministic: the same verdicts give the same rates.
type Search struct {
	Start, Max, Precision float64

	lo, hi   float64 // highest passing rate, lowest failing rate (0: none yet)
	phase    string
	next     float64
	done     bool
	status   string
	confirms int // confirmation steps taken
	steps    int
	passes   []float64 // every passing rate, for a confirmation that fails
}

// MaxConfirmations bounds the confirmation steps: a confirmation that fails reopens the bisection below the rate it
// failed at, once; a second failure ends the search with the knee unconfirmed.
const MaxConfirmations = 2

// NewSearch checks the settings: 0 < start <= max, 0 < precision < 1.
func NewSearch(start, max, precision float64) (*Search, error) {
	switch {
	case !(start > 0) || math.IsInf(start, 0):
		return nil, fmt.Errorf("start rate %v: must be a number of writes per second above 0", start)
	case !(max >= start) || math.IsInf(max, 0):
		return nil, fmt.Errorf("max rate %v: must be at least the start rate %v", max, start)
	case !(precision > 0 && precision < 1):
		return nil, fmt.Errorf("precision %v: must be above 0 and below 1 (5%% is 0.05)", precision)
	}
	return &Search{Start: start, Max: max, Precision: precision, phase: PhaseExponential, next: start}, nil
}

// MaxSteps bounds the steps of a search (confirmations beyond the first not counted):
// ceil(log2(max/start)) + 1 steps of the exponential phase (the last one capped at max), at most
// ceil(log2(ln 2 / ln(1+precision))) geometric bisections (the interval starts at a ratio of at most 2 and each step
// takes the square root of the ratio, until it is at most 1+precision), and one confirmation. That is at most
// log2(max/start) + log2(1/precision) + 2 rounded up on each log; the safety plan and the time estimate use it.
func MaxSteps(start, max, precision float64) int {
	exp := int(math.Ceil(math.Log2(max/start)-1e-9)) + 1
	bis := int(math.Ceil(math.Log2(math.Ln2/math.Log1p(precision)) - 1e-9))
	return exp + max0(bis) + 1
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// Next is the rate of the next step and the phase it belongs to; ok is false when the search is over.
func (s *Search) Next() (rate float64, phase string, ok bool) {
	if s.done {
		return 0, "", false
	}
	return s.next, s.phase, true
}

// Steps is how many verdicts were recorded.
func (s *Search) Steps() int { return s.steps }

// Record takes the verdict of the step at rate (the rate Next gave) and decides the next one.
func (s *Search) Record(rate float64, verdict string) error {
	if s.done {
		return errors.New("the search is over")
	}
	if rate != s.next {
		return fmt.Errorf("recorded rate %v, but the step asked for was %v", rate, s.next)
	}
	s.steps++
	switch verdict {
	case Inconclusive:
		s.finish(StatusInconclusive)
		return nil
	case Pass, Fail:
	default:
		return fmt.Errorf("unknown verdict %q", verdict)
	}
	pass := verdict == Pass
	if s.phase == PhaseConfirm {
		s.confirms++
		if pass {
			s.finish(StatusFound)
			return nil
		}
		// The rate found failed on a second look: it is above the knee after all. Reopen the bisection below it,
		// unless the confirmations are used up or there is no passing rate below it: the rate was the start rate
		// (every other passing rate is above it), so no rate passed twice and the knee is below the start rate.
		s.hi = rate
		s.lo = s.lowerPass(rate)
		if s.lo == 0 {
			s.finish(StatusBelowStart)
			return nil
		}
		if s.confirms >= MaxConfirmations {
			s.finish(StatusUnconfirmed)
			return nil
		}
		s.phase = PhaseBisection
		s.plan()
		return nil
	}
	if pass {
		s.passes = append(s.passes, rate)
		s.lo = math.Max(s.lo, rate)
	} else if s.hi == 0 || rate < s.hi {
		s.hi = rate
	}
	if s.phase == PhaseExponential {
		switch {
		case !pass && s.lo == 0: // the start rate fails: the knee is below it
			s.finish(StatusBelowStart)
			return nil
		case !pass:
			s.phase = PhaseBisection
		case rate >= s.Max: // no step failed up to the hard cap
			s.finish(StatusAboveMax)
			return nil
		default:
			s.next = math.Min(2*rate, s.Max)
			return nil
		}
	}
	s.plan()
	return nil
}

// plan decides the next bisection step, or the confirmation when lo and hi are within the precision.
func (s *Search) plan() {
	if s.hi <= s.lo*(1+s.Precision) {
		s.phase, s.next = PhaseConfirm, s.lo
		return
	}
	s.next = roundRate(math.Sqrt(s.lo * s.hi)) // geometric: the precision is relative
	if s.next <= s.lo || s.next >= s.hi {
		s.phase, s.next = PhaseConfirm, s.lo
	}
}

// lowerPass is the highest passing rate below rate (0: none).
func (s *Search) lowerPass(rate float64) float64 {
	best := 0.0
	for _, p := range s.passes {
		if p < rate && p > best {
			best = p
		}
	}
	return best
}

func (s *Search) finish(status string) {
	s.done, s.status = true, status
}

// Statuses of a finished search.
const (
	StatusFound        = "found"        // knee found and confirmed
	StatusUnconfirmed  = "unconfirmed"  // the confirmation failed twice: the knee is the last rate that passed, unconfirmed
	StatusAboveMax     = "above-max"    // every step passed up to --max-rate: the knee is at least that
	StatusBelowStart   = "below-start"  // the start rate already failed (also: it passed once, then failed its confirmation)
	StatusInconclusive = "inconclusive" // the client could not deliver a step's load
	StatusDoomed       = "doomed"       // the baseline already fails its SLOs
	StatusInterrupted  = "interrupted"  // Ctrl-C, or a step could not run
)

// Status is the search's outcome so far ("" while it runs).
func (s *Search) Status() string { return s.status }

// Bounds are the highest passing and the lowest failing rate so far (0: none).
func (s *Search) Bounds() (lo, hi float64) { return s.lo, s.hi }

// roundRate keeps rates readable: 3 significant digits above 100, 0.1 below.
func roundRate(r float64) float64 {
	if r >= 100 {
		p := math.Pow(10, math.Floor(math.Log10(r))-2)
		return math.Round(r/p) * p
	}
	return math.Round(r*10) / 10
}
