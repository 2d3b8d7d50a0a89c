//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// phaseStats is a row of run.json's stats.
type phaseStats struct {
	Phase string `json:"phase"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// TestReportAndCompareOnProbeDirs: probe --output-dir writes the run document (run.json, command probe, one phase
// probe), so report (table and json) and compare work on probe directories as on run directories.
func TestReportAndCompareOnProbeDirs(t *testing.T) {
	kinds := []string{"readyz", "get"}
	var dirs []string
	for _, name := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), name)
		// 4s at 250ms: 16 samples per kind, more than compare's 8 for a significance test
		r := plugin(t, 2*time.Minute, "probe", "--duration", "4s", "--interval", "250ms", "--probes", strings.Join(kinds, ","),
			"-o", "json", "--output-dir", dir)
		pr := decodeProbe(t, r)
		assertNothingLeft(t, pr.RunID)
		for _, f := range []string{"run.json", "probe.jsonl", "probe-stats.csv", "report.html"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("probe --output-dir did not write %s: %v", f, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "probe.json")); err == nil {
			t.Errorf("probe --output-dir still writes probe.json beside run.json")
		}
		dirs = append(dirs, dir)
	}

	// report DIR: the probe's statistics per kind, outcome measured
	r := plugin(t, time.Minute, "report", dirs[0])
	if r.code != 0 {
		t.Fatalf("report on a probe directory exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	for _, want := range append([]string{"CLIENT-SIDE LATENCY", "Result: measured"}, kinds...) {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}

	// report DIR -o json: the run document of a probe
	r = plugin(t, time.Minute, "report", dirs[0], "-o", "json")
	if r.code != 0 {
		t.Fatalf("report -o json on a probe directory exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	var doc struct {
		Command string `json:"command"`
		RunID   string `json:"runID"`
		Phases  []struct{ Name, Type, Status string }
		Stats   []phaseStats `json:"stats"`
		Outcome struct{ Result string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("report -o json is not JSON (%v):\n%s", err, r.stdout)
	}
	if doc.Command != "probe" || doc.RunID == "" || len(doc.Phases) != 1 || doc.Phases[0].Name != "probe" || doc.Outcome.Result != "measured" {
		t.Errorf("run.json of a probe: command %q, run id %q, phases %+v, outcome %q; want command probe, one phase probe, measured",
			doc.Command, doc.RunID, doc.Phases, doc.Outcome.Result)
	}
	for _, k := range kinds {
		if !slices.ContainsFunc(doc.Stats, func(s phaseStats) bool { return s.Phase == "probe" && s.Kind == k && s.Count > 0 }) {
			t.Errorf("run.json has no probe row with samples for kind %s: %+v", k, doc.Stats)
		}
	}

	// compare A B: one row per kind of phase probe, both probes on the same cluster and flags
	r = plugin(t, time.Minute, "compare", dirs[0], dirs[1], "-o", "json")
	if r.code != 0 {
		t.Fatalf("compare of two probe directories exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	var cmp struct {
		Rows []struct {
			Phase  string `json:"phase"`
			Kind   string `json:"kind"`
			CountA int    `json:"countA"`
			CountB int    `json:"countB"`
		} `json:"rows"`
		Differences []struct{ Field string } `json:"differences"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &cmp); err != nil {
		t.Fatalf("compare -o json is not JSON (%v):\n%s", err, r.stdout)
	}
	var got []string
	for _, row := range cmp.Rows {
		got = append(got, row.Phase+"/"+row.Kind)
		if row.CountA == 0 || row.CountB == 0 {
			t.Errorf("compare row %s/%s has no samples on one side: %+v", row.Phase, row.Kind, row)
		}
	}
	slices.Sort(got)
	if want := []string{"probe/get", "probe/readyz"}; !slices.Equal(got, want) {
		t.Errorf("compare rows %v, want %v", got, want)
	}
	for _, d := range cmp.Differences {
		if strings.HasPrefix(d.Field, "--") || d.Field == "modes" {
			t.Errorf("two probes with the same flags differ in %s", d.Field)
		}
	}
	r = plugin(t, time.Minute, "compare", dirs[0], dirs[1])
	if r.code != 0 || !strings.Contains(r.stdout, "readyz") || !strings.Contains(r.stdout, "get") {
		t.Errorf("compare table: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
