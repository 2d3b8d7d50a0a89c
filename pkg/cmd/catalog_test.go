package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// newReadyRunCmd is "kubectl pyrometer run" with its generated mode flags, as Execute readies it.
func newReadyRunCmd() *cobra.Command {
	cat := newCatalogue()
	cmd := NewCmdRun(nil, genericiooptions.NewTestIOStreamsDiscard(), cat)
	cat.ready(cmd)
	return cmd
}

// countingCatalogue counts how often the built-in catalogue is parsed; with fail it fails to parse.
func countingCatalogue(parses *int, fail bool) *catalogue {
	real := newCatalogue()
	return &catalogue{parse: func() (*modes.Catalog, error) {
		*parses++
		if fail {
			return nil, errors.New("plugins file built-in plugins.yaml: broken for the test")
		}
		return real.parse()
	}}
}

func executeWith(t *testing.T, cat *catalogue, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code = execute(context.Background(), streams, cat, args)
	return out.String(), errOut.String(), code
}

// Issue 13: the mode catalogue was parsed three times at start-up, even for version. Only run and plan read it, once.
func TestCatalogueOnlyForTheCommandsThatUseIt(t *testing.T) {
	for _, args := range [][]string{
		{"version", "--client"}, {"version", "--client", "-o", "yaml"}, {"--help"}, {"probe", "--help"}, {"cleanup", "--help"},
		{"report", "--help"}, {"compare", "--help"}, {"bundle", "--help"}, {"completion", "bash"}, {"help", "probe"},
		{cobra.ShellCompRequestCmd, ""}, {cobra.ShellCompRequestCmd, "probe", "--dur"},
	} {
		parses := 0
		// A catalogue that cannot be parsed must not matter to a command that does not use it.
		_, errOut, code := executeWith(t, countingCatalogue(&parses, true), args...)
		if code != 0 || parses != 0 {
			t.Errorf("%v: exit %d, catalogue parsed %d times (want 0); stderr %q", args, code, parses, errOut)
		}
	}
}

func TestCatalogueParsedOnceForRunAndPlan(t *testing.T) {
	dir := t.TempDir()
	tmpl := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-{{.Iteration}}\n  labels:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n"
	mode := "modes:\n- name: mine\n  plane: control\n  description: d\n  parameters:\n  - {name: count, type: int, default: 1, min: 1, max: 5, help: h}\n  job: {iterations: count, qps: 5, burst: 5}\n  objects:\n  - {template: ok.yaml, replicas: count, pods: 0}\n"
	for name, body := range map[string]string{"ok.yaml": tmpl, "mine.yaml": mode} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		args []string
		want []string // on stdout
	}{
		{[]string{"run", "--print-config", "--cpu-replicas", "3", "--modes", "cpu,mine", "--plugins", filepath.Join(dir, "mine.yaml"), "--set", "mine.count=2"},
			[]string{`cpu-replicas: "3"  # flag`, `modes: "cpu,mine"  # flag`}},
		{[]string{"run", "--help"}, []string{"--cpu-replicas number", "cpu      data plane:", "api      control plane:"}},
		{[]string{"help", "run"}, []string{"--cpu-replicas number", "cpu      data plane:"}},
		{[]string{"plan", "--help"}, []string{"--mem-mb number"}},
		{[]string{cobra.ShellCompRequestCmd, "run", "--cpu-r"}, []string{"--cpu-replicas"}},
		{[]string{cobra.ShellCompNoDescRequestCmd, "plan", "--api-q"}, []string{"--api-qps"}},
	}
	for _, tc := range cases {
		parses := 0
		out, errOut, code := executeWith(t, countingCatalogue(&parses, false), tc.args...)
		if code != 0 || parses != 1 {
			t.Errorf("%v: exit %d, catalogue parsed %d times (want 1); stderr %q", tc.args, code, parses, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	// A --plugins file is read on top of the parsed built-in catalogue; a broken one is one error line.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(mode+"  colour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	parses := 0
	_, errOut, code := executeWith(t, countingCatalogue(&parses, false), "run", "--print-config", "--plugins", bad)
	if code != 1 || parses != 1 || !strings.HasPrefix(errOut, "error: plugins file "+bad) || !strings.Contains(errOut, `unknown field "colour"`) ||
		strings.Count(errOut, "\n") != 1 {
		t.Errorf("broken --plugins: exit %d, parsed %d times, stderr %q", code, parses, errOut)
	}
}

// A built-in catalogue that fails to parse fails run (and plan) with that error, and no other command.
func TestBrokenCatalogueFailsOnlyRun(t *testing.T) {
	parses := 0
	out, errOut, code := executeWith(t, countingCatalogue(&parses, true), "run", "--print-config")
	if code != 1 || out != "" || errOut != "error: plugins file built-in plugins.yaml: broken for the test\n" || parses != 1 {
		t.Errorf("exit %d, parsed %d times, stdout %q, stderr %q", code, parses, out, errOut)
	}
	out, _, code = executeWith(t, countingCatalogue(&parses, true), "run", "--help")
	if code != 0 || !strings.Contains(out, "(catalogue error: plugins file built-in plugins.yaml: broken for the test)") {
		t.Errorf("run --help with a broken catalogue: exit %d\n%s", code, out)
	}
}
