package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type flags struct {
	steps    int
	baseline time.Duration
	modes    string
	plugins  []string
	sel      map[string]string
	fs       *pflag.FlagSet
}

func newFlags(args ...string) (*flags, error) {
	f := &flags{fs: pflag.NewFlagSet("run", pflag.ContinueOnError)}
	f.fs.IntVar(&f.steps, "steps", 2, "")
	f.fs.DurationVar(&f.baseline, "baseline", 10*time.Second, "")
	f.fs.StringVar(&f.modes, "modes", "cpu,mem", "")
	f.fs.StringArrayVar(&f.plugins, "plugins", nil, "")
	f.fs.StringToStringVar(&f.sel, "node-selector", nil, "")
	f.fs.String("config", "", "")
	f.fs.String("profile", "", "")
	f.fs.Int("max-pods", 2000, "")
	f.fs.Duration("recovery", 10*time.Second, "")
	f.fs.Duration("step-duration", 10*time.Second, "")
	f.fs.String("run-id", "", "")
	for _, n := range []string{"interval", "cpu-millicores", "mem-mb", "disk-mb", "api-qps", "api-burst", "api-iterations", "max-namespaces", "max-objects-per-step"} {
		f.fs.String(n, "", "")
	}
	return f, f.fs.Parse(args)
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "run.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	cfg := write(t, "steps: 5\nbaseline: 20s\nplugins: [a.yaml, b.yaml]\nnode-selector: {pool: load}\n")
	f, _ := newFlags("--steps", "7")
	origin, err := Apply(f.fs, cfg, "large")
	if err != nil {
		t.Fatal(err)
	}
	if f.steps != 7 || origin["steps"] != "flag" {
		t.Errorf("a flag beats config and profile: steps=%d (%s)", f.steps, origin["steps"])
	}
	if f.baseline != 20*time.Second || !strings.HasPrefix(origin["baseline"], "config ") {
		t.Errorf("config beats profile: baseline=%v (%s)", f.baseline, origin["baseline"])
	}
	if v := f.fs.Lookup("recovery").Value.String(); v != "1m0s" || origin["recovery"] != "profile large" {
		t.Errorf("profile beats default: recovery=%s (%s)", v, origin["recovery"])
	}
	if f.modes != "cpu,mem" || origin["modes"] != "default" {
		t.Errorf("default: %s (%s)", f.modes, origin["modes"])
	}
	if strings.Join(f.plugins, ",") != "a.yaml,b.yaml" || f.sel["pool"] != "load" {
		t.Errorf("lists and maps: %v %v", f.plugins, f.sel)
	}
	out := Print(f.fs, origin)
	if !strings.Contains(out, "\n"+`steps: "7"  # flag`) || !strings.Contains(out, `plugins: ["a.yaml", "b.yaml"]`) || strings.Contains(out, "profile:") ||
		!strings.Contains(out, `# modes: "cpu,mem"  # default`) {
		t.Errorf("print-config:\n%s", out)
	}
	// the printed configuration is itself a valid config file
	g, _ := newFlags()
	if _, err := Apply(g.fs, write(t, out), ""); err != nil || g.steps != 7 || g.baseline != 20*time.Second {
		t.Errorf("round trip: %v steps=%d baseline=%v", err, g.steps, g.baseline)
	}
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	cases := map[string]string{
		"steps: 3\ncolour: red\n":      `run.yaml:2: unknown key "colour"`,
		"steps: three\n":               `run.yaml:1: key "steps": invalid value "three"`,
		"baseline: 10\n":               `run.yaml:1: key "baseline": invalid value "10"`,
		"steps: 3\nsteps: 4\n":         `run.yaml:2: key "steps" given twice (also line 1)`,
		"- steps\n":                    `run.yaml:1: want a mapping`,
		"steps: [3\n":                  `run.yaml`,
		"config: other.yaml\n":         `unknown key "config"`,
		"plugins: [[a]]\n":             `list items must be plain values`,
		"steps: 3\nrun-id: 1a2b3c4d\n": `run.yaml:2: key "run-id" is not allowed in a file: a run id names one run; pass --run-id on the command line`,
	}
	for body, want := range cases {
		f, _ := newFlags()
		_, err := Apply(f.fs, write(t, body), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
	f, _ := newFlags()
	if _, err := Apply(f.fs, "", "huge"); err == nil || !strings.Contains(err.Error(), `invalid --profile "huge": not a built-in profile (large, small)`) {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := Apply(f.fs, "/nonexistent/run.yaml", ""); err == nil || !strings.Contains(err.Error(), "invalid --config") {
		t.Errorf("missing config: %v", err)
	}
}

func TestBuiltinProfilesApply(t *testing.T) {
	for name := range Profiles {
		f, _ := newFlags()
		if _, err := Apply(f.fs, "", name); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}
}
