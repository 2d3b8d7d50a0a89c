package run

import (
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// What a run holds in memory per probe sample it has taken: a 24-hour run takes millions. The samples go to
// probe.jsonl; in memory only their statistics (a 4-byte latency and counters). Holding the samples themselves
// costs 160 bytes each before their strings.
func TestSinkMemoryPerSample(t *testing.T) {
	const n = 250_000
	r, err := New(Config{Selection: &modes.Selection{Modes: []*modes.Mode{{Name: "api"}}}, Steps: 1}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	r.jsonl = result.NewJSONLWriter(io.Discard)
	r.phase.Store("ramp-step-1")
	t0 := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		r.sink(probe.Sample{TS: t0.Add(time.Duration(i) * time.Millisecond), Phase: "ramp-step-1", Kind: probe.AllKinds[i%len(probe.AllKinds)],
			Verb: "get", LatencyMS: float64(1000+i%50000) / 1000, Status: 200, Seq: int64(i), Source: probe.SourceLocal})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(r)
	if per := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n; per > 24 {
		t.Errorf("the run holds %.0f bytes per sample taken, want <= 24", per)
	}
}

// finish computes from the aggregate exactly what it computed from every sample: per phase and source the
// ByKind rows, the verdicts, and the recovery against the baseline's p50.
func TestFinishMatchesSortAll(t *testing.T) {
	r, err := New(Config{Selection: &modes.Selection{Modes: []*modes.Mode{{Name: "api"}}}, Steps: 1}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	r.jsonl = result.NewJSONLWriter(io.Discard)
	r.dir = t.TempDir()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r.res = &result.Doc{}
	rng := rand.New(rand.NewPCG(11, 12))
	var all []probe.Sample
	for p, name := range []string{"baseline", "ramp-step-1", "teardown", "recovery"} {
		start := t0.Add(time.Duration(p) * time.Minute)
		r.res.Phases = append(r.res.Phases, result.Phase{Name: name, Start: start, End: start.Add(time.Minute), Status: result.StatusPass})
		for i := range 600 {
			s := probe.Sample{TS: start.Add(time.Duration(i) * 100 * time.Millisecond), Phase: name, Kind: probe.AllKinds[rng.IntN(len(probe.AllKinds))],
				LatencyMS: float64(rng.IntN(40000)+500) / 1000 * float64(1+p%2*10), Status: 200, Source: probe.SourceLocal}
			if rng.IntN(4) == 0 {
				s.Source, s.Phase = probe.SourceCluster, ""
			}
			if rng.IntN(30) == 0 {
				s.LatencyMS, s.Status, s.Error = 10000, 0, "timeout"
			}
			if name == "teardown" && s.Source == probe.SourceLocal {
				continue // no local probe while tearing down
			}
			r.phase.Store(name)
			if s.Source == probe.SourceCluster {
				// in-cluster samples are attributed by their timestamps (TestClusterSamplesAttributedByTimestamp);
				// here they come attributed
				s.Phase = name
				r.agg.Add(s)
			} else {
				r.sink(s)
			}
			all = append(all, s)
		}
	}
	r.finish(false)

	byPhase := map[string][]probe.Sample{}
	for _, s := range all {
		if s.Source == probe.SourceCluster {
			s.Phase += "@cluster"
		}
		byPhase[s.Phase] = append(byPhase[s.Phase], s)
	}
	var want []probe.Stats
	for _, ph := range r.res.Phases {
		for _, suffix := range []string{"", "@cluster"} {
			ss, ok := byPhase[ph.Name+suffix]
			if !ok {
				continue
			}
			for _, st := range probe.ByKind(ss) {
				st.Phase = ph.Name + suffix
				want = append(want, st)
			}
		}
	}
	if !reflect.DeepEqual(r.res.Stats, want) {
		t.Fatalf("stats differ:\n got %+v\nwant %+v", r.res.Stats, want)
	}
	rec := result.RecoveryTime(byPhase["recovery"], result.NewRecoveryBaseline(byPhase["baseline"]), result.DefaultRecoveryWindow)
	if r.res.Recovery == nil || !reflect.DeepEqual(*r.res.Recovery, rec) {
		t.Fatalf("recovery = %+v, want %+v", r.res.Recovery, rec)
	}
	if len(r.res.Verdicts) == 0 {
		t.Fatal("no verdicts")
	}
}
