package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// usedDir is an --output-dir holding the artifacts of an earlier run (or probe) with run id abcd1234.
func usedDir(t *testing.T, doc string) (string, map[string]string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	files := map[string]string{doc: `{"runID":"abcd1234"}`, "probe.jsonl": `{"kind":"get","latencyMs":1}` + "\n"}
	if doc == "run.json" {
		files["phases.jsonl"] = `{"name":"baseline"}` + "\n"
		files["failures.jsonl"] = ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// assertUntouched checks that dir holds exactly files, unchanged.
func assertUntouched(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(files) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the earlier run's directory must be left as it was: holds %v", names)
	}
	for n, want := range files {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != want {
			t.Errorf("%s changed: %q (%v), want %q", n, b, err, want)
		}
	}
}

// TestRunRefusesUsedOutputDir: a second run into the directory of an earlier one would append to its probe.jsonl,
// phases.jsonl and failures.jsonl; it is refused with one line naming the directory and the earlier run, before
// anything is created.
func TestRunRefusesUsedOutputDir(t *testing.T) {
	dir, files := usedDir(t, "run.json")
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	code, out, errOut := runAgainst(t, api, "run", "--modes", "cpu", "--run-id", "bbbb2222", "--output-dir", dir, "--yes")
	want := "error: invalid --output-dir " + dir + ": it already holds the artifacts of run abcd1234 (failures.jsonl, phases.jsonl, probe.jsonl, ...); " +
		"use a new directory, or leave --output-dir out for a fresh one"
	if code == 0 || strings.TrimSpace(errOut) != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	if out != "" || len(api.other) > 0 || api.reviews > 0 {
		t.Errorf("refused before any request: stdout %q, requests %v, %d reviews", out, api.other, api.reviews)
	}
	assertUntouched(t, dir, files)
}

func TestProbeRefusesUsedOutputDir(t *testing.T) {
	dir, files := usedDir(t, "probe.json")
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	code, _, errOut := runAgainst(t, api, "probe", "--duration", "1s", "--output-dir", dir)
	want := "error: invalid --output-dir " + dir + ": it already holds the artifacts of run abcd1234 (probe.json, probe.jsonl); " +
		"use a new directory, or leave --output-dir out for a fresh one"
	if code == 0 || strings.TrimSpace(errOut) != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	if len(api.other) > 0 || api.reviews > 0 {
		t.Errorf("refused before any request: requests %v, %d reviews", api.other, api.reviews)
	}
	assertUntouched(t, dir, files)
}

// TestPrintConfigIgnoresUsedOutputDir: --print-config writes nothing, so it is not refused.
func TestPrintConfigIgnoresUsedOutputDir(t *testing.T) {
	dir, _ := usedDir(t, "run.json")
	code, out, errOut := runAgainst(t, &fakeAPI{}, "run", "--output-dir", dir, "--print-config")
	if code != 0 || !strings.Contains(out, "output-dir") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
