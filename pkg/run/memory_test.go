package run

import (
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/plan"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
)

// What a run holds in memory per probe sample it has taken: a 24-hour run takes millions. The samples go to
// probe.jsonl; in memory only their statistics (a 4-byte latency and counters). Holding the samples themselves
// costs 160 bytes each before their strings.
func TestSinkMemoryPerSample(t *testing.T) {
	const n = 250_000
	r, err := New(Config{Selection: &plan.Selection{Modes: []*plan.Mode{{Name: "api"}}}, Steps: 1}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	r.jsonl = report.NewJSONLWriter(io.Discard)
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
