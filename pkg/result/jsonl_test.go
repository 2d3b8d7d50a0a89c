package result

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

func TestJSONLWriterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "probe.jsonl")
	w, err := CreateJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := probe.Sample{TS: t0.Add(time.Duration(i) * time.Millisecond), Phase: "baseline", Kind: probe.KindGet,
					Seq: int64(g*1000 + i), LatencyMS: 1.5, Error: "<html> & friends"}
				if err := w.Write(s); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(probe.Sample{}); err == nil {
		t.Error("Write after Close succeeded")
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"error":"<html> & friends"`)) {
		t.Errorf("error text was HTML-escaped: %s", strings.SplitN(string(raw), "\n", 2)[0])
	}
	got, err := ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 400 {
		t.Fatalf("read %d samples, want 400", len(got))
	}
	seen := map[int64]bool{}
	for _, s := range got {
		seen[s.Seq] = true
	}
	if len(seen) != 400 {
		t.Errorf("%d distinct samples, want 400 (interleaved lines?)", len(seen))
	}
}

func TestAppendJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phases.jsonl")
	start := t0
	want := []Phase{
		{Name: "baseline", Type: PhaseTypeProbe, Start: start, End: start.Add(10 * time.Second), Status: StatusPass},
		{Name: "ramp-step-1", Type: PhaseTypeRamp, Start: start.Add(10 * time.Second), End: start.Add(20 * time.Second),
			Status: StatusFail, RC: 1, Error: "quota exceeded", UUID: "u-1", Details: map[string]string{"namespace": "pyrometer-x-1"}},
	}
	for _, p := range want {
		if err := AppendJSONL(path, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadJSONL[Phase](path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phases read back:\n%#v\nwant\n%#v", got, want)
	}
	if err := AppendJSONL(filepath.Join(t.TempDir(), "missing", "x.jsonl"), want[0]); err == nil {
		t.Error("AppendJSONL into a missing directory succeeded")
	}
}

func TestNewJSONLWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewJSONLWriter(&b)
	for _, v := range []map[string]int{{"a": 1}, {"b": 2}} {
		if err := w.Write(v); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "{\"a\":1}\n{\"b\":2}\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
	if err := w.Write(func() {}); err == nil || !strings.Contains(err.Error(), "failed to encode") {
		t.Errorf("unencodable value: %v", err)
	}
}

func TestReadSamplesErrors(t *testing.T) {
	good := `{"ts":"2026-03-04T03:29:28.000000001Z","phase":"baseline","kind":"get","verb":"get","latency_ms":2.345,"lag_ms":0.01,"status":200,"seq":1,"source":"local"}`
	tests := []struct {
		name    string
		content string
		want    string // substring of the error after the path; empty for success
		count   int
	}{
		{"valid with blank lines", good + "\n\n" + good + "\n", "", 2},
		{"no trailing newline", good + "\n" + good, "", 2},
		{"empty file", "", "", 0},
		{"malformed third line", good + "\n" + good + "\n{\"ts\":\"2026-03-04T03:29:28Z\",\"kind\":\"get\",\n", ":3: malformed line", 0},
		{"truncated last line", good + "\n{\"ts\":\"2026-03", ":2: malformed line", 0},
		{"wrong type", good + "\n" + `{"ts":"2026-03-04T03:29:28Z","kind":"get","latency_ms":"slow"}`, ":2: malformed line", 0},
		{"missing kind", `{"ts":"2026-03-04T03:29:28Z","latency_ms":1}`, ":1: sample has no kind", 0},
		{"missing ts", good + "\n" + `{"kind":"get","latency_ms":1}`, ":2: sample has no ts", 0},
		{"not an object", "[1,2]", ":1: malformed line", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "probe.jsonl")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSamples(path)
			if tc.want == "" {
				if err != nil || len(got) != tc.count {
					t.Fatalf("ReadSamples = %d samples, %v; want %d, nil", len(got), err, tc.count)
				}
				if tc.count > 0 && (got[0].Kind != probe.KindGet || got[0].LatencyMS != 2.345 || got[0].TS.Nanosecond() != 1) {
					t.Errorf("sample read as %#v", got[0])
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), path+tc.want) {
				t.Errorf("error %v, want it to start with %q", err, path+tc.want)
			}
		})
	}

	if _, err := ReadSamples(filepath.Join(t.TempDir(), "nope.jsonl")); err == nil || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Errorf("missing file: %v, want an error naming it", err)
	}
}

// A run's part of a shared probe.jsonl: only the bytes [Offset, Limit), and a line cut at Limit is skipped.
func TestSampleFileRange(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var samples []probe.Sample
	for i := range 10 {
		samples = append(samples, probe.Sample{TS: t0.Add(time.Duration(i) * time.Second), Kind: probe.KindGet, Verb: "get",
			LatencyMS: float64(i + 1), Status: 200, Seq: int64(i + 1), Source: probe.SourceLocal})
	}
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	path := filepath.Join(t.TempDir(), SamplesFile)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	off := int64(len(lines[0]) + len(lines[1]))
	limit := off + int64(len(lines[2])+len(lines[3])) + 5 // 5 bytes into the fifth line
	collect := func(src SampleSource) ([]probe.Sample, error) {
		var out []probe.Sample
		err := src.Each(func(s probe.Sample) error { out = append(out, s); return nil })
		return out, err
	}
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
