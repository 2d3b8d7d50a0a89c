package report

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// samples24h is a 24-hour probe's worth of samples: 10 per second for each of the 6 kinds.
const samples24h = 24 * 3600 * 10 * 6

// benchSample is sample i of a 24-hour probe with --probe-from both: every other sample comes from the in-cluster
// probe and, decoded from its JSON stream, holds its own copies of its strings; 1 % are timeouts (their error
// text built per sample, as the prober does).
func benchSample(t0 time.Time, i int) probe.Sample {
	s := probe.Sample{TS: t0.Add(time.Duration(i) * 100 * time.Millisecond / 6), Phase: "probe", Kind: probe.AllKinds[i%len(probe.AllKinds)],
		Verb: "get", LatencyMS: float64(800+(i*7919)%40000) / 1000, LagMS: 0.012, Status: 200, Seq: int64(i/6 + 1),
		Source: probe.SourceLocal, PriorityLevel: "workload-low"}
	if i%100 == 99 {
		s.LatencyMS, s.Status, s.Error = 10000, 0, fmt.Sprintf("timeout after %v: context deadline exceeded", 10*time.Second)
	}
	if i%2 == 1 {
		s.Source = probe.SourceCluster
		s.Phase, s.Kind, s.Verb, s.Source, s.PriorityLevel = strings.Clone(s.Phase), probe.Kind(strings.Clone(string(s.Kind))),
			strings.Clone(s.Verb), strings.Clone(s.Source), strings.Clone(s.PriorityLevel)
	}
	return s
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// BenchmarkStats5M measures, in one run, the memory a 24-hour probe (5.2 M samples) holds for its statistics and
// progress line: the old way (every probe.Sample in a slice, statistics by sorting all of them, recomputed for
// each progress line) against the new (probe.Aggregate with the running p99; plus the 16-byte SampleLog a probe
// without --output-dir keeps for its sparklines). Metrics: MB of live heap and bytes per sample of each, the
// ratios new/old, and the MB one old-style progress line allocated. Run: hack/bench-memory.sh.
func BenchmarkStats5M(b *testing.B) {
	n := samples24h
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	mb := func(v uint64) float64 { return float64(v) / (1 << 20) }
	for range b.N {
		// New: the aggregate (and the log), as pkg/cmd/probe.go's sink keeps them.
		base := liveHeap()
		start := time.Now()
		agg := probe.NewAggregate()
		agg.TrackProgress()
		for i := range n {
			agg.Add(benchSample(t0, i))
		}
		addTime := time.Since(start)
		newHeap := liveHeap() - base
		ta := totalAlloc()
		_, _, newP99 := agg.Progress()
		progressNew := totalAlloc() - ta
		local := agg.ByKind(probe.SourceLocal, "probe")
		log := &result.SampleLog{}
		for i := range n {
			log.Add(benchSample(t0, i))
		}
		logHeap := liveHeap() - base - newHeap
		runtime.KeepAlive(agg)
		runtime.KeepAlive(log)
		agg, log = nil, nil

		// Old: every sample in a []probe.Sample, as the sink held them; a progress line sorted them all.
		base = liveHeap()
		var samples []probe.Sample
		for i := range n {
			samples = append(samples, benchSample(t0, i))
		}
		oldHeap := liveHeap() - base
		ta = totalAlloc()
		old := probe.Compute(samples)
		progressOld := totalAlloc() - ta
		var loc []probe.Sample
		for _, s := range samples {
			if s.Source != probe.SourceCluster {
				loc = append(loc, s)
			}
		}
		oldLocal := probe.ByKind(loc)
		runtime.KeepAlive(samples)
		samples, loc = nil, nil
		if newP99 != old.P99 || fmt.Sprint(local) != fmt.Sprint(oldLocal) {
			b.Fatalf("new and old statistics differ: p99 %v vs %v\n%v\n%v", newP99, old.P99, local, oldLocal)
		}

		b.ReportMetric(mb(oldHeap), "old-MB")
		b.ReportMetric(mb(newHeap), "new-MB")
		b.ReportMetric(mb(newHeap+logHeap), "new+log-MB")
		b.ReportMetric(float64(oldHeap)/float64(n), "old-B/sample")
		b.ReportMetric(float64(newHeap)/float64(n), "new-B/sample")
		b.ReportMetric(float64(newHeap+logHeap)/float64(n), "new+log-B/sample")
		b.ReportMetric(float64(newHeap)/float64(oldHeap), "new/old")
		b.ReportMetric(float64(newHeap+logHeap)/float64(oldHeap), "new+log/old")
		b.ReportMetric(mb(progressOld), "old-progress-MB")
		b.ReportMetric(mb(progressNew), "new-progress-MB")
		b.ReportMetric(float64(addTime.Nanoseconds())/float64(n), "new-ns/sample")
	}
}
