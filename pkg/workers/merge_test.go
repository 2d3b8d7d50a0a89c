package workers

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// TestMergePercentilesOfTheUnion: three workers with different latency distributions (a fast one, a middling one,
// and one with a slow tail): the merged p50/p99 of write latency and lag, and of notification latency, are the
// nearest-rank percentiles of all their samples together, not the mean of the workers' own percentiles (which here
// differ by a wide margin); counts and rates are summed.
func TestMergePercentilesOfTheUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := NewMerger()
	var all, allLag, allNotify []float64
	var results []churn.Result
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var perWorkerP99 []float64
	for w, scale := range []float64{2, 10, 400} {
		var own []float64
		n := 300 + 100*w
		for i := range n {
			lat := math.Round(scale*(1+rng.ExpFloat64())*1000) / 1000
			lag := math.Round(rng.Float64()*5*1000) / 1000
			m.Add(churn.Sample{Row: churn.RowCreate, Verb: "create", LatencyMS: lat, LagMS: lag, Seq: int64(i)})
			m.Add(churn.Sample{Row: churn.RowNotifyAdd, Verb: "add", LatencyMS: lat + 1})
			all, allLag, allNotify, own = append(all, lat), append(allLag, lag), append(allNotify, lat+1), append(own, lat)
		}
		slices.Sort(own)
		perWorkerP99 = append(perWorkerP99, probe.Percentile(own, 0.99))
		results = append(results, churn.Result{Start: start, Objects: int64(n),
			Delivery: churn.Delivery{From: start, To: start.Add(10 * time.Second), Seconds: 10, Requested: n, Issued: n, Delivered: n - w,
				Completed: n, Succeeded: n - w, LiveMax: 10 * (w + 1)},
			Windows:       []churn.Window{{Start: start, Requested: n / 2}, {Start: start.Add(time.Second), Requested: n - n/2}},
			Notifications: churn.Notifications{Watchers: 1, Add: churn.NotifyCounts{Expected: n, Seen: n}}})
	}
	r := m.Merge(results)
	slices.Sort(all)
	slices.Sort(allLag)
	slices.Sort(allNotify)
	d := r.Delivery
	if want := probe.Percentile(all, 0.99); d.LatencyP99MS != want {
		t.Errorf("merged latency p99 %v, want the p99 of the union %v", d.LatencyP99MS, want)
	}
	if want := probe.Percentile(all, 0.5); d.LatencyP50MS != want {
		t.Errorf("merged latency p50 %v, want %v", d.LatencyP50MS, want)
	}
	if want := probe.Percentile(allLag, 0.99); d.LagP99MS != want || d.LagMaxMS != allLag[len(allLag)-1] {
		t.Errorf("merged lag p99/max %v/%v, want %v/%v", d.LagP99MS, d.LagMaxMS, want, allLag[len(allLag)-1])
	}
	if want := probe.Percentile(allNotify, 0.99); r.Notifications.Add.P99MS != want {
		t.Errorf("merged notify:add p99 %v, want %v", r.Notifications.Add.P99MS, want)
	}
	mean := (perWorkerP99[0] + perWorkerP99[1] + perWorkerP99[2]) / 3
	if math.Abs(mean-d.LatencyP99MS) < 1 {
		t.Fatalf("test data too weak: the mean of the workers' p99s (%v) is the merged p99 (%v)", mean, d.LatencyP99MS)
	}
	// counts summed, rates over the common span, the ratio recomputed
	if d.Requested != 300+400+500 || d.Delivered != 1200-3 || d.Succeeded != 1197 || r.Objects != 1200 || d.LiveMax != 60 {
		t.Errorf("counts not summed: %+v objects %d", d, r.Objects)
	}
	if d.RequestedRate != 120 || math.Abs(d.Ratio-1197.0/1200) > 1e-12 || !r.Verdict.Delivered {
		t.Errorf("rate %v ratio %v verdict %+v", d.RequestedRate, d.Ratio, r.Verdict)
	}
	if len(r.Windows) != 2 || r.Windows[0].Requested+r.Windows[1].Requested != 1200 || !r.Windows[1].Start.Equal(start.Add(time.Second)) {
		t.Errorf("windows not summed by index: %+v", r.Windows)
	}
	if r.Notifications.Watchers != 3 || r.Notifications.Add.Seen != 1200 {
		t.Errorf("notifications not summed: %+v", r.Notifications)
	}
}

// TestWorkerConfigShares: n workers get rate/n each, the counts add up to the whole, names are disjoint and every
// worker has its own arrival stream.
func TestWorkerConfigShares(t *testing.T) {
	base := churn.Config{Rate: 30, Count: 10, NamePrefix: "pyrometer-api", ID: "abc", Seed: 7}
	total := 0
	names := map[string]bool{}
	for i := range 3 {
		c := WorkerConfig(base, 3, i)
		if c.Rate != 10 || c.ID != "" || c.Seed != 0 {
			t.Errorf("worker %d: %+v", i, c)
		}
		total += c.Count
		names[c.NamePrefix] = true
	}
	if total != 10 || len(names) != 3 {
		t.Errorf("counts sum to %d (want 10), %d distinct prefixes (want 3)", total, len(names))
	}
}

// TestSpecRoundTrip: the spec survives its --spec encoding; a bad one is refused with a line naming --spec.
func TestSpecRoundTrip(t *testing.T) {
	s := Spec{Namespace: "ns", StartConfigMap: "cm", Workers: 2, Window: 5 * time.Second,
		Loads: []churn.Config{{Rate: 4, Kind: churn.Secret, Lifetime: time.Second, NamePrefix: "p"}}}
	arg, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSpec(arg)
	if err != nil || got.Loads[0].Kind != churn.Secret || got.Loads[0].Lifetime != time.Second || got.Window != s.Window {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := DecodeSpec("!!"); err == nil || err.Error()[:14] != "invalid --spec" {
		t.Errorf("bad spec: %v", err)
	}
}

// TestSize: requests grow with the load asked of a worker.
func TestSize(t *testing.T) {
	c0, m0 := Size(0, 0, 0)
	c1, m1 := Size(100, 100, 3000)
	if c0 != BaseCPUMillis || m0 != BaseMemoryMi || c1 != BaseCPUMillis+400 || m1 != BaseMemoryMi+20+6 {
		t.Errorf("Size: %d %d / %d %d", c0, m0, c1, m1)
	}
}
