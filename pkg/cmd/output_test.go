package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

// Issue 13: -o is consistent across commands: table wherever the default is for people, yaml wherever json is
// offered, one error line naming --output and the allowed values.
func TestOutputFlagOfEveryCommand(t *testing.T) {
	dir := writeRunDir(t)
	// every command with -o: the arguments that reach its validation, and its formats
	cases := map[string]struct {
		args    []string
		formats outputFormats
	}{
		"run":     {[]string{"run"}, runFormats},
		"knee":    {[]string{"knee"}, listFormats},
		"probe":   {[]string{"probe"}, runFormats},
		"plan":    {[]string{"plan"}, textFormats},
		"version": {[]string{"version", "--client"}, textFormats},
		"compare": {[]string{"compare", dir, dir}, compareFormats},
		"report":  {[]string{"report", dir}, reportFormats},
		"cleanup": {[]string{"cleanup"}, listFormats},
		"bundle":  {[]string{"bundle", dir}, listFormats},
	}
	root := newCmdPyrometer(genericiooptions.NewTestIOStreamsDiscard(), newCatalogue())
	var seen []string
	for _, c := range root.Commands() {
		if c.Flags().Lookup("output") != nil {
			seen = append(seen, c.Name())
		}
	}
	slices.Sort(seen)
	var listed []string
	for name := range cases {
		listed = append(listed, name)
	}
	slices.Sort(listed)
	if !slices.Equal(seen, listed) {
		t.Fatalf("commands with -o %v, the test covers %v", seen, listed)
	}
	for _, name := range listed {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			allowed := tc.formats.allowed()
			if !slices.Contains(allowed, "table") {
				t.Errorf("-o of %s does not take table: %v", name, allowed)
			}
			if slices.Contains(allowed, "json") && !slices.Contains(allowed, "yaml") {
				t.Errorf("-o of %s takes json but not yaml: %v", name, allowed)
			}
			c, _, err := root.Find([]string{name})
			if err != nil {
				t.Fatal(err)
			}
			f := c.Flags().Lookup("output")
			if f.Shorthand != "o" || f.DefValue != tc.formats[0] {
				t.Errorf("-o of %s: shorthand %q, default %q, want o and %s", name, f.Shorthand, f.DefValue, tc.formats[0])
			}
			for _, v := range allowed {
				if !strings.Contains(f.Usage, v) {
					t.Errorf("--help of %s -o does not name %s: %q", name, v, f.Usage)
				}
			}
			api := &fakeAPI{}
			code, out, errOut := runAgainst(t, api, append(tc.args, "-o", "pdf")...)
			want := `error: invalid --output "pdf": allowed values are ` + strings.Join(allowed, ", ") + "\n"
			if code != 1 || out != "" || errOut != want {
				t.Errorf("-o pdf: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, want)
			}
			if len(api.other) > 0 || api.reviews > 0 {
				t.Errorf("-o pdf: refused before any request, but sent %v and %d reviews", api.other, api.reviews)
			}
		})
	}
}

// -o table is the same as the default text of version and plan.
func TestOutputTableIsText(t *testing.T) {
	text, _, code := runCmd(t, "version", "--client")
	table, errOut, code2 := runCmd(t, "version", "--client", "-o", "table")
	if code != 0 || code2 != 0 || table != text || !strings.Contains(table, "Plugin Version:") {
		t.Errorf("version -o table: exit %d, %q; -o text: exit %d, %q; %s", code2, table, code, text, errOut)
	}
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	code, text, errOut = runAgainst(t, api, "plan", "--run-id", "abcd1234")
	code2, table, _ = runAgainst(t, api, "plan", "--run-id", "abcd1234", "-o", "table")
	if code != 0 || code2 != 0 || table != text || text == "" {
		t.Errorf("plan -o table: exit %d, %q; -o text: exit %d, %q; %s", code2, table, code, text, errOut)
	}
}

// report -o yaml is run.json as YAML, every field of it.
func TestReportYAML(t *testing.T) {
	dir := writeRunDir(t)
	out, errOut, code := runCmd(t, "report", dir, "-o", "yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML map[string]any
	if err := yaml.Unmarshal(raw, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(out), &fromYAML); err != nil {
		t.Fatalf("-o yaml is not YAML: %v\n%s", err, out)
	}
	a, _ := yaml.Marshal(fromJSON)
	b, _ := yaml.Marshal(fromYAML)
	if string(a) != string(b) || !strings.Contains(out, "runID: r1\n") {
		t.Errorf("-o yaml differs from run.json:\n%s", out)
	}
}
