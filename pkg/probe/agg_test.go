package probe

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// randomSamples draws n samples over a few sources, phases and kinds (one kind unknown to AllKinds), with
// errors and timeouts (counted at the request timeout), latencies in whole µs as the prober records them, a
// few that are not whole µs, and duplicates.
func randomSamples(rng *rand.Rand, n int) []Sample {
	kinds := append(slices.Clone(AllKinds), Kind("future-kind"))
	phases := []string{"baseline", "ramp-step-1", "ramp-step-2", "recovery"}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	out := make([]Sample, n)
	for i := range out {
		s := Sample{TS: t0.Add(time.Duration(rng.IntN(3600)) * time.Second), Kind: kinds[rng.IntN(len(kinds))],
			Phase: phases[rng.IntN(len(phases))], Status: 200, Seq: int64(i + 1)}
		if rng.IntN(3) == 0 {
			s.Source = SourceCluster
		} else if rng.IntN(2) == 0 {
			s.Source = SourceLocal
		} // else "": local too
		s.LatencyMS = round3(math.Exp(rng.NormFloat64()*1.5 + 2))
		switch r := rng.IntN(100); {
		case r < 5:
			s.LatencyMS, s.Error, s.Status = 10000, "timeout after 10s: context deadline exceeded", 0
		case r < 12:
			s.Error, s.Status = "the server is currently unable to handle the request", 503
		case r < 14:
			s.LatencyMS = rng.Float64() * 50 // not whole µs: must stay exact too
		case r < 20:
			s.LatencyMS = float64(rng.IntN(5)) // many ties
		}
		out[i] = s
	}
	return out
}

// The aggregate gives exactly the figures of the sort-all computation (ByKind / Compute), for every source and
// phase, on random data of many sizes (small counts exercise the low-count flags), errors and timeouts included.
func TestAggregateMatchesCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 10, 19, 20, 50, 99, 100, 101, 1000, 20000} {
		samples := randomSamples(rng, n)
		a := NewAggregate("recovery")
		a.TrackProgress()
		for _, s := range samples {
			a.Add(s)
		}
		groups := map[poolKey][]Sample{}
		for _, s := range samples {
			k := poolKey{SourceOf(s), s.Phase}
			groups[k] = append(groups[k], s)
		}
		for k, ss := range groups {
			want := ByKind(ss)
			if got := a.ByKind(k.source, k.phase); !reflect.DeepEqual(got, want) {
				t.Fatalf("n=%d %v: ByKind\n got %+v\nwant %+v", n, k, got, want)
			}
			if got, want := a.Pooled(k.source, k.phase), Compute(ss); !reflect.DeepEqual(got, want) {
				t.Fatalf("n=%d %v: Pooled\n got %+v\nwant %+v", n, k, got, want)
			}
			var ok []float64
			for _, s := range ss {
				if s.Error == "" {
					ok = append(ok, s.LatencyMS)
				}
			}
			slices.Sort(ok)
			if got, want := a.SuccessPercentile(k.source, k.phase, 0.5), Percentile(ok, 0.5); got != want {
				t.Fatalf("n=%d %v: success p50 %v, want %v", n, k, got, want)
			}
		}
		for _, k := range a.Keys() {
			var want []float64
			errs := 0
			for _, s := range samples {
				if SourceOf(s) == k.Source && s.Phase == k.Phase && s.Kind == k.Kind {
					if s.Error != "" {
						errs++
					} else {
						want = append(want, s.LatencyMS)
					}
				}
			}
			slices.Sort(want)
			got, gotErrs := a.Successes(k)
			if !slices.Equal(got, want) || gotErrs != errs {
				t.Fatalf("n=%d %v: Successes = %d values, %d errors; want %d, %d", n, k, len(got), gotErrs, len(want), errs)
			}
		}
		all := Compute(samples)
		if c, e, p99 := a.Progress(); c != all.Count || e != all.Errors || p99 != all.P99 {
			t.Fatalf("n=%d: Progress = %d/%d/%v, want %d/%d/%v", n, c, e, p99, all.Count, all.Errors, all.P99)
		}
		var rec []Sample
		for _, s := range samples {
			if s.Phase == "recovery" {
				rec = append(rec, s)
			}
		}
		if got := a.Samples("recovery"); !reflect.DeepEqual(got, rec) {
			t.Fatalf("n=%d: kept recovery samples differ", n)
		}
		if a.Has(SourceLocal, "nope") || a.ByKind(SourceLocal, "nope") != nil {
			t.Fatalf("n=%d: an absent phase has samples", n)
		}
	}
}

// The progress p99 is exact after every single sample, not only at the end.
func TestAggregateProgressIncremental(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	samples := randomSamples(rng, 3000)
	a := NewAggregate()
	a.TrackProgress()
	var lat []float64
	for i, s := range samples {
		if s.LatencyMS != round3(s.LatencyMS) {
			s.LatencyMS = round3(s.LatencyMS) // the progress quantile keeps µs
		}
		a.Add(s)
		lat = append(lat, s.LatencyMS)
		if i%37 == 0 || i == len(samples)-1 {
			sorted := slices.Sorted(slices.Values(lat))
			if _, _, p99 := a.Progress(); p99 != Percentile(sorted, 0.99) {
				t.Fatalf("after %d samples: p99 %v, want %v", i+1, p99, Percentile(sorted, 0.99))
			}
		}
	}
}

// What the aggregate holds per sample: 4 bytes of latency in its group plus 4 in the progress quantile, with
// slack for slice growth. A []Sample costs 160 bytes a sample before its strings.
func TestAggregateMemoryPerSample(t *testing.T) {
	const n = 1_000_000
	a := NewAggregate()
	a.TrackProgress()
	t0 := time.Now()
	for i := range n {
		a.Add(Sample{TS: t0.Add(time.Duration(i) * time.Millisecond), Phase: "probe", Kind: AllKinds[i%len(AllKinds)],
			Verb: "get", LatencyMS: float64(1000+i%50000) / 1000, Status: 200, Source: SourceLocal})
	}
	if per := float64(a.Bytes()) / n; per > 20 {
		t.Errorf("aggregate holds %.1f bytes per sample, want <= 20", per)
	}
}

func TestByKindReportsKindsOutsideTheTable(t *testing.T) {
	var samples []Sample
	for i := 0; i < 5; i++ {
		samples = append(samples, Sample{Phase: "p", Kind: "pod-startup", LatencyMS: float64(100 + i), Status: 200},
			Sample{Phase: "p", Kind: KindGet, LatencyMS: float64(1 + i), Status: 200},
			Sample{Phase: "p", Kind: "pod-schedule", LatencyMS: float64(10 + i), Status: 200})
	}
	a := NewAggregate()
	for _, s := range samples {
		a.Add(s)
	}
	for name, rows := range map[string][]Stats{"Aggregate.ByKind": a.ByKind(SourceLocal, "p"), "ByKind": ByKind(samples)} {
		var kinds []string
		for _, r := range rows {
			kinds = append(kinds, r.Kind)
		}
		if got, want := strings.Join(kinds, ","), "get,pod-startup,pod-schedule,all"; got != want {
			t.Errorf("%s kinds = %s, want %s", name, got, want)
		}
		if rows[1].Count != 5 || rows[1].P50 != 102 {
			t.Errorf("%s pod-startup row = %+v", name, rows[1])
		}
	}
}
