package probe

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
)

func latencies(kind Kind, ms ...float64) []Sample {
	out := make([]Sample, len(ms))
	for i, v := range ms {
		out[i] = Sample{Kind: kind, Phase: "baseline", LatencyMS: v, Seq: int64(i + 1), Status: 200}
	}
	return out
}

func oneTo(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := oneTo(100)
	ten := oneTo(10)
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"1..100 p50", hundred, 0.50, 50},
		{"1..100 p90", hundred, 0.90, 90},
		{"1..100 p95", hundred, 0.95, 95},
		{"1..100 p99", hundred, 0.99, 99},
		{"1..100 p07 (float product 7.000000000000001)", hundred, 0.07, 7},
		{"1..10 p50", ten, 0.50, 5},
		{"1..10 p90", ten, 0.90, 9},
		{"1..10 p95 is the max", ten, 0.95, 10},
		{"1..10 p99 is the max", ten, 0.99, 10},
		{"p0 is the min", ten, 0, 1},
		{"p100 is the max", ten, 1, 10},
		{"single sample", []float64{7.5}, 0.5, 7.5},
		{"no interpolation between 1 and 3", []float64{1, 3}, 0.75, 3},
		{"empty", nil, 0.99, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("Percentile(p=%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestMinSamplesMatchRankRule(t *testing.T) {
	// A percentile is supported exactly when its nearest rank is below n, i.e. n >= 1/(1-p).
	for _, pc := range percentiles {
		if r := rank(pc.p, pc.min); r >= pc.min {
			t.Errorf("%s with %d samples: rank %d is the maximum, so the minimum is too small", pc.name, pc.min, r)
		}
		if r := rank(pc.p, pc.min-1); r < pc.min-1 {
			t.Errorf("%s with %d samples: rank %d is below the maximum, so the minimum is too large", pc.name, pc.min-1, r)
		}
	}
}

func TestCompute(t *testing.T) {
	t.Run("1..100", func(t *testing.T) {
		got := Compute(latencies(KindGet, oneTo(100)...))
		want := Stats{Kind: "get", Phase: "baseline", Count: 100, Min: 1, P50: 50, P90: 90, P95: 95, P99: 99, Max: 100, Mean: 50.5}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Compute(1..100) =\n%+v, want\n%+v", got, want)
		}
	})
	t.Run("1..10 flags p95 and p99", func(t *testing.T) {
		// Shuffled input: Compute must sort.
		got := Compute(latencies(KindListCluster, 10, 3, 7, 1, 9, 2, 8, 4, 6, 5))
		want := Stats{Kind: "list-cluster", Phase: "baseline", Count: 10, Min: 1, P50: 5, P90: 9, P95: 10, P99: 10, Max: 10, Mean: 5.5,
			LowCount: []string{"p95", "p99"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Compute(1..10) =\n%+v, want\n%+v", got, want)
		}
	})
	t.Run("one sample flags everything", func(t *testing.T) {
		got := Compute(latencies(KindGet, 4))
		if !slices.Equal(got.LowCount, []string{"p50", "p90", "p95", "p99"}) {
			t.Errorf("LowCount = %v, want every percentile", got.LowCount)
		}
	})
	t.Run("errors count and keep their latency", func(t *testing.T) {
		s := latencies(KindMutate, 2, 4, 6, 8)
		s[3] = Sample{Kind: KindMutate, Phase: "baseline", LatencyMS: 10000, Error: "timeout after 10s: context deadline exceeded"}
		s[1].Error, s[1].Status = "conflict", 409
		got := Compute(s)
		if got.Count != 4 || got.Errors != 2 || got.ErrorPct != 50 {
			t.Errorf("Count/Errors/ErrorPct = %d/%d/%v, want 4/2/50", got.Count, got.Errors, got.ErrorPct)
		}
		if got.Max != 10000 || got.P50 != 4 || got.Mean != 2503 {
			t.Errorf("Max/P50/Mean = %v/%v/%v, want the timeout counted at 10000 ms: 10000/4/2503", got.Max, got.P50, got.Mean)
		}
	})
	t.Run("error pct and mean rounded", func(t *testing.T) {
		s := latencies(KindGet, 1, 1, 2)
		s[0].Error = "boom"
		got := Compute(s)
		if got.ErrorPct != 33.333 || got.Mean != 1.333 {
			t.Errorf("ErrorPct/Mean = %v/%v, want 33.333/1.333", got.ErrorPct, got.Mean)
		}
	})
	t.Run("mixed kinds and phases", func(t *testing.T) {
		s := append(latencies(KindGet, 1), latencies(KindWatch, 2)...)
		s[1].Phase = "step-1"
		got := Compute(s)
		if got.Kind != "all" || got.Phase != "" {
			t.Errorf("Kind/Phase = %q/%q, want all/\"\"", got.Kind, got.Phase)
		}
	})
}

func TestComputeEmpty(t *testing.T) {
	got := Compute(nil)
	want := Stats{LowCount: []string{"p50", "p90", "p95", "p99"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compute(nil) = %+v, want %+v", got, want)
	}
	for _, v := range []float64{got.ErrorPct, got.Min, got.P50, got.P90, got.P95, got.P99, got.Max, got.Mean} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("Compute(nil) has a non-finite value: %+v", got)
		}
	}
	b, err := json.Marshal(ByKind(nil))
	if err != nil {
		t.Fatalf("json.Marshal(ByKind(nil)): %v", err)
	}
	const wantJSON = `[{"kind":"all","count":0,"errors":0,"error_pct":0,"min_ms":0,"p50_ms":0,"p90_ms":0,"p95_ms":0,"p99_ms":0,"max_ms":0,"mean_ms":0,"low_count":["p50","p90","p95","p99"]}]`
	if string(b) != wantJSON {
		t.Errorf("ByKind(nil) JSON =\n%s\nwant\n%s", b, wantJSON)
	}
}

func TestByKind(t *testing.T) {
	// Input order differs from AllKinds order; readyz and list kinds are absent.
	s := append(latencies(KindWatch, 30, 10, 20), latencies(KindGet, 2, 1)...)
	s = append(s, latencies(KindMutate, 5)...)
	got := ByKind(s)
	var kinds []string
	for _, st := range got {
		kinds = append(kinds, st.Kind)
	}
	if want := []string{"get", "mutate", "watch", "all"}; !slices.Equal(kinds, want) {
		t.Fatalf("ByKind kinds = %v, want %v", kinds, want)
	}
	if got[0].Count != 2 || got[0].Max != 2 || got[2].P50 != 20 || got[2].Count != 3 {
		t.Errorf("per-kind rows wrong: get=%+v watch=%+v", got[0], got[2])
	}
	all := got[3]
	if all.Count != 6 || all.Min != 1 || all.Max != 30 || all.Phase != "baseline" {
		t.Errorf("all row = %+v, want Count 6, Min 1, Max 30, Phase baseline", all)
	}
}
