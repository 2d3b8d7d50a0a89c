package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// probe --output-dir writes report.html from the probe's result: one phase, outcome "measured", both sources.
func TestProbeReportHTML(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := newProbeRunner(ProbeConfig{Probe: probe.Config{Kinds: []probe.Kind{probe.KindReadyz}, Interval: time.Second}, Duration: 10 * time.Second,
		ProbeFrom: "both", OutputDir: dir}, Env{Session: &Session{RestConfig: &rest.Config{Host: "https://10.0.0.1:6443"}, RunID: "p1"}}, version.Info{})
	if err := r.openSamples(); err != nil {
		t.Fatal(err)
	}
	defer r.jsonl.Close()
	for n := range 10 {
		for _, src := range []string{probe.SourceLocal, probe.SourceCluster} {
			r.sink(probe.Sample{TS: start.Add(time.Duration(n) * time.Second), Kind: probe.KindReadyz,
				Verb: "get", LatencyMS: float64(1 + n), Status: 200, Seq: int64(n + 1), Source: src})
		}
	}
	if err := r.endProbe(result.Phase{Name: ProbePhase, Type: result.PhaseTypeProbe, Start: start, Status: result.StatusPass}, "both"); err != nil {
		t.Fatal(err)
	}
	r.finishProbe()
	if err := r.writeDocs(result.RunFile, result.ProbeStatsFile, result.ReportFile); err != nil {
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
	// every sample is the probe's, the in-cluster ones too (as they come: their window is the whole probe)
	if got := r.res.Phases[0].End; !got.Equal(start.Add(9 * time.Second)) {
		t.Errorf("the phase ends with its last sample: %v", got)
	}
	lines, _ := os.ReadFile(filepath.Join(dir, "probe.jsonl"))
	if n := strings.Count(string(lines), `"phase":"probe"`); n != 20 {
		t.Errorf("probe.jsonl: %d samples of phase probe, want 20", n)
	}
}

// A probe that took no samples fails; with the local probe, local samples are required.
func TestProbeNoSamples(t *testing.T) {
	env := Env{Session: &Session{RestConfig: &rest.Config{Host: "h"}, RunID: "p2"}}
	ph := result.Phase{Name: ProbePhase, Start: time.Now()}
	r := newProbeRunner(ProbeConfig{ProbeFrom: "both"}, env, version.Info{})
	if err := r.endProbe(ph, "both"); err == nil || err.Error() != "no samples were taken" {
		t.Errorf("no samples: %v", err)
	}
	r.sink(probe.Sample{TS: time.Now(), Kind: probe.KindReadyz, LatencyMS: 1, Source: probe.SourceCluster})
	if err := r.endProbe(ph, "both"); err == nil {
		t.Error("--probe-from both without local samples must fail")
	}
	if err := r.endProbe(ph, "cluster"); err != nil {
		t.Errorf("--probe-from cluster with in-cluster samples: %v", err)
	}
}
