package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/golden"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

var (
	phases = []string{"baseline", "ramp-step-1"}
	kinds  = []probe.Kind{probe.KindGet, probe.KindListNamespace}
)

func testResult(id string) result.Doc {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	res := result.Doc{Version: version.Info{Version: "v0.1.0"}, RunID: id, Server: "https://k8s:6443",
		Flags: map[string]string{"steps": "1", "interval": "100ms"}, Modes: []string{"cpu"},
		Settings:    map[string]map[string]float64{"cpu": {"replicas": 2}},
		Fingerprint: result.Fingerprint{ServerVersion: "v1.31.0", Nodes: 3, ReadyNodes: 3}}
	for _, p := range phases {
		res.Phases = append(res.Phases, result.Phase{Name: p, Start: t0, End: t0})
	}
	return res
}

// writeRun writes run.json and probe.jsonl with n successful local samples per phase and kind drawn by lat, plus
// one error and one in-cluster sample per phase and kind (both must be left out of the latency comparison).
func writeRun(t *testing.T, res result.Doc, n int, lat func(i int) float64) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range phases {
		for _, k := range kinds {
			for i := 0; i < n; i++ {
				_ = enc.Encode(probe.Sample{TS: ts, Phase: p, Kind: k, Verb: "get", LatencyMS: lat(i), Status: 200, Source: "local"})
			}
			_ = enc.Encode(probe.Sample{TS: ts, Phase: p, Kind: k, LatencyMS: 10000, Error: "timeout", Source: "local"})
			_ = enc.Encode(probe.Sample{TS: ts, Phase: p, Kind: k, LatencyMS: 99999, Status: 200, Source: "cluster"})
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lognormal latency around 10 ms, scaled.
func lognormal(seed uint64, scale float64) func(int) float64 {
	r := rand.New(rand.NewPCG(seed, seed+1))
	return func(int) float64 { return math.Round(scale*10*math.Exp(0.3*r.NormFloat64())*1000) / 1000 }
}

func mustLoad(t *testing.T, dir string) *Run {
	t.Helper()
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCompareShift(t *testing.T) {
	tests := []struct {
		name    string
		scaleB  float64
		wantSig bool
	}{
		{"B = A x 1.5 is detected", 1.5, true},
		{"same distribution is not significant", 1.0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustLoad(t, writeRun(t, testResult("a"), 200, lognormal(1, 1)))
			b := mustLoad(t, writeRun(t, testResult("b"), 200, lognormal(2, tc.scaleB)))
			rep := Compare(a, b, 0.05)
			if len(rep.Rows) != len(phases)*len(kinds) {
				t.Fatalf("rows = %d, want %d", len(rep.Rows), len(phases)*len(kinds))
			}
			if !rep.Comparable {
				t.Errorf("differences %v, want none", rep.Differences)
			}
			for _, r := range rep.Rows {
				if r.CountA != 200 || r.CountB != 200 || r.ErrorsA != 1 || r.ErrorsB != 1 {
					t.Errorf("%s/%s counts %d/%d errors %d/%d, want 200/200 and 1/1 (cluster samples excluded)",
						r.Phase, r.Kind, r.CountA, r.CountB, r.ErrorsA, r.ErrorsB)
				}
				if r.Test == nil || r.Significant != tc.wantSig {
					t.Errorf("%s/%s significant = %v (test %+v), want %v", r.Phase, r.Kind, r.Significant, r.Test, tc.wantSig)
				}
				if tc.wantSig && (r.P50ChangePct == nil || *r.P50ChangePct < 30 || *r.P50ChangePct > 70) {
					t.Errorf("%s/%s p50 change %v, want about +50%%", r.Phase, r.Kind, r.P50ChangePct)
				}
			}
			g := rep.WorstRegression(20)
			if (g != nil) != tc.wantSig {
				t.Errorf("WorstRegression(20) = %v, want regression %v", g, tc.wantSig)
			}
			if tc.wantSig && rep.WorstRegression(1000) != nil {
				t.Error("WorstRegression(1000): want none")
			}
		})
	}
}

func TestCompareTooFewSamples(t *testing.T) {
	a := mustLoad(t, writeRun(t, testResult("a"), MinSamples-1, func(i int) float64 { return float64(i + 1) }))
	b := mustLoad(t, writeRun(t, testResult("b"), 50, func(i int) float64 { return float64(100 + i) }))
	for _, r := range Compare(a, b, 0.05).Rows {
		if r.Test != nil || r.Significant || r.Note != "too few samples" {
			t.Errorf("%s/%s: test %+v note %q, want too few samples", r.Phase, r.Kind, r.Test, r.Note)
		}
	}
}

// writeRunWith writes run.json and probe.jsonl with, per phase and kind, ok successful samples of latency lat and
// failed ones of latency 10 s (timeouts).
func writeRunWith(t *testing.T, res result.Doc, ok, failed int, lat float64) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(res)
	if err := os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range phases {
		for _, k := range kinds {
			for i := range ok {
				_ = enc.Encode(probe.Sample{TS: ts, Phase: p, Kind: k, LatencyMS: lat + float64(i%7)/10, Status: 200, Source: "local"})
			}
			for range failed {
				_ = enc.Encode(probe.Sample{TS: ts, Phase: p, Kind: k, LatencyMS: 10000, Error: "timeout after 10s", Source: "local"})
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// issue 12 item 6: run B with 95% timeouts and a few fast successes showed no regression; with 100% timeouts the
// row said "too few samples" and --fail-on-regression passed.
func TestCompareErrorRatioRegression(t *testing.T) {
	a := mustLoad(t, writeRunWith(t, testResult("a"), 200, 0, 10))
	tests := []struct {
		name      string
		b         *Run
		want      string // Regression.String() prefix, "" for none
		allFailed bool
	}{
		{"95% timeouts, a few fast successes", mustLoad(t, writeRunWith(t, testResult("b"), 10, 190, 5)),
			"baseline get error ratio rose from 0% to 95.00% (Fisher's exact test p=", false},
		{"100% timeouts", mustLoad(t, writeRunWith(t, testResult("b"), 0, 200, 0)),
			"baseline get: every request failed in B (error ratio 0.0% -> 100.0%)", true},
		{"a single timeout is no significant rise", mustLoad(t, writeRunWith(t, testResult("b"), 199, 1, 10)), "", false},
		{"same", mustLoad(t, writeRunWith(t, testResult("b"), 200, 0, 10)), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Compare(a, tc.b, 0.05)
			g := rep.WorstRegression(20)
			if tc.want == "" {
				if g != nil {
					t.Errorf("regression %v, want none", g)
				}
				return
			}
			if g == nil || !strings.HasPrefix(g.String(), tc.want) || g.AllFailed != tc.allFailed || g.Quantile != "errors" {
				t.Fatalf("regression %v, want %q", g, tc.want)
			}
			for _, r := range rep.Rows {
				if !r.ErrorSignificant || r.ErrorTest == nil || r.ErrorPctB <= r.ErrorPctA {
					t.Errorf("%s/%s: error test %+v significant %v, %v%% -> %v%%", r.Phase, r.Kind, r.ErrorTest, r.ErrorSignificant, r.ErrorPctA, r.ErrorPctB)
				}
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Error(err)
			}
			if _, err := json.Marshal(g); err != nil {
				t.Errorf("regression does not encode: %v", err)
			}
		})
	}
	// Fewer errors in B is no regression, however significant.
	rep := Compare(mustLoad(t, writeRunWith(t, testResult("a"), 10, 190, 10)), a, 0.05)
	if g := rep.WorstRegression(20); g != nil {
		t.Errorf("B better: regression %v", g)
	}
	// A relative threshold applies to a rise from a non-zero ratio: 10% -> 11% is +10%.
	a10 := mustLoad(t, writeRunWith(t, testResult("a"), 9000, 1000, 10))
	b11 := mustLoad(t, writeRunWith(t, testResult("b"), 8900, 1100, 10))
	rep = Compare(a10, b11, 0.05)
	if g := rep.WorstRegression(20); g != nil {
		t.Errorf("+10%% of the error ratio with a 20%% threshold: regression %v", g)
	}
	if g := rep.WorstRegression(5); g == nil || g.Quantile != "errors" {
		t.Errorf("+10%% of the error ratio with a 5%% threshold: regression %v, want one", g)
	}
}

func TestConfigDiff(t *testing.T) {
	ra, rb := testResult("a"), testResult("b")
	rb.Version = version.Info{Version: "v0.2.0"}
	rb.Fingerprint.ServerVersion, rb.Fingerprint.Nodes = "v1.32.1", 5
	rb.Modes = []string{"cpu", "mem"}
	rb.Settings = map[string]map[string]float64{"cpu": {"replicas": 4}}
	rb.Flags = map[string]string{"steps": "3", "output-dir": "elsewhere"}
	a := mustLoad(t, writeRun(t, ra, 10, func(i int) float64 { return float64(i) }))
	b := mustLoad(t, writeRun(t, rb, 10, func(i int) float64 { return float64(i) }))
	rep := Compare(a, b, 0.05)
	want := map[string][2]string{
		"plugin version": {"v0.1.0", "v0.2.0"}, "kubernetes version": {"v1.31.0", "v1.32.1"}, "nodes": {"3", "5"},
		"modes": {"cpu", "cpu,mem"}, "setting cpu.replicas": {"2", "4"}, "--steps": {"1", "3"},
		"--interval": {"100ms", "(default)"},
	}
	got := map[string][2]string{}
	for _, d := range rep.Differences {
		got[d.Field] = [2]string{d.A, d.B}
	}
	if rep.Comparable || len(got) != len(want) {
		t.Errorf("differences %v, want %v", got, want)
	}
	for f, w := range want {
		if got[f] != w {
			t.Errorf("difference %q = %v, want %v", f, got[f], w)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	good := writeRun(t, testResult("a"), 3, func(i int) float64 { return 1 })
	tests := []struct {
		name    string
		setup   func(dir string)
		file    string
		wantMsg string
	}{
		{"missing run.json", func(d string) { _ = os.Remove(filepath.Join(d, "run.json")) }, "run.json", "no such file"},
		{"malformed run.json", func(d string) { _ = os.WriteFile(filepath.Join(d, "run.json"), []byte("{\n\"runID\": "), 0o644) }, "run.json", "malformed JSON"},
		{"missing probe.jsonl", func(d string) { _ = os.Remove(filepath.Join(d, "probe.jsonl")) }, "probe.jsonl", "no such file"},
		{"malformed probe.jsonl", func(d string) {
			_ = os.WriteFile(filepath.Join(d, "probe.jsonl"), []byte("{\"ts\":\"2025-01-02T03:04:05Z\",\"kind\":\"get\"}\nnot json\n"), 0o644)
		}, "probe.jsonl:2", "malformed line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"run.json", "probe.jsonl"} {
				b, _ := os.ReadFile(filepath.Join(good, f))
				_ = os.WriteFile(filepath.Join(dir, f), b, 0o644)
			}
			tc.setup(dir)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "failed to read "+filepath.Join(dir, tc.file)) || !strings.Contains(msg, tc.wantMsg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and %q", msg, tc.file, tc.wantMsg)
			}
		})
	}
}

func TestWriteGolden(t *testing.T) {
	ra, rb := testResult("aaaa"), testResult("bbbb")
	rb.Fingerprint.ServerVersion = "v1.32.0"
	a := mustLoad(t, writeRun(t, ra, 20, func(i int) float64 { return 10 + float64(i*7%13)/2 }))
	b := mustLoad(t, writeRun(t, rb, 20, func(i int) float64 { return 1.5 * (10 + float64(i*7%13)/2) }))
	a.Dir, b.Dir = "runs/a", "runs/b"
	rep := Compare(a, b, 0.05)
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer, Report) error
	}{
		{"compare.table.golden", func(w *bytes.Buffer, r Report) error { return WriteTable(w, r) }},
		{"compare.markdown.golden", func(w *bytes.Buffer, r Report) error { return WriteMarkdown(w, r) }},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf, rep); err != nil {
			t.Fatal(err)
		}
		assertGolden(t, f.name, buf.Bytes())
	}
}

func assertGolden(t *testing.T, name string, got []byte) { t.Helper(); golden.Assert(t, name, got) }

// The Markdown tables escape as every Markdown table does (report.WriteMarkdownTable): a | or a newline in a value
// keeps its row one row of three cells.
func TestWriteMarkdownEscapes(t *testing.T) {
	rep := Report{Rows: []Row{}, Differences: []Difference{{Field: "--set", A: "cpu.a=1|2", B: "two\nlines"}}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`| --set | cpu.a=1\|2 | two lines |`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// TestCompareAcrossSetupSubPhases: a run of a version that did not probe a step's setup compared with one that did
// (ramp-step-1-setup, type setup): the common phases are compared row by row, the setup's rows are one difference,
// not one per kind.
func TestCompareAcrossSetupSubPhases(t *testing.T) {
	mk := func(id string, setup bool) *Run {
		res := testResult(id)
		agg := probe.NewAggregate()
		ph := phases
		if setup {
			t0 := res.Phases[1].Start
			res.Phases = append(res.Phases[:1], append([]result.Phase{{Name: "ramp-step-1-setup", Type: result.PhaseTypeSetup, Start: t0, End: t0}}, res.Phases[1:]...)...)
			ph = []string{"baseline", "ramp-step-1-setup", "ramp-step-1"}
		}
		for _, p := range ph {
			for _, k := range kinds {
				for i := range 30 {
					agg.Add(probe.Sample{Phase: p, Kind: k, LatencyMS: float64(10 + i), Status: 200, Source: probe.SourceLocal})
				}
			}
		}
		return &Run{Dir: id, Result: &res, Samples: agg}
	}
	old, cur := mk("old", false), mk("new", true)
	rep := Compare(old, cur, 0.05)
	if len(rep.Rows) != len(phases)*len(kinds) {
		t.Errorf("%d rows, want the %d of the common phases: %+v", len(rep.Rows), len(phases)*len(kinds), rep.Rows)
	}
	var diffs []string
	for _, d := range rep.Differences {
		diffs = append(diffs, d.Field+": "+d.A+" / "+d.B)
	}
	if len(diffs) != 1 || !strings.HasPrefix(diffs[0], "ramp step setup: not measured") {
		t.Errorf("differences %q: want one, the setup", diffs)
	}
	if rep = Compare(cur, cur, 0.05); len(rep.Rows) != 3*len(kinds) || !rep.Comparable {
		t.Errorf("two runs with setup sub-phases compare them too: %d rows, comparable %v", len(rep.Rows), rep.Comparable)
	}
}

// TestCompareKneeByRate: two knee searches whose n-th steps ran at different rates are compared rate by rate
// (knee@RATE/s), not step number by step number: at the same rate the two servers answer alike (no significant
// row), while step 5 of A (283/s) against step 5 of B (200/s) would show a difference that is only the rate's. A
// rate one search ran and the other did not is a difference; the answers are compared.
func TestCompareKneeByRate(t *testing.T) {
	mk := func(id string, rates []float64, kneeAt float64) *Run {
		res := testResult(id)
		res.Command, res.Phases = "knee", []result.Phase{{Name: "baseline"}}
		k := &result.Knee{}
		k.Status, k.Knee, k.Sustainable = knee.StatusFound, kneeAt, 0.8*kneeAt
		agg := probe.NewAggregate()
		add := func(phase string, scale float64) {
			for _, kind := range kinds {
				for i := range 60 {
					agg.Add(probe.Sample{Phase: phase, Kind: kind, LatencyMS: scale * float64(10+i%20), Status: 200, Source: probe.SourceLocal})
				}
			}
		}
		add("baseline", 1)
		for i, r := range rates {
			n := i + 1
			k.Steps = append(k.Steps, knee.Step{N: n, Rate: r})
			res.Phases = append(res.Phases, result.Phase{Name: fmt.Sprintf("knee-step-%d", n)}, result.Phase{Name: fmt.Sprintf("cooldown-%d", n)})
			add(fmt.Sprintf("knee-step-%d", n), r/100) // latency grows with the rate, not with the step number
		}
		res.Knee = k
		return &Run{Dir: id, Result: &res, Samples: agg}
	}
	a := mk("a", []float64{100, 200, 400, 283, 283}, 283)
	b := mk("b", []float64{100, 200, 400, 283, 200}, 200)
	rep := Compare(a, b, 0.05)
	var phases []string
	for _, row := range rep.Rows {
		if row.Significant || row.ErrorSignificant {
			t.Errorf("row %s/%s significant (p50 %v -> %v): the same rate was compared with another", row.Phase, row.Kind, row.P50A, row.P50B)
		}
		if row.Kind == kinds[0] {
			phases = append(phases, row.Phase)
		}
	}
	if want := "baseline knee@100/s knee@200/s knee@400/s knee@283/s"; strings.Join(phases, " ") != want {
		t.Errorf("compared phases %q, want %q", strings.Join(phases, " "), want)
	}
	var diffs []string
	for _, d := range rep.Differences {
		diffs = append(diffs, d.Field+": "+d.A+"/"+d.B)
	}
	for _, want := range []string{"samples knee@283/s#2/" + string(kinds[0]) + ": present/none", "samples knee@200/s#2/" + string(kinds[0]) + ": none/present"} {
		if !slices.Contains(diffs, want) {
			t.Errorf("differences %q lack %q", diffs, want)
		}
	}
	if rep.Knee == nil || rep.Knee.A.Knee != 283 || rep.Knee.B.Knee != 200 || rep.Knee.ChangePct == nil || *rep.Knee.ChangePct != -29.3 {
		t.Fatalf("knee comparison %+v", rep.Knee)
	}
	var out bytes.Buffer
	if err := WriteTable(&out, rep); err != nil || !strings.Contains(out.String(), "Knee: A 283 writes/s (found), B 200 writes/s (found): -29.3%") {
		t.Errorf("table (%v):\n%s", err, out.String())
	}
	// a knee search against a run: the commands differ
	run := &Run{Dir: "run", Result: ptr(testResult("r")), Samples: probe.NewAggregate()}
	if rep := Compare(a, run, 0.05); rep.Knee != nil || rep.Comparable || rep.Differences[0].Field != "command" || rep.Differences[0].A != "knee" {
		t.Errorf("knee vs run: knee %+v differences %+v", rep.Knee, rep.Differences)
	}
}

func ptr[T any](v T) *T { return &v }
