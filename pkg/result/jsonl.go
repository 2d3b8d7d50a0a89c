package result

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// maxJSONLLine bounds one line read back from a JSONL file.
const maxJSONLLine = 4 << 20

// JSONLWriter writes one JSON object per line (probe.jsonl, phases.jsonl, failures.jsonl, events.jsonl).
// It is safe for concurrent use; each value goes out in a single Write, unbuffered, so what was written
// survives a crash of the process.
type JSONLWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	name   string
}

// NewJSONLWriter writes lines to w; Close does not close w.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	return &JSONLWriter{w: w, name: "jsonl stream"}
}

// CreateJSONL opens path for appending (creating it, mode 0644) and returns a writer that owns the file.
func CreateJSONL(path string) (*JSONLWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	return &JSONLWriter{w: f, closer: f, name: path}, nil
}

// Write appends v as one line.
func (j *JSONLWriter) Write(v any) error {
	line, err := marshalLine(v)
	if err != nil {
		return fmt.Errorf("failed to encode a line of %s: %w", j.name, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.w == nil {
		return fmt.Errorf("failed to write to %s: writer is closed", j.name)
	}
	if _, err := j.w.Write(line); err != nil {
		return fmt.Errorf("failed to write to %s: %w", j.name, err)
	}
	return nil
}

// Close closes the file opened by CreateJSONL; later writes fail. It is safe to call more than once.
func (j *JSONLWriter) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := j.closer
	j.w, j.closer = nil, nil
	if c == nil {
		return nil
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("failed to close %s: %w", j.name, err)
	}
	return nil
}

// AppendJSONL appends v as one line to path (created when missing), opening and closing the file. For an
// occasional line (a phase, a failure); use a JSONLWriter for a stream of them.
func AppendJSONL(path string, v any) (err error) {
	j, err := CreateJSONL(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, j.Close()) }()
	return j.Write(v)
}

// marshalLine encodes v without HTML escaping (error texts stay readable), ending with a newline.
func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReadJSONL reads a JSONL file into values of T, skipping blank lines. A malformed line is an error
// naming path:line.
func ReadJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	return readJSONL(f, path, func(T) error { return nil })
}

// ReadSamples reads probe.jsonl whole. Every line must be a JSON object with a ts and a kind; the error for
// the first one that is not names path:line. For large files use SampleFile, which streams.
func ReadSamples(path string) ([]probe.Sample, error) {
	var out []probe.Sample
	err := SampleFile{Path: path}.Each(func(s probe.Sample) error {
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SampleSource is a re-readable stream of samples: each call of Each calls fn for every sample from the first,
// in order, and stops at the first error (of the source or of fn), which it returns.
type SampleSource interface {
	Each(fn func(probe.Sample) error) error
}

// SampleSlice is a SampleSource over samples in memory.
type SampleSlice []probe.Sample

// Each calls fn for every sample.
func (s SampleSlice) Each(fn func(probe.Sample) error) error {
	for _, smp := range s {
		if err := fn(smp); err != nil {
			return err
		}
	}
	return nil
}

// SampleFile streams probe.jsonl, one line in memory at a time, checking each line as ReadSamples does. With
// Limit > 0 only the bytes [Offset, Limit) are read (one run's part of a file another writer may still append
// to): a last line without its newline there is incomplete and skipped.
type SampleFile struct {
	Path          string
	Offset, Limit int64
}

// Each calls fn for every sample of the file.
func (f SampleFile) Each(fn func(probe.Sample) error) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", f.Path, err)
	}
	defer func() { _ = fh.Close() }()
	var r io.Reader = fh
	if f.Limit > 0 {
		r = io.NewSectionReader(fh, f.Offset, max(f.Limit-f.Offset, 0))
	} else if f.Offset > 0 {
		if _, err := fh.Seek(f.Offset, io.SeekStart); err != nil {
			return fmt.Errorf("failed to read %s: %w", f.Path, err)
		}
	}
	return scanJSONL(r, f.Path, f.Limit > 0, checkSample, fn)
}

func checkSample(s probe.Sample) error {
	switch {
	case s.TS.IsZero():
		return errors.New("sample has no ts")
	case s.Kind == "":
		return errors.New("sample has no kind")
	}
	return nil
}

func readJSONL[T any](r io.Reader, name string, check func(T) error) ([]T, error) {
	var out []T
	err := scanJSONL(r, name, false, check, func(v T) error {
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanJSONL decodes r line by line into T, skipping blank lines, and calls fn for each value. A malformed line
// is an error naming name:line. With skipPartial a last line without its newline is ignored.
func scanJSONL[T any](r io.Reader, name string, skipPartial bool, check func(T) error, fn func(T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	partial := false
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		if atEOF && tok != nil && adv == len(data) && data[len(data)-1] != '\n' {
			partial = true
		}
		return adv, tok, err
	})
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || partial && skipPartial {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return fmt.Errorf("%s:%d: malformed line: %w", name, n, err)
		}
		if err := check(v); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: failed to read: %w", name, n+1, err)
	}
	return nil
}
