package report

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// randomRun draws samples over three phases, both sources, several kinds (one unknown), with errors and
// timeouts, in an order that is not sorted by time (in-cluster samples arrive late).
func randomRun(rng *rand.Rand, n int) ([]probe.Sample, []result.Phase) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	kinds := []probe.Kind{probe.KindReadyz, probe.KindGet, probe.KindListCluster, probe.KindWatch, "future-kind"}
	phases := []result.Phase{
		{Name: "baseline", Type: result.PhaseTypeProbe, Start: t0, End: t0.Add(20 * time.Second), Status: result.StatusPass},
		{Name: "ramp-step-1", Type: result.PhaseTypeRamp, Start: t0.Add(20 * time.Second), End: t0.Add(50 * time.Second), Status: result.StatusFail},
		{Name: "recovery", Type: result.PhaseTypeRecovery, Start: t0.Add(50 * time.Second), End: t0.Add(70 * time.Second), Status: result.StatusPass},
	}
	out := make([]probe.Sample, n)
	for i := range out {
		at := time.Duration(rng.Int64N(int64(70 * time.Second)))
		s := probe.Sample{TS: t0.Add(at), Kind: kinds[rng.IntN(len(kinds))], Verb: "get", Status: 200, Seq: int64(i + 1),
			LatencyMS: float64(rng.IntN(200000)) / 1000, Source: probe.SourceLocal}
		for _, p := range phases {
			if !s.TS.Before(p.Start) {
				s.Phase = p.Name
			}
		}
		if rng.IntN(3) == 0 {
			s.Source = probe.SourceCluster
		}
		if r := rng.IntN(20); r == 0 {
			s.LatencyMS, s.Status, s.Error = 10000, 0, "timeout"
		} else if r == 1 {
			s.Status, s.Error = 503, "unavailable"
		}
		out[i] = s
	}
	return out, phases
}

func writeSampleFile(t *testing.T, samples []probe.Sample) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe.jsonl")
	w, err := result.CreateJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Sparklines and report.html streamed from probe.jsonl are byte for byte what the in-memory implementations
// drew from the same samples.
func TestStreamingMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 5, 61, 500, 5000} {
		samples, phases := randomRun(rng, n)
		src := result.SampleFile{Path: writeSampleFile(t, samples)}
		for _, width := range []int{2, 40, SparkWidth} {
			for _, ph := range [][]result.Phase{nil, phases} {
				var want, got bytes.Buffer
				if err := refWriteSparklines(&want, samples, ph, width); err != nil {
					t.Fatal(err)
				}
				if err := WriteSparklinesFrom(&got, src, ph, width); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Fatalf("n=%d width=%d: sparklines differ:\n got %s\nwant %s", n, width, got.String(), want.String())
				}
			}
		}
		var stats []probe.Stats
		for _, p := range phases {
			var ps []probe.Sample
			for _, s := range samples {
				if s.Phase == p.Name && s.Source == probe.SourceLocal {
					ps = append(ps, s)
				}
			}
			for _, st := range probe.ByKind(ps) {
				st.Phase = p.Name
				stats = append(stats, st)
			}
		}
		doc := &result.Doc{RunID: "r1", Start: phases[0].Start, End: phases[2].End, Phases: phases, Stats: stats}
		var want, got bytes.Buffer
		if err := refWriteHTML(&want, doc, samples); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTMLFrom(&got, doc, src); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("n=%d: report.html differs (%d vs %d bytes)", n, got.Len(), want.Len())
		}
	}
}

// The 16-byte SampleLog draws the same sparklines and charts as the samples it recorded.
func TestSampleLogMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	samples, phases := randomRun(rng, 3000)
	samples[7].LatencyMS = 1.0 / 3 // not whole µs: kept exactly too
	log := &result.SampleLog{}
	for _, s := range samples {
		log.Add(s)
	}
	if log.Len() != len(samples) {
		t.Fatalf("Len = %d, want %d", log.Len(), len(samples))
	}
	var want, got bytes.Buffer
	if err := refWriteSparklines(&want, samples, phases, SparkWidth); err != nil {
		t.Fatal(err)
	}
	if err := WriteSparklinesFrom(&got, log, phases, SparkWidth); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("sparklines differ:\n got %s\nwant %s", got.String(), want.String())
	}
	doc := &result.Doc{RunID: "r1", Start: phases[0].Start, End: phases[2].End, Phases: phases}
	want.Reset()
	got.Reset()
	if err := refWriteHTML(&want, doc, samples); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTMLFrom(&got, doc, log); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("report.html differs (%d vs %d bytes)", got.Len(), want.Len())
	}
	var lat []float64
	_ = log.Each(func(s probe.Sample) error { lat = append(lat, s.LatencyMS); return nil })
	if lat[7] != 1.0/3 || lat[8] != samples[8].LatencyMS {
		t.Errorf("latencies not kept exactly: %v %v", lat[7], lat[8])
	}
}
