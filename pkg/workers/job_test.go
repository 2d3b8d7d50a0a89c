package workers

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
)

func testJob(n int, loads ...churn.Config) (*Job, *[]churn.Sample) {
	var got []churn.Sample
	j := &Job{cfg: JobConfig{Spec: Spec{Workers: n, Loads: loads}}, sink: func(s churn.Sample) { got = append(got, s) }}
	for i := range n {
		j.workers = append(j.workers, &worker{index: i, pod: "p-" + string(rune('0'+i)), offset: math.NaN(), results: make([]*churn.Result, len(loads))})
	}
	for range loads {
		j.merge = append(j.merge, NewMerger())
	}
	return j, &got
}

func lineOf(t *testing.T, l Line) []byte {
	t.Helper()
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStreamClockOffsetAndAccounts: a worker whose clock runs 500 ms ahead: its offset is estimated from its writes
// (finished on its clock minus arrival here), its samples reach the sink on the plugin's clock, its counts and its
// account are kept; a worker that sent no account fails the merged verdict and is named.
func TestStreamClockOffsetAndAccounts(t *testing.T) {
	j, got := testJob(2, churn.Config{Rate: 10, NamePrefix: "pyrometer-churn"})
	here := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ahead := 500 * time.Millisecond
	for i := range 5 {
		start := here.Add(time.Duration(i) * 100 * time.Millisecond)
		s := churn.Sample{TS: start.Add(ahead), Start: start.Add(ahead), Row: churn.RowCreate, Verb: "create", LatencyMS: 10}
		if i == 4 {
			s.Error = "boom"
		}
		// arrives 10 ms (its latency) + 2 ms after it was sent, on this clock
		j.line(j.workers[0], lineOf(t, Line{Sample: &s}), start.Add(12*time.Millisecond))
	}
	res := churn.Result{Delivery: churn.Delivery{Requested: 5, Delivered: 4, Seconds: 1, Ratio: 0.8}}
	j.line(j.workers[0], lineOf(t, Line{Result: &res}), here)
	j.line(j.workers[0], lineOf(t, Line{Done: true}), here)
	j.line(j.workers[0], []byte("a warning, not JSON"), here)
	w := j.workers[0]
	if math.Abs(w.offset-498) > 1e-6 || w.samples != 5 || w.errors != 1 || !w.done || w.lines != 8 {
		t.Fatalf("worker 0: offset %v samples %d errors %d done %v lines %d", w.offset, w.samples, w.errors, w.done, w.lines)
	}
	if d := (*got)[0].Start.Sub(here); d < 0 || d > 3*time.Millisecond {
		t.Errorf("the first sample's start on this clock is %v from the truth", d)
	}
	out := j.outcome()
	if out.Rows[0][1].Failure != "sent no account of this load" || out.Results[0].Verdict.Delivered {
		t.Errorf("a worker without an account must fail the merge: %+v", out)
	}
	if out.Rows[0][0].Samples != 5 || out.Rows[0][0].Errors != 1 || out.Rows[0][0].Rate != 5 || out.Rows[0][0].ClockOffsetMS != 498 {
		t.Errorf("row of worker 0: %+v", out.Rows[0][0])
	}
}

// TestFailureNamesTheFirstRealFailure: the worker that failed is named, not one the Job controller deleted after it.
func TestFailureNamesTheFirstRealFailure(t *testing.T) {
	j, _ := testJob(8, churn.Config{Rate: 80, NamePrefix: "p"})
	now := time.Now()
	j.workers[0].failure, j.workers[0].endedAt = "was deleted before it sent its account", now
	j.workers[2].failure, j.workers[2].endedAt = "OOMKilled (exit code 137)", now.Add(time.Second)
	j.workers[5].failure, j.workers[5].endedAt = "was deleted before it sent its account", now.Add(-time.Second)
	got := j.Failure()
	if !strings.HasPrefix(got, "worker 3 of 8 (pod p-2) OOMKilled (exit code 137)") || !strings.Contains(got, "2 more") {
		t.Errorf("failure: %q", got)
	}
}
