package report

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

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
	what, _ := credentialInReader(bytes.NewReader(b))
	return what
}

// credentialInReader names the first credential form found in r, line by line (a file is streamed, never read
// whole; a line longer than 64 KiB is checked in 64 KiB pieces).
func credentialInReader(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var lower []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && mayHoldCredential(line, &lower) {
			for _, f := range credentialForms {
				if f.re.Match(line) {
					return f.what, nil
				}
			}
		}
		switch {
		case err == io.EOF:
			return "", nil
		case err != nil && err != bufio.ErrBufferFull:
			return "", err
		}
	}
}

// credentialWords are literals at least one of which every credential form contains (lower case): a line
// without any of them is not run through the regular expressions, which are slow (a few MB/s) on a long
// probe.jsonl.
var credentialWords = [][]byte{[]byte("client-"), []byte("private key"), []byte("bearer"), []byte("token"),
	[]byte("pass"), []byte("auth"), []byte("dockerconfigjson")}

func mayHoldCredential(line []byte, lower *[]byte) bool {
	l := (*lower)[:0]
	for _, c := range line {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		l = append(l, c)
	}
	*lower = l
	for _, w := range credentialWords {
		if bytes.Contains(l, w) {
			return true
		}
	}
	return false
}

// BundleEntry is one file considered for a bundle.
type BundleEntry struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Included bool   `json:"included"`
	Reason   string `json:"reason,omitempty"` // why a file was left out
}

// WriteBundle packs the run artifacts of dir into out (.tar.gz, entries under a top directory named after dir,
// mtimes from run end). It never takes kubeconfigs, tokens, Secrets' data or anything not in result.Files, and
// leaves out any file whose content looks like a credential. Files are streamed, never read whole: a 24-hour
// probe.jsonl costs no memory.
func WriteBundle(dir, out string) (entries []BundleEntry, err error) {
	if _, err := os.Stat(filepath.Join(dir, result.RunFile)); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, result.SamplesFile)); err2 != nil {
			return nil, fmt.Errorf("%s is not a run directory: %w", dir, err)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", out, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("failed to write %s: %w", out, cerr)
		}
		if err != nil {
			_ = os.Remove(out)
			entries = nil
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	gz := gzip.NewWriter(bw)
	tw := tar.NewWriter(gz)
	top := filepath.Base(filepath.Clean(dir))
	mtime := time.Now()
	names := append([]string(nil), result.Files...)
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		e, err := bundleFile(tw, p, top+"/"+name, mtime)
		if err != nil {
			return nil, err
		}
		e.Name = name
		entries = append(entries, e)
	}
	others, _ := os.ReadDir(dir)
	for _, o := range others {
		known := false
		for _, n := range result.Files {
			known = known || n == o.Name()
		}
		if !known && filepath.Join(dir, o.Name()) != filepath.Clean(out) {
			entries = append(entries, BundleEntry{Name: o.Name(), Reason: "not a run artifact"})
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", out, err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", out, err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", out, err)
	}
	return entries, nil
}

// bundleFile adds the file at p to tw as name unless its content looks like a credential: it reads the file
// twice, streaming (the check, then the copy), and takes its size when opened (a file still being appended to
// is taken up to there).
func bundleFile(tw *tar.Writer, p, name string, mtime time.Time) (BundleEntry, error) {
	fh, err := os.Open(p)
	if err != nil {
		return BundleEntry{}, fmt.Errorf("failed to read %s: %w", p, err)
	}
	defer func() { _ = fh.Close() }()
	st, err := fh.Stat()
	if err != nil {
		return BundleEntry{}, fmt.Errorf("failed to read %s: %w", p, err)
	}
	e := BundleEntry{Size: st.Size()}
	what, err := credentialInReader(io.LimitReader(fh, st.Size()))
	if err != nil {
		return BundleEntry{}, fmt.Errorf("failed to read %s: %w", p, err)
	}
	if what != "" {
		e.Reason = "content looks like a credential (" + what + ")"
		return e, nil
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return BundleEntry{}, fmt.Errorf("failed to read %s: %w", p, err)
	}
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: mtime, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return BundleEntry{}, err
	}
	if _, err := io.CopyN(tw, fh, st.Size()); err != nil {
		return BundleEntry{}, fmt.Errorf("failed to read %s: %w", p, err)
	}
	e.Included = true
	return e, nil
}
