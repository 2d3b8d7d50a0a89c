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

// credentialForms are what a credential looks like in a file: one that matches any is left out of a bundle, whatever
// its name. A key's value must be there (a key alone, or an empty value, is not a credential); a key inside a
// longer name (kubepyrometer.io/probe-token) is not taken for one.
var credentialForms = []struct {
	what string
	re   *regexp.Regexp
}{
	{"kubeconfig client key or certificate", regexp.MustCompile(`(?i)client-(?:key|certificate)-data`)},
	{"private key", regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----`)},
	{"bearer token", regexp.MustCompile(`(?i)"?bearer-?token"?\s*[:=]|\bbearer\s+[A-Za-z0-9._~+/-]{8,}`)},
	// token: x, "token": "x", id-token: x, access_token=x ({"token":...} in JSON, YAML, env files)
	{"token", regexp.MustCompile(`(?i)(?:^|[^a-z0-9./_-])(?:[a-z]+[-_])?token["']?\s*[:=]\s*["']?[^\s"',}]{8,}`)},
	{"password", regexp.MustCompile(`(?i)(?:^|[^a-z0-9./_-])(?:[a-z]+[-_])?pass(?:word|wd)["']?\s*[:=]\s*["']?[^\s"',}]`)},
	{"--token or --password flag", regexp.MustCompile(`(?i)--(?:token|password)(?:=|\s+)["']?[^\s"'-]`)},
	{"registry auth", regexp.MustCompile(`(?i)\.dockerconfigjson|"auth"\s*:\s*"[A-Za-z0-9+/=]{8,}"`)},
}

// credentialIn names the first credential form found in b ("" when none).
func credentialIn(b []byte) string {
	for _, f := range credentialForms {
		if f.re.Match(b) {
			return f.what
		}
	}
	return ""
}

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
		if what := credentialIn(b); what != "" {
			e.Reason = "content looks like a credential (" + what + ")"
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
