//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snapshotDir reads every file of dir (name -> content).
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// TestOutputDirReuseRefused: a second run (or probe) into the --output-dir of a finished run is refused with one
// line naming the directory and the first run, creates nothing in the cluster, and leaves the first run's
// artifacts exactly as they were; the same for a run into a probe's --output-dir.
func TestOutputDirReuseRefused(t *testing.T) {
	dir := t.TempDir()
	first := runID(t)
	r := pluginIn(t, dir, 4*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "api", "--api-iterations", "5", "--api-replicas", "1",
		"--steps", "1", "--baseline", "2s", "--step-duration", "2s", "--recovery", "2s", "--run-id", first, "--output-dir", "out", "-o", "json")
	if r.code == 1 {
		t.Logf("the first run failed (its artifacts are still the earlier run's):\n%s", r.stderr)
	}
	out := filepath.Join(dir, "out")
	var doc struct {
		RunID string `json:"runID"`
	}
	if b, err := os.ReadFile(filepath.Join(out, "run.json")); err != nil || json.Unmarshal(b, &doc) != nil || doc.RunID != first {
		t.Fatalf("first run's run.json: %v, run id %q, want %s", err, doc.RunID, first)
	}
	before := snapshotDir(t, out)
	for _, f := range []string{"run.json", "probe.jsonl", "phases.jsonl", "failures.jsonl"} {
		if _, ok := before[f]; !ok {
			t.Fatalf("the first run wrote no %s: %v", f, before)
		}
	}
	namespaces := countOurNamespaces(t)

	second := runID(t)
	for _, args := range [][]string{
		{"run", "--modes", "api", "--steps", "1", "--run-id", second, "--output-dir", "out", "--yes"},
		{"probe", "--duration", "2s", "--output-dir", "out"},
	} {
		r = pluginIn(t, dir, 2*time.Minute, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		want := "error: invalid --output-dir out: it already holds the artifacts of run " + first + " ("
		if r.code == 0 || !strings.HasPrefix(strings.TrimSpace(r.stderr), want) || !strings.Contains(r.stderr, "use a new directory") {
			t.Errorf("%s into a used --output-dir: exit %d, stderr:\n%s\nwant it to start with %q", args[0], r.code, r.stderr, want)
		}
		assertOneErrorLine(t, r.stderr)
		if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 || r.stdout != "" {
			t.Errorf("%s: want one line on stderr and nothing on stdout, got:\n%s\n%s", args[0], r.stdout, r.stderr)
		}
	}
	assertNothingLeft(t, second)
	if n := countOurNamespaces(t); n > namespaces {
		t.Errorf("a refused run created namespaces: %d before, %d after", namespaces, n)
	}
	after := snapshotDir(t, out)
	if len(after) != len(before) {
		t.Errorf("the first run's directory changed: %d files before, %d after", len(before), len(after))
	}
	for name, b := range before {
		if after[name] != b {
			t.Errorf("%s of the first run changed (%d bytes before, %d after)", name, len(b), len(after[name]))
		}
	}

	// the credential filter takes none of a real run's artifacts for a credential (the bundle's own file is new)
	r = pluginIn(t, dir, time.Minute, "bundle", "out", "--out", "b.tar.gz", "-o", "json")
	var bundle struct {
		Entries []struct {
			Name     string
			Included bool
			Reason   string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &bundle); err != nil || r.code != 0 {
		t.Fatalf("bundle: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	for _, e := range bundle.Entries {
		if _, artifact := before[e.Name]; artifact && !e.Included {
			t.Errorf("bundle left out %s of an ordinary run: %s", e.Name, e.Reason)
		}
	}

	// a probe's directory: refused for a run too, naming the probe's run id (from its run.json; the files are listed
	// in name order, the first three)
	r = pluginIn(t, dir, 2*time.Minute, "--kubeconfig", kubeconfig, "probe", "--duration", "2s", "--probes", "readyz,get", "--output-dir", "probed", "-o", "json")
	if r.code != 0 {
		t.Fatalf("probe: exit %d\n%s", r.code, r.stderr)
	}
	probeID := decodeProbe(t, r).RunID
	r = pluginIn(t, dir, 2*time.Minute, "--kubeconfig", kubeconfig, "run", "--run-id", runID(t), "--output-dir", "probed")
	if want := "error: invalid --output-dir probed: it already holds the artifacts of run " + probeID + " (probe-stats.csv, probe.jsonl, report.html, ...)"; r.code == 0 ||
		!strings.HasPrefix(strings.TrimSpace(r.stderr), want) {
		t.Errorf("run into a probe's --output-dir: exit %d, stderr:\n%s\nwant it to start with %q", r.code, r.stderr, want)
	}
}
