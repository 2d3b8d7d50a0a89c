package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Bad input to knee: one error line naming the flag, exit 1, before any connection (the kubeconfig points nowhere:
// a check that reached the cluster would fail differently) and nothing written.
func TestKneeBadInput(t *testing.T) {
	dir := t.TempDir()
	mix := filepath.Join(dir, "mix.yaml")
	if err := os.WriteFile(mix, []byte("rate: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bogus := filepath.Join(dir, "bogus.yaml")
	if err := os.WriteFile(bogus, []byte("updates: lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--start-rate", "0"}, "--start-rate"},
		{[]string{"--start-rate", "NaN"}, "--start-rate"},
		{[]string{"--max-rate", "5"}, "--max-rate"},
		{[]string{"--precision", "0"}, "--precision"},
		{[]string{"--precision", "150%"}, "--precision"},
		{[]string{"--cooldown", "soon"}, "--cooldown"},
		{[]string{"--cooldown", "-1s"}, "--cooldown"},
		{[]string{"--mix", "nosuchfile.yaml"}, "--mix"},
		{[]string{"--mix", mix}, "--mix"},
		{[]string{"--mix", bogus}, "--mix"},
		{[]string{"--slo", "bogus=1s"}, "--slo"},
		{[]string{"--slo", "writes=soon"}, "--slo"},
		{[]string{"--step-duration", "500ms"}, "--step-duration"},
		{[]string{"--probe-from", "cluster"}, "--probe-from"},
		{[]string{"--run-id", "UPPER"}, "--run-id"},
		{[]string{"-o", "csv"}, "--output"},
		{[]string{"--workers", "3"}, "--workers"}, // needs --load-from cluster
		{[]string{"--load-from", "mars"}, "--load-from"},
		{[]string{"--node-selector", "pool=bad value"}, "--node-selector"},
		{[]string{"--load-from", "cluster", "--workers", "60"}, "--workers"}, // above --max-workers 50
	} {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		args := append([]string{"--kubeconfig", filepath.Join(dir, "none"), "knee", "--output-dir", filepath.Join(dir, "out")}, c.args...)
		code := execute(context.Background(), streams, newCatalogue(), args)
		lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], c.flag) || out.Len() > 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want one error line naming %s", c.args, code, out.String(), errOut.String(), c.flag)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Errorf("%v: the output directory was created", c.args)
		}
	}
}
