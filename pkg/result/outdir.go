package result

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckOutputDir refuses an --output-dir that already holds the artifacts of another run or probe (any of
// Files, except the names in own: what this invocation itself wrote there first). A run appends to
// probe.jsonl, phases.jsonl and failures.jsonl, so a reused directory would mix two runs in report, compare and the
// sparklines; results are never overwritten either. A missing or empty directory, or one holding only other
// files, is fine. The error is one line naming the directory and, from its run.json or probe.json, the run id.
func CheckOutputDir(dir string, own ...string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("invalid --output-dir %s: %v", dir, err)
	}
	var found []string
	for _, e := range entries {
		if slices.Contains(Files, e.Name()) && !slices.Contains(own, e.Name()) {
			found = append(found, e.Name())
		}
	}
	if len(found) == 0 {
		return nil
	}
	whose := "another run's artifacts"
	if id := artifactRunID(dir); id != "" {
		whose = "the artifacts of run " + id
	}
	if len(found) > 3 {
		found = append(found[:3], "...")
	}
	return fmt.Errorf("invalid --output-dir %s: it already holds %s (%s); use a new directory, or leave --output-dir out for a fresh one",
		dir, whose, strings.Join(found, ", "))
}

// artifactRunID is the run id recorded in dir's run.json or probe.json ("" when there is none).
func artifactRunID(dir string) string {
	for _, name := range []string{RunFile, LegacyProbeFile} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		var doc struct {
			RunID string `json:"runID"`
		}
		err = json.NewDecoder(f).Decode(&doc)
		f.Close()
		if err == nil && doc.RunID != "" {
			return doc.RunID
		}
	}
	return ""
}
