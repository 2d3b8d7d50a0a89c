package result

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOutputDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, files map[string]string) string {
		d := filepath.Join(base, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, b := range files {
			if err := os.WriteFile(filepath.Join(d, n), []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	run := mk("run", map[string]string{"run.json": `{"version":{},"runID":"abcd1234","phases":[]}`, "probe.jsonl": "{}\n",
		"phases.jsonl": "{}\n", "failures.jsonl": "", "safety-plan.txt": "x"})
	probe := mk("probe", map[string]string{"probe.json": `{"runID":"pppp0000"}`, "probe.jsonl": "{}\n"})
	partial := mk("partial", map[string]string{"safety-plan.txt": "x", "probe.jsonl": "{}\n"})
	file := filepath.Join(base, "afile")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		name, dir string
		own       []string
		want      string // "" = accepted
	}{
		{"missing", filepath.Join(base, "new", "dir"), nil, ""},
		{"empty", mk("empty", nil), nil, ""},
		{"other files only", mk("mine", map[string]string{"notes.txt": "x", "pyrometer-x.tar.gz": "x"}), nil, ""},
		{"own files", mk("own", map[string]string{"safety-plan.txt": "x", "image-map.txt": "y"}), []string{"safety-plan.txt", "image-map.txt"}, ""},
		{"a run", run, nil, "invalid --output-dir " + run + ": it already holds the artifacts of run abcd1234 (failures.jsonl, phases.jsonl, probe.jsonl, ...); " +
			"use a new directory, or leave --output-dir out for a fresh one"},
		{"a probe", probe, nil, "invalid --output-dir " + probe + ": it already holds the artifacts of run pppp0000 (probe.json, probe.jsonl)"},
		{"an interrupted run", partial, []string{"safety-plan.txt"}, "invalid --output-dir " + partial + ": it already holds another run's artifacts (probe.jsonl)"},
		{"not a directory", file, nil, "invalid --output-dir " + file + ": "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOutputDir(tc.dir, tc.own...)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want accepted, got %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("got %v\nwant %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("one line: %q", err)
			}
		})
	}
}
