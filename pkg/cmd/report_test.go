package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/golden"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// writeRunDir writes a small finished run (run.json, probe.jsonl) to a temp dir.
func writeRunDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var samples []probe.Sample
	var stats []probe.Stats
	var phases []result.Phase
	var lags []probe.Lag
	for i, name := range []string{"baseline", "ramp-step-1", "recovery"} {
		at := start.Add(time.Duration(i) * time.Minute)
		var ps []probe.Sample
		for n := range 20 {
			s := probe.Sample{TS: at.Add(time.Duration(n) * time.Second), Phase: name, Kind: probe.KindGet, Verb: "get",
				LatencyMS: float64(5 + n + i*40), Status: 200, Seq: int64(n + 1), Source: probe.SourceLocal}
			if i == 1 && n == 3 {
				s.Status, s.Error = 0, "timeout"
			}
			if i == 1 && n >= 10 {
				s.LagMS = 150 // the client fell behind: lag p99 above 10% of the 1s interval
			}
			ps = append(ps, s)
		}
		for _, st := range probe.ByKind(ps) {
			st.Phase = name
			stats = append(stats, st)
		}
		samples = append(samples, ps...)
		lags = append(lags, probe.LagOf(name, ps, time.Second))
		phases = append(phases, result.Phase{Name: name, Type: result.PhaseTypeProbe, Start: at, End: at.Add(20 * time.Second), Status: result.StatusPass})
	}
	verdicts := result.Verdicts(stats, "baseline", result.DefaultSLOErrorRate)
	doc := map[string]any{"runID": "r1", "start": start, "phases": phases, "stats": stats, "verdicts": verdicts,
		"probeLag": lags, "outcome": result.Decide(phases, verdicts, false), "fingerprint": map[string]any{"serverVersion": "v1.31.0"},
		"safety": map[string]any{"maxObjects": 10}}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := result.CreateJSONL(filepath.Join(dir, "probe.jsonl"))
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
	return dir
}

func TestReportJSONRoundTrip(t *testing.T) {
	dir := writeRunDir(t)
	out, errOut, code := runCmd(t, "report", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "run.json"))
	if out != string(want) {
		t.Errorf("-o json is not run.json as is:\n%s", out)
	}
}

func TestReportTable(t *testing.T) {
	dir := writeRunDir(t)
	out, errOut, code := runCmd(t, "report", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"CLIENT-SIDE LATENCY PER PHASE", "VERDICTS", "baseline", "ramp-step-1", "recovery", "Result: ",
		"PROBE CLIENT SCHEDULING LAG", "  ramp-step-1: p50 0.00 ms, p99 150.00 ms, max 150.00 ms (limit 100.0 ms: 10% of the 1s interval): NOT FAIR",
		"  baseline: p50 0.00 ms, p99 0.00 ms, max 0.00 ms (limit 100.0 ms: 10% of the 1s interval)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	// Not a terminal: no sparklines.
	if strings.Contains(out, "LATENCY OVER TIME") {
		t.Errorf("sparklines printed to a non-terminal:\n%s", out)
	}
	golden.Assert(t, "report.table.golden", []byte(out))
	md, _, _ := runCmd(t, "report", dir, "-o", "markdown")
	golden.Assert(t, "report.markdown.golden", []byte(md))
}

// The text a terminal gets: the same tables with the sparklines under the statistics.
func TestRunTablesWithSparklines(t *testing.T) {
	dir := writeRunDir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc result.Doc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	samples, err := result.ReadSamples(filepath.Join(dir, "probe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeRunTables(&b, &doc, result.SampleSlice(samples)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if i, j := strings.Index(out, "LATENCY OVER TIME"), strings.Index(out, "VERDICTS"); i < 0 || i > j {
		t.Errorf("sparklines missing or not between the statistics and the verdicts:\n%s", out)
	}
	golden.Assert(t, "report.tty.golden", []byte(out))
}

func TestReportMarkdownAndHTML(t *testing.T) {
	dir := writeRunDir(t)
	out, errOut, code := runCmd(t, "report", dir, "-o", "markdown")
	if code != 0 || !strings.Contains(out, "| ramp-step-1 |") {
		t.Errorf("markdown: exit %d: %s\n%s", code, errOut, out)
	}
	out, errOut, code = runCmd(t, "report", dir, "-o", "html")
	if code != 0 || !strings.HasPrefix(out, "<!DOCTYPE html>") || strings.Count(out, "<svg") != 2 {
		t.Errorf("html: exit %d: %s\n%.300s", code, errOut, out)
	}
}

func TestReportMissingAndMalformed(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runCmd(t, "report", dir)
	if code == 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(errOut, filepath.Join(dir, "run.json")) {
		t.Errorf("want one line naming run.json, got %q", errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCmd(t, "report", dir)
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "run.json") {
		t.Errorf("malformed run.json: exit %d, %q", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.jsonl"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCmd(t, "report", dir, "-o", "html")
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "probe.jsonl:1") {
		t.Errorf("malformed probe.jsonl: exit %d, %q", code, errOut)
	}
	_, _, code = runCmd(t, "report", dir, "-o", "xml")
	if code == 0 {
		t.Error("-o xml accepted")
	}
}

// probe --output-dir writes report.html from the probe's result: one phase, outcome "measured", both sources.
func TestProbeReportHTML(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var samples []probe.Sample
	for n := range 10 {
		for _, src := range []string{probe.SourceLocal, probe.SourceCluster} {
			samples = append(samples, probe.Sample{TS: start.Add(time.Duration(n) * time.Second), Phase: "probe", Kind: probe.KindReadyz,
				Verb: "get", LatencyMS: float64(1 + n), Status: 200, Seq: int64(n + 1), Source: src})
		}
	}
	var loc, clu []probe.Sample
	for _, s := range samples {
		if s.Source == probe.SourceCluster {
			clu = append(clu, s)
		} else {
			loc = append(loc, s)
		}
	}
	res := &ProbeResult{RunID: "p1", Server: "https://10.0.0.1:6443", Start: start, Duration: "10s", Interval: "1s",
		Kinds: []probe.Kind{probe.KindReadyz}, Local: probe.ByKind(loc), Cluster: probe.ByKind(clu), Samples: result.SampleSlice(samples)}
	if err := writeProbeArtifacts(dir, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<title>kubectl pyrometer probe p1</title>", ">measured<", "probe@cluster", "readyz"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "probe-stats.csv"))
	if !strings.Contains(string(csv), "\nprobe@cluster,") {
		t.Errorf("probe-stats.csv lacks the in-cluster rows:\n%s", csv)
	}
	// run.json: the run document of a probe, which report and compare read
	if _, err := os.Stat(filepath.Join(dir, "probe.json")); err == nil {
		t.Error("probe.json written: run.json is the probe's document")
	}
	doc, err := result.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Command != "probe" || len(doc.Phases) != 1 || doc.Phases[0].Name != "probe" || doc.Outcome.Result != result.ResultMeasured || len(doc.Verdicts) != 0 {
		t.Errorf("run.json of a probe: %+v", doc)
	}
	out, errOut, code := runCmd(t, "report", dir)
	if code != 0 || !strings.Contains(out, "probe@cluster") || !strings.Contains(out, "Result: measured") || strings.Contains(out, "VERDICTS") {
		t.Errorf("report of a probe directory: exit %d, stderr %q\n%s", code, errOut, out)
	}
}
