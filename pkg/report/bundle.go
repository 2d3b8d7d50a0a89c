package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// BundleFiles are the run artifacts a bundle may hold; nothing else in the directory is taken.
var BundleFiles = []string{"run.json", "phases.jsonl", "probe.jsonl", "summary.csv", "probe-stats.csv", "failures.jsonl",
	"events.jsonl", "monitor.jsonl", "safety-plan.txt", "image-map.txt", "kube-burner.log", "report.html", "probe.json"}

// credential patterns: a file that matches one is left out of a bundle, whatever its name.
var credentialRE = regexp.MustCompile(`(?i)client-key-data|client-certificate-data|-----BEGIN [A-Z ]*PRIVATE KEY-----|"?bearer-?token"?\s*[:=]|\btoken:\s*\S{16,}|\.dockerconfigjson`)

// BundleEntry is one file considered for a bundle.
type BundleEntry struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Included bool   `json:"included"`
	Reason   string `json:"reason,omitempty"` // why a file was left out
}

// WriteBundle packs the run artifacts of dir into out (.tar.gz, entries under a top directory named after dir,
// mtimes from run end). It never takes kubeconfigs, tokens, Secrets' data or anything not in BundleFiles, and
// leaves out any file whose content looks like a credential.
func WriteBundle(dir, out string) ([]BundleEntry, error) {
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, "probe.jsonl")); err2 != nil {
			return nil, fmt.Errorf("%s is not a run directory: %w", dir, err)
		}
	}
	var entries []BundleEntry
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	top := filepath.Base(filepath.Clean(dir))
	mtime := time.Now()
	names := append([]string(nil), BundleFiles...)
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", p, err)
		}
		e := BundleEntry{Name: name, Size: st.Size()}
		if credentialRE.Match(b) {
			e.Reason = "content looks like a credential"
			entries = append(entries, e)
			continue
		}
		hdr := &tar.Header{Name: top + "/" + name, Mode: 0o644, Size: int64(len(b)), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
		e.Included = true
		entries = append(entries, e)
	}
	others, _ := os.ReadDir(dir)
	for _, o := range others {
		known := false
		for _, n := range BundleFiles {
			known = known || n == o.Name()
		}
		if !known && filepath.Join(dir, o.Name()) != filepath.Clean(out) {
			entries = append(entries, BundleEntry{Name: o.Name(), Reason: "not a run artifact"})
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", out, err)
	}
	return entries, nil
}
