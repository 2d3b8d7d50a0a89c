package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code = execute(context.Background(), streams, newCatalogue(), args)
	return out.String(), errOut.String(), code
}

func TestVersionClientJSON(t *testing.T) {
	out, errOut, code := runCmd(t, "version", "--client", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v VersionResult
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if v.Client.Version == "" || v.Server != nil {
		t.Errorf("unexpected: %+v", v)
	}
}

func TestVersionBadOutput(t *testing.T) {
	out, errOut, code := runCmd(t, "version", "--client", "-o", "xml")
	if code == 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--output") || !strings.Contains(errOut, "text, json, yaml") {
		t.Errorf("want one line naming --output and the allowed values, got %q", errOut)
	}
}

func TestHelpSaysKubectlPyrometer(t *testing.T) {
	out, _, code := runCmd(t, "version", "--help")
	if code != 0 || !strings.Contains(out, "kubectl pyrometer version") {
		t.Errorf("help should read 'kubectl pyrometer version': %s", out)
	}
}

func TestBundleCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(`{"runID":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "bundle", dir, "-o", "json")
	if code != 0 || !strings.Contains(out, `"run.json"`) || !strings.Contains(out, ".tar.gz") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	_, errOut, code = runCmd(t, "bundle", filepath.Join(dir, "missing"))
	if code == 0 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "is not a run directory") {
		t.Errorf("missing dir: exit %d %q", code, errOut)
	}
	_, errOut, code = runCmd(t, "bundle")
	if code == 0 || !strings.Contains(errOut, "exactly one argument") {
		t.Errorf("no argument: exit %d %q", code, errOut)
	}
}
