package knee

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// sim is a simulated control plane: the writes' latency scale grows with the rate as (rate/knee)^3, so that the p99
// of a step's writes crosses the 1 s SLO exactly above knee; the probe answers in 5 ms. clientCap, when set, is the
// most writes per second the simulated client can send.
type sim struct {
	knee, clientCap float64
	baselineMS      float64 // the probe's latency (5 ms unless set)
	failConfirm     int     // confirmation steps that fail (noise)
	steps           []float64
	cooldowns       int
}

const simSeconds = 30.0

// samples of one kind: n requests spread over the step, latencies scale x (i+1)/n in a shuffled order, so their
// nearest-rank p99 is exactly 0.995 x scale and there is no trend.
func simSamples(kind string, n int, scale float64, seed uint64) []Sample {
	r := rand.New(rand.NewPCG(seed, 1))
	perm := r.Perm(n)
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{Kind: kind, At: (float64(i) + 0.5) / float64(n) * simSeconds, MS: scale * float64(perm[i]+1) / float64(n)}
	}
	return out
}

func (s *sim) probe() []Sample {
	ms := s.baselineMS
	if ms == 0 {
		ms = 5
	}
	return simSamples("readyz", 150, ms, 7)
}

func (s *sim) Baseline(context.Context) (Measurement, error) {
	return Measurement{Seconds: simSeconds, Samples: s.probe()}, nil
}

func (s *sim) Step(_ context.Context, _ int, rate float64, phase string) (Measurement, error) {
	s.steps = append(s.steps, rate)
	scale := 1000 / 0.995 * math.Pow(rate/s.knee, 3)
	if phase == PhaseConfirm && s.failConfirm > 0 {
		s.failConfirm--
		scale = 5000
	}
	m := Measurement{Rate: rate, Seconds: simSeconds, Samples: append(s.probe(), simSamples(Writes, 400, scale, uint64(rate*10))...)}
	m.Requested = int(rate * simSeconds)
	m.Delivered = m.Requested
	if s.clientCap > 0 && rate > s.clientCap {
		m.Delivered = int(s.clientCap * simSeconds)
		m.Limit, m.LimitReason = "client", "it sent fewer writes than requested"
	}
	m.RequestedRate, m.DeliveredRate = float64(m.Requested)/simSeconds, float64(m.Delivered)/simSeconds
	return m, nil
}

func (s *sim) Cooldown(context.Context, int) (Cooldown, error) {
	s.cooldowns++
	return Cooldown{Seconds: 2, Recovered: true}, nil
}

func criteria() Criteria {
	return Criteria{SLO: map[string]float64{"readyz": 1000, Writes: 1000}, MaxErrorRatio: 0.01, MaxThrottleRatio: 0.01}
}

func TestFindConvergesWithinPrecision(t *testing.T) {
	const start, maxRate, precision = 10.0, 2000.0, 0.05
	bound := math.Log2(maxRate/start) + math.Log2(1/precision) + 2 // the bound
	for _, k := range []float64{37, 137, 555, 1000, 1900} {
		s := &sim{knee: k}
		res := Find(context.Background(), Config{Start: start, Max: maxRate, Precision: precision, Criteria: criteria()}, s)
		if res.Status != StatusFound {
			t.Fatalf("knee %v: status %s (%s)", k, res.Status, res.Summary)
		}
		if res.Knee > k || res.Knee < k/(1+precision) {
			t.Errorf("knee %v: found %v, not within %v%% below it", k, res.Knee, 100*precision)
		}
		if res.Sustainable != roundRate(0.8*res.Knee) {
			t.Errorf("knee %v: sustainable %v, want 0.8 x %v", k, res.Sustainable, res.Knee)
		}
		if res.Criterion != CriterionLatency || res.FailedAt <= res.Knee || !strings.Contains(res.Reason, "writes: p99") {
			t.Errorf("knee %v: failed above at %v by %q (%s), want the writes' p99 above the knee", k, res.FailedAt, res.Criterion, res.Reason)
		}
		n := len(s.steps)
		if n > MaxSteps(start, maxRate, precision) {
			t.Errorf("knee %v: %d steps, more than MaxSteps %d", k, n, MaxSteps(start, maxRate, precision))
		}
		// The bound, log2(max/start)+log2(1/precision)+2, holds unless the knee is in the last, capped octave
		// (there the exponential phase takes one step more than log2(max/start): see MaxSteps).
		if k < maxRate/2 && float64(n) > bound {
			t.Errorf("knee %v: %d steps, more than log2(max/start)+log2(1/precision)+2 = %.2f", k, n, bound)
		}
		if last := res.Steps[len(res.Steps)-1]; last.Phase != PhaseConfirm || last.Rate != res.Knee || last.Verdict.Verdict != Pass {
			t.Errorf("knee %v: last step %+v, want a passing confirmation at the knee", k, last)
		}
		if s.cooldowns != n-1 {
			t.Errorf("knee %v: %d cool-downs for %d steps, want one between two steps", k, s.cooldowns, n)
		}
		for i := 1; i < n; i++ { // exponential phase: doubling from the start
			if res.Steps[i].Phase == PhaseExponential && res.Steps[i].Rate != math.Min(2*res.Steps[i-1].Rate, maxRate) {
				t.Errorf("knee %v: exponential step %d at %v after %v", k, i+1, res.Steps[i].Rate, res.Steps[i-1].Rate)
			}
		}
		t.Logf("knee %v: found %v in %d steps (bound %.2f, MaxSteps %d): %v", k, res.Knee, n, bound, MaxSteps(start, maxRate, precision), s.steps)
	}
}

func TestFindInconclusiveWhenTheClientCapsDelivery(t *testing.T) {
	s := &sim{knee: 555, clientCap: 300}
	res := Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, s)
	if res.Status != StatusInconclusive || res.Knee != 0 || res.Sustainable != 0 {
		t.Fatalf("status %s knee %v, want inconclusive without a knee: %s", res.Status, res.Knee, res.Summary)
	}
	last := res.Steps[len(res.Steps)-1]
	if last.Rate <= 300 || last.Verdict.Verdict != Inconclusive || last.Verdict.Criterion != CriterionDelivery {
		t.Errorf("last step %+v", last)
	}
	for _, want := range []string{"inconclusive", "client", "distributed load", "no knee"} {
		if !strings.Contains(res.Summary, want) {
			t.Errorf("summary %q lacks %q", res.Summary, want)
		}
	}
}

// TestFindJudgedHook: Judged sees every step's verdict, in order, as soon as it is judged: before that step's
// cool-down, so the caller can record the step with its verdict (the knee's phases) before the next phase starts.
func TestFindJudgedHook(t *testing.T) {
	for _, s := range []*sim{{knee: 137}, {knee: 555, clientCap: 300}} {
		var got []Verdict
		var cooldownsAt []int // the cool-downs taken when each verdict arrived
		cfg := Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria(), Judged: func(n int, v Verdict) {
			if n != len(got)+1 {
				t.Errorf("Judged for step %d after %d verdicts", n, len(got))
			}
			got = append(got, v)
			cooldownsAt = append(cooldownsAt, s.cooldowns)
		}}
		res := Find(context.Background(), cfg, s)
		if len(got) != len(res.Steps) {
			t.Fatalf("knee %v: %d verdicts for %d steps", s.knee, len(got), len(res.Steps))
		}
		for i, st := range res.Steps {
			if got[i].Verdict != st.Verdict.Verdict || got[i].Reason() != st.Verdict.Reason() {
				t.Errorf("step %d: Judged saw %s (%s), the step table has %s (%s)", i+1, got[i].Verdict, got[i].Reason(), st.Verdict.Verdict, st.Verdict.Reason())
			}
			if cooldownsAt[i] != i {
				t.Errorf("step %d judged after %d cool-downs, want %d (before its own)", i+1, cooldownsAt[i], i)
			}
		}
		if last := got[len(got)-1].Verdict; s.clientCap > 0 && last != Inconclusive {
			t.Errorf("client-capped search: last verdict %s, want inconclusive", last)
		}
	}
}

// TestFindConfirmationFailsAtTheStartRate: the start rate passes, the rates above fail, the confirmation at the
// start rate fails: no rate passed twice, so the answer is below-start (exit 2), never "knee 0, unconfirmed" (exit 0,
// which the search answered before).
func TestFindConfirmationFailsAtTheStartRate(t *testing.T) {
	s := &sim{knee: 137, failConfirm: 1}
	res := Find(context.Background(), Config{Start: 100, Max: 2000, Precision: 0.5, Criteria: criteria()}, s)
	if res.Status != StatusBelowStart || res.Knee != 0 || res.Sustainable != 0 {
		t.Fatalf("status %s knee %v sustainable %v (%s), want below-start without a knee", res.Status, res.Knee, res.Sustainable, res.Summary)
	}
	if last := res.Steps[len(res.Steps)-1]; last.Phase != PhaseConfirm || last.Rate != 100 || last.Verdict.Verdict != Fail {
		t.Errorf("last step %+v, want the failed confirmation at the start rate", last)
	}
	if res.FailedAt != 100 || !strings.Contains(res.Summary, "failed its confirmation") || !strings.Contains(res.Summary, "lower --start-rate") {
		t.Errorf("failed at %v: %s", res.FailedAt, res.Summary)
	}
	t.Logf("%v: %s", s.steps, res.Summary)
}

func TestFindDoomedBaseline(t *testing.T) {
	s := &sim{knee: 555, baselineMS: 2000}
	res := Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, s)
	if res.Status != StatusDoomed || len(s.steps) != 0 || !strings.Contains(res.Summary, "readyz: p99") {
		t.Fatalf("status %s after %d steps: %s", res.Status, len(s.steps), res.Summary)
	}
}

func TestFindAboveMaxAndBelowStart(t *testing.T) {
	s := &sim{knee: 5000}
	res := Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, s)
	if res.Status != StatusAboveMax || res.Knee != 2000 || s.steps[len(s.steps)-1] != 2000 {
		t.Errorf("status %s knee %v steps %v", res.Status, res.Knee, s.steps)
	}
	for _, r := range s.steps {
		if r > 2000 {
			t.Errorf("step at %v above --max-rate", r)
		}
	}
	s = &sim{knee: 5}
	res = Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, s)
	if res.Status != StatusBelowStart || res.Knee != 0 || len(s.steps) != 1 {
		t.Errorf("status %s knee %v steps %v", res.Status, res.Knee, s.steps)
	}
}

func TestFindFailedConfirmationReopensTheBisection(t *testing.T) {
	s := &sim{knee: 555, failConfirm: 1}
	res := Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, s)
	if res.Status != StatusFound || res.Knee >= 555 {
		t.Fatalf("status %s knee %v: %s", res.Status, res.Knee, res.Summary)
	}
	// the rate whose confirmation failed passed once, but it is above the knee
	for _, st := range res.Steps {
		if st.Phase == PhaseConfirm && st.Verdict.Verdict == Fail && (st.Rate <= res.Knee || res.FailedAt > st.Rate) {
			t.Errorf("confirmation failed at %v, knee %v, failed above at %v", st.Rate, res.Knee, res.FailedAt)
		}
	}
	if last := res.Steps[len(res.Steps)-1]; last.Rate != res.Knee || last.Verdict.Verdict != Pass {
		t.Errorf("the knee %v is not the last, passing, confirmation %+v", res.Knee, last)
	}
	confirms := 0
	for _, st := range res.Steps {
		if st.Phase == PhaseConfirm {
			confirms++
		}
	}
	if confirms != 2 {
		t.Errorf("%d confirmation steps, want 2 (one failed)", confirms)
	}
	s = &sim{knee: 555, failConfirm: 5}
	res = Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, s)
	if res.Status != StatusUnconfirmed || res.Knee == 0 {
		t.Errorf("status %s knee %v, want unconfirmed", res.Status, res.Knee)
	}
}

type failingDriver struct{ sim }

func (f *failingDriver) Step(ctx context.Context, n int, rate float64, phase string) (Measurement, error) {
	if n == 3 {
		return Measurement{}, errors.New("context canceled")
	}
	return f.sim.Step(ctx, n, rate, phase)
}

func TestFindInterrupted(t *testing.T) {
	res := Find(context.Background(), Config{Start: 10, Max: 2000, Precision: 0.05, Criteria: criteria()}, &failingDriver{sim{knee: 555}})
	if res.Status != StatusInterrupted || res.Knee != 0 || len(res.Steps) != 2 || !strings.Contains(res.Summary, "20 writes/s") {
		t.Errorf("status %s knee %v steps %d: %s", res.Status, res.Knee, len(res.Steps), res.Summary)
	}
}

func TestMaxSteps(t *testing.T) {
	// 10..2000: 10,20,...,1280,2000 = 9 exponential steps; 2^(1/16) < 1.05 after 4 geometric halvings; 1 confirm.
	if got := MaxSteps(10, 2000, 0.05); got != 14 {
		t.Errorf("MaxSteps(10, 2000, 5%%) = %d, want 14", got)
	}
	if got := MaxSteps(100, 800, 0.25); got != 4+2+1 {
		t.Errorf("MaxSteps(100, 800, 25%%) = %d, want 7", got)
	}
}

func TestNewSearchRejects(t *testing.T) {
	for _, c := range [][3]float64{{0, 10, 0.05}, {10, 5, 0.05}, {10, 100, 0}, {10, 100, 1}, {math.NaN(), 10, 0.05}, {10, math.Inf(1), 0.05}} {
		if _, err := NewSearch(c[0], c[1], c[2]); err == nil {
			t.Errorf("NewSearch%v: no error", c)
		}
	}
}

func TestMinSamplesMatchProbe(t *testing.T) {
	if MinSamplesP50 != probe.MinSamplesP50 || MinSamplesP90 != probe.MinSamplesP90 || MinSamplesP95 != probe.MinSamplesP95 || MinSamplesP99 != probe.MinSamplesP99 {
		t.Error("the knee's minimum sample counts differ from the probe's")
	}
}

func TestJudgeLowCountsJudgeALowerPercentile(t *testing.T) {
	// 25 samples: p99 is not supported, the p95 is judged; all of them above the SLO fails the step.
	v := Judge(Measurement{Seconds: 5, Samples: simSamples("get", 25, 3000, 1)}, criteria2("get"))
	if v.Verdict != Fail || v.Kinds[0].Quantile != "p95" || !strings.Contains(v.Reason(), "p95") || !strings.Contains(v.Reason(), "no p99") {
		t.Errorf("verdict %+v", v)
	}
	// within the SLO at p95, one sample above it: pass, with a note that the p99 was not judged
	ss := simSamples("get", 25, 10, 1)
	ss[3].MS = 5000
	v = Judge(Measurement{Seconds: 5, Samples: ss}, criteria2("get"))
	if v.Verdict != Pass || !strings.Contains(strings.Join(v.Notes, ";"), "p99 SLO not judged") {
		t.Errorf("verdict %+v", v)
	}
	// one sample: too few to judge any percentile
	v = Judge(Measurement{Seconds: 5, Samples: simSamples("get", 1, 5000, 1)}, criteria2("get"))
	if v.Verdict != Pass || !strings.Contains(strings.Join(v.Notes, ";"), "too few samples") {
		t.Errorf("verdict %+v", v)
	}
}

func criteria2(kind string) Criteria {
	c := criteria()
	c.SLO[kind] = 1000
	return c
}

func TestJudgeRatiosNeedSignificance(t *testing.T) {
	// 1 error of 25 (4%) is above a 1% ceiling but not significantly; 5 of 25 is.
	for _, c := range []struct {
		errs int
		want string
	}{{1, Pass}, {5, Fail}} {
		ss := simSamples("get", 25, 5, 1)
		for i := 0; i < c.errs; i++ {
			ss[i].Err = true
		}
		v := Judge(Measurement{Seconds: 5, Samples: ss}, criteria())
		if v.Verdict != c.want || (c.want == Fail && v.Criterion != CriterionErrors) {
			t.Errorf("%d errors of 25: %+v", c.errs, v)
		}
	}
	// throttled writes: 3% of 1000 is significantly above 1%
	ws := simSamples(Writes, 1000, 5, 2)
	for i := 0; i < 30; i++ {
		ws[i*30].Throttled = true
	}
	v := Judge(Measurement{Seconds: 30, Samples: ws, Requested: 1000, Delivered: 1000}, criteria())
	if v.Verdict != Fail || v.Criterion != CriterionThrottling || !strings.Contains(v.Reason(), "429") {
		t.Errorf("throttled: %+v", v)
	}
}

func TestJudgeTrend(t *testing.T) {
	// writes whose latency climbs from 20 ms to 900 ms over the step: within the SLO at p99, but rising
	var ws []Sample
	for i := 0; i < 600; i++ {
		at := float64(i) / 20
		ws = append(ws, Sample{Kind: Writes, At: at, MS: 20 + 880*at/30 + float64(i%7)})
	}
	v := Judge(Measurement{Seconds: 30, Samples: ws, Requested: 600, Delivered: 600}, criteria())
	if v.Verdict != Fail || v.Criterion != CriterionTrend || v.Trend == nil || !v.Trend.Rising {
		t.Errorf("rising: %+v %+v", v, v.Trend)
	}
	// flat noise: no trend
	v = Judge(Measurement{Seconds: 30, Samples: simSamples(Writes, 600, 50, 3), Requested: 600, Delivered: 600}, criteria())
	if v.Verdict != Pass || v.Trend == nil || v.Trend.Rising {
		t.Errorf("flat: %+v %+v", v, v.Trend)
	}
	// a significant but small rise (3 to 8 ms) is not queueing that threatens the SLO
	ws = nil
	for i := 0; i < 600; i++ {
		at := float64(i) / 20
		ws = append(ws, Sample{Kind: Writes, At: at, MS: 3 + 5*at/30})
	}
	v = Judge(Measurement{Seconds: 30, Samples: ws, Requested: 600, Delivered: 600}, criteria())
	if v.Verdict != Pass || v.Trend.P >= 0.01 {
		t.Errorf("small rise: %+v %+v", v, v.Trend)
	}
	// too few windows: said, not judged
	v = Judge(Measurement{Seconds: 30, Samples: simSamples(Writes, 20, 50, 3), Requested: 20, Delivered: 20}, criteria())
	if v.Verdict != Pass || !strings.Contains(strings.Join(v.Notes, ";"), "trend not judged") {
		t.Errorf("few: %+v", v)
	}
}

func TestJudgeDelivery(t *testing.T) {
	m := Measurement{Seconds: 30, Samples: simSamples(Writes, 400, 5, 1), Requested: 1000, Delivered: 900, RequestedRate: 33.3, DeliveredRate: 30,
		Limit: "server", LimitReason: "it throttled 80 writes"}
	if v := Judge(m, criteria()); v.Verdict != Fail || v.Criterion != CriterionDelivery {
		t.Errorf("server: %+v", v)
	}
	m.Limit = "client"
	if v := Judge(m, criteria()); v.Verdict != Inconclusive || !strings.Contains(v.Reason(), "distributed load") {
		t.Errorf("client: %+v", v)
	}
	m.Delivered = 960
	if v := Judge(m, criteria()); v.Verdict != Pass {
		t.Errorf("0.96 delivered: %+v", v)
	}
}
