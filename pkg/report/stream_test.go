package report

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// randomRun draws samples over three phases, both sources, several kinds (one unknown), with errors and
// timeouts, in an order that is not sorted by time (in-cluster samples arrive late).
func randomRun(rng *rand.Rand, n int) ([]probe.Sample, []Phase) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	kinds := []probe.Kind{probe.KindReadyz, probe.KindGet, probe.KindListCluster, probe.KindWatch, "future-kind"}
	phases := []Phase{
		{Name: "baseline", Type: PhaseTypeProbe, Start: t0, End: t0.Add(20 * time.Second), Status: StatusPass},
		{Name: "ramp-step-1", Type: PhaseTypeRamp, Start: t0.Add(20 * time.Second), End: t0.Add(50 * time.Second), Status: StatusFail},
		{Name: "recovery", Type: PhaseTypeRecovery, Start: t0.Add(50 * time.Second), End: t0.Add(70 * time.Second), Status: StatusPass},
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
	w, err := CreateJSONL(path)
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
		src := SampleFile{Path: writeSampleFile(t, samples)}
		for _, width := range []int{2, 40, SparkWidth} {
			for _, ph := range [][]Phase{nil, phases} {
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
		doc := RunDoc{RunID: "r1", Start: phases[0].Start, End: phases[2].End, Phases: phases, Stats: stats}
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

// A run's part of a shared probe.jsonl: only the bytes [Offset, Limit), and a line cut at Limit is skipped.
func TestSampleFileRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	samples, _ := randomRun(rng, 10)
	path := writeSampleFile(t, samples)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	off := int64(len(lines[0]) + len(lines[1]))
	limit := off + int64(len(lines[2])+len(lines[3])) + 5 // 5 bytes into the fifth line
	got, err := collect(SampleFile{Path: path, Offset: off, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != samples[2].Seq || got[1].Seq != samples[3].Seq {
		t.Errorf("range read %d samples (%v), want samples 3 and 4", len(got), got)
	}
	got, err = collect(SampleFile{Path: path, Offset: off})
	if err != nil || len(got) != 8 {
		t.Errorf("from offset: %d samples, %v; want 8", len(got), err)
	}
}

func collect(src SampleSource) ([]probe.Sample, error) {
	var out []probe.Sample
	err := src.Each(func(s probe.Sample) error { out = append(out, s); return nil })
	return out, err
}

// The 16-byte SampleLog draws the same sparklines and charts as the samples it recorded.
func TestSampleLogMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	samples, phases := randomRun(rng, 3000)
	samples[7].LatencyMS = 1.0 / 3 // not whole µs: kept exactly too
	log := &SampleLog{}
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
	doc := RunDoc{RunID: "r1", Start: phases[0].Start, End: phases[2].End, Phases: phases}
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
