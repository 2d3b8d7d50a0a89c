package report

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// A bundle streams its files: packing a 6 MB probe.jsonl allocates far less than the file (the old WriteBundle
// read every file whole and built the archive in memory).
func TestWriteBundleStreams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	line := `{"ts":"2026-01-01T00:00:00.123456789Z","phase":"probe","kind":"get","verb":"get","latency_ms":4.123,"lag_ms":0.012,"status":200,"seq":1,"source":"local"}` + "\n"
	body := strings.Repeat(line, 6<<20/len(line))
	if err := os.WriteFile(filepath.Join(dir, "probe.jsonl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	body = ""
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	entries, err := WriteBundle(dir, out)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3<<20 {
		t.Errorf("WriteBundle allocated %.1f MB for a 6 MB probe.jsonl, want < 3 MB", float64(alloc)/(1<<20))
	}
	if len(entries) != 2 || !entries[0].Included || entries[0].Size < 6<<20-int64(len(line)) {
		t.Errorf("entries: %+v", entries)
	}
}
