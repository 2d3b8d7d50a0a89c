package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// writeCompareRun writes a run directory with 200 successful local samples per kind, lognormal around 10 ms x scale.
func writeCompareRun(t *testing.T, seed uint64, scale float64) string {
	return writeCompareRunErrors(t, seed, scale, 200, 0)
}

// writeCompareRunErrors writes ok successful local samples per kind, lognormal around 10 ms x scale, and failed
// timeouts (10 s).
func writeCompareRunErrors(t *testing.T, seed uint64, scale float64, ok, failed int) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(result.Doc{RunID: "r", Version: version.Info{Version: "v0.1.0"}})
	if err := os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, seed+1))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, k := range []probe.Kind{probe.KindGet, probe.KindListNamespace} {
		for i := 0; i < ok; i++ {
			_ = enc.Encode(probe.Sample{TS: time.Unix(1, 0).UTC(), Phase: "baseline", Kind: k, Source: "local", Status: 200,
				LatencyMS: scale * 10 * math.Exp(0.3*r.NormFloat64())})
		}
		for i := 0; i < failed; i++ {
			_ = enc.Encode(probe.Sample{TS: time.Unix(1, 0).UTC(), Phase: "baseline", Kind: k, Source: "local",
				LatencyMS: 10000, Error: "timeout after 10s: context deadline exceeded"})
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompareCommand(t *testing.T) {
	a := writeCompareRun(t, 1, 1)
	same := writeCompareRun(t, 2, 1)
	slower := writeCompareRun(t, 3, 1.5)
	// issue 12 item 6: 95% timeouts with a few fast successes, and 100% timeouts, passed --fail-on-regression
	timeouts95 := writeCompareRunErrors(t, 4, 0.5, 10, 190)
	timeouts100 := writeCompareRunErrors(t, 5, 1, 0, 200)
	broken := t.TempDir()
	_ = os.WriteFile(filepath.Join(broken, "run.json"), []byte("{oops"), 0o644)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"shift detected, --fail-on-regression 20%", []string{a, slower, "--fail-on-regression", "20%"}, 3, "yes", "error: regression: baseline"},
		{"95% timeouts, fast successes: exit 3", []string{a, timeouts95, "--fail-on-regression", "20%"}, 3, "yes, B worse",
			"error: regression: baseline get error ratio rose from 0% to 95.00% (Fisher's exact test p="},
		{"100% timeouts: exit 3", []string{a, timeouts100, "--fail-on-regression", "20%"}, 3, "too few samples",
			"error: regression: baseline get: every request failed in B (error ratio 0.0% -> 100.0%)"},
		{"shift without --fail-on-regression", []string{a, slower}, 0, "Mann-Whitney", ""},
		{"shift below --fail-on-regression 80", []string{a, slower, "--fail-on-regression", "80"}, 0, "+", ""},
		{"same distribution", []string{a, same, "--fail-on-regression", "20%"}, 0, " no ", ""},
		{"-o json", []string{a, slower, "-o", "json"}, 0, `"significant": true`, ""},
		{"-o markdown", []string{a, slower, "-o", "markdown"}, 0, "| PHASE |", ""},
		{"malformed run.json", []string{broken, a}, 1, "", "error: failed to read " + filepath.Join(broken, "run.json") + ": malformed JSON"},
		{"missing dir", []string{filepath.Join(a, "nope"), a}, 1, "", "error: failed to read " + filepath.Join(a, "nope", "run.json") + ": no such file"},
		{"bad --fail-on-regression", []string{a, same, "--fail-on-regression", "lots"}, 1, "", `error: invalid --fail-on-regression "lots"`},
		{"bad --alpha", []string{a, same, "--alpha", "2"}, 1, "", "error: invalid --alpha 2"},
		{"bad -o", []string{a, same, "-o", "csv"}, 1, "", `error: invalid --output "csv"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			code := execute(context.Background(), streams, newCatalogue(), append([]string{"compare"}, tc.args...))
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout %q, want %q", out.String(), tc.wantOut)
			}
			if tc.wantErr == "" {
				if errOut.Len() != 0 {
					t.Errorf("stderr %q, want empty", errOut.String())
				}
				return
			}
			if !strings.HasPrefix(errOut.String(), tc.wantErr) || strings.Count(errOut.String(), "\n") != 1 {
				t.Errorf("stderr %q, want one line starting %q", errOut.String(), tc.wantErr)
			}
		})
	}
}
