package report

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestWriteBundleTakesOnlyArtifactsAndNoCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20260101-000000-abcd1234")
	os.MkdirAll(dir, 0o755)
	files := map[string]string{
		"run.json":        `{"runID":"abcd1234"}`,
		"probe.jsonl":     `{"ts":"2026-01-01T00:00:00Z","kind":"get"}` + "\n",
		"summary.csv":     "phase,uuid\n",
		"kube-burner.log": "level=info msg=ok\n",
		"kubeconfig":      "users:\n- user:\n    client-key-data: AAAA\n",
		"events.jsonl":    `{"message":"-----BEGIN RSA PRIVATE KEY-----"}` + "\n",
		"notes.txt":       "mine\n",
	}
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), []byte(b), 0o600)
	}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	entries, err := WriteBundle(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
	}
	sort.Strings(got)
	want := "20260101-000000-abcd1234/kube-burner.log,20260101-000000-abcd1234/probe.jsonl,20260101-000000-abcd1234/run.json,20260101-000000-abcd1234/summary.csv"
	if strings.Join(got, ",") != want {
		t.Errorf("bundle holds %v, want %s", got, want)
	}
	reasons := map[string]string{}
	for _, e := range entries {
		reasons[e.Name] = e.Reason
	}
	if reasons["kubeconfig"] != "not a run artifact" || reasons["notes.txt"] != "not a run artifact" || reasons["events.jsonl"] != "content looks like a credential" {
		t.Errorf("entries: %+v", entries)
	}
	if _, err := WriteBundle(t.TempDir(), out); err == nil || !strings.Contains(err.Error(), "is not a run directory") {
		t.Errorf("a directory without run.json: %v", err)
	}
}
