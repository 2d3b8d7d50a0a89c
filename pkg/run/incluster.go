package run

import (
	"math"
	"sync"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// UnmeasuredPhase is the phase of an in-cluster sample taken outside every measured window: before the baseline,
// while kube-burner creates a step's load (before its probe window), during teardown, after recovery. Such samples
// are kept in probe.jsonl but count in no row, as the local probe takes none there.
const UnmeasuredPhase = "unmeasured"

// clusterClock attributes in-cluster samples to the measured windows by their own timestamps, with the pod's clock
// offset estimated as they arrive. A window opens when its probing starts and closes when it ends; a sample arrives
// after it was taken, so its window is known by then (open or closed).
type clusterClock struct {
	mu       sync.Mutex
	windows  []phaseWindow
	offset   float64 // ms; NaN until the first sample, then the estimate, fixed after offsetSamples samples
	maxDelay float64 // ms, the slowest delivery seen so far against the then-current offset
	samples  int
	outside  int
	latest   time.Time // the latest sample start seen, on this machine's clock
}

type phaseWindow struct {
	name       string
	start, end time.Time // end zero: still open
}

// offsetSamples is how many samples the clock offset is estimated from (the first ones: the baseline, when the
// stream is fastest); then it is fixed, so that every later sample is attributed with the offset run.json records.
const offsetSamples = 30

func newClusterClock() *clusterClock { return &clusterClock{offset: math.NaN()} }

// open starts the measured window of phase name now; it ends at the latest after d (the probe's window), or when
// closed earlier.
func (c *clusterClock) open(name string, start time.Time, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.windows = append(c.windows, phaseWindow{name: name, start: start, end: start.Add(d)})
}

// close ends phase name's window at t if it was still open then.
func (c *clusterClock) close(name string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.windows {
		if w := &c.windows[i]; w.name == name && t.Before(w.end) {
			w.end = t
		}
	}
}

// attribute returns the phase of an in-cluster sample that arrived at arrival: the measured window holding its
// start (ts - offset, on this machine's clock), else UnmeasuredPhase.
func (c *clusterClock) attribute(s probe.Sample, arrival time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	finished := s.TS.Add(time.Duration((s.LagMS + s.LatencyMS) * float64(time.Millisecond)))
	d := float64(finished.Sub(arrival)) / float64(time.Millisecond)
	if math.IsNaN(c.offset) || d > c.offset && c.samples < offsetSamples {
		c.offset = d
	}
	c.maxDelay = max(c.maxDelay, c.offset-d)
	c.samples++
	t := s.TS.Add(-time.Duration(c.offset * float64(time.Millisecond)))
	if t.After(c.latest) {
		c.latest = t
	}
	for i := len(c.windows) - 1; i >= 0; i-- {
		if w := c.windows[i]; !t.Before(w.start) && t.Before(w.end) {
			return w.name
		}
	}
	c.outside++
	return UnmeasuredPhase
}

// caughtUp reports whether a sample taken after every measured window has arrived: the stream delivered all the
// windows' samples (lines arrive in the order the pod wrote them).
func (c *clusterClock) caughtUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.windows {
		if !c.latest.After(w.end) {
			return false
		}
	}
	return true
}

func (c *clusterClock) report() *result.ClusterProbe {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &result.ClusterProbe{Samples: c.samples, Unmeasured: c.outside, MaxDeliveryMS: math.Round(c.maxDelay*1000) / 1000}
	if !math.IsNaN(c.offset) {
		r.ClockOffsetMS = math.Round(c.offset*1000) / 1000
	}
	return r
}
