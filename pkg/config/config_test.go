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
	for _, n := range []string{"interval", "rate", "cpu-millicores", "mem-mb", "disk-mb", "api-qps", "api-burst", "api-iterations", "max-namespaces", "max-objects-per-step"} {
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

// TestExclusivePairPrecedence: rate and interval set one thing; the highest level that sets either decides, and the
// partner from a lower level is ignored. Both at one level is an error.
func TestExclusivePairPrecedence(t *testing.T) {
	profile := write(t, "rate: 4\nsteps: 4\n")
	cases := []struct {
		name             string
		args             []string
		config, profile  string
		interval, rate   string // the flags' values after Apply
		iOrigin, rOrigin string
	}{
		{"flag rate beats the large profile's interval", []string{"--rate", "5"}, "", "large", "", "5", "default", "flag"},
		{"flag interval beats the profile's rate", []string{"--interval", "3s"}, "", profile, "3s", "", "flag", "default"},
		{"config rate beats the large profile's interval", nil, "rate: 5\n", "large", "", "5", "default", "config"},
		{"config interval beats the profile's rate", nil, "interval: 500ms\n", profile, "500ms", "", "config", "default"},
		{"flag rate beats the config's interval", []string{"--rate", "5"}, "interval: 2s\nsteps: 3\n", "", "", "5", "default", "flag"},
		{"the profile alone", nil, "", "large", "500ms", "", "profile large", "default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newFlags(tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			cfg := ""
			if tc.config != "" {
				cfg = write(t, tc.config)
			}
			origin, err := Apply(f.fs, cfg, tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			i, r := f.fs.Lookup("interval"), f.fs.Lookup("rate")
			if i.Value.String() != tc.interval || r.Value.String() != tc.rate {
				t.Errorf("interval %q rate %q, want %q %q", i.Value.String(), r.Value.String(), tc.interval, tc.rate)
			}
			if i.Changed && r.Changed {
				t.Errorf("both set: the command would refuse them as mutually exclusive")
			}
			if !strings.HasPrefix(origin["interval"], tc.iOrigin) || !strings.HasPrefix(origin["rate"], tc.rOrigin) {
				t.Errorf("origins: interval %q rate %q", origin["interval"], origin["rate"])
			}
		})
	}
	// the rest of a lower level still applies
	f, _ := newFlags("--rate", "5")
	if _, err := Apply(f.fs, "", profile); err != nil || f.steps != 4 {
		t.Errorf("the profile's other keys apply: steps %d, %v", f.steps, err)
	}
	// both in one file
	f, _ = newFlags()
	if _, err := Apply(f.fs, write(t, "steps: 2\nrate: 5\ninterval: 1s\n"), ""); err == nil ||
		!strings.HasSuffix(err.Error(), "run.yaml:3: keys rate and interval are mutually exclusive: give one") {
		t.Errorf("rate and interval in one file: %v", err)
	}
	f, _ = newFlags()
	if _, err := Apply(f.fs, "", write(t, "interval: 1s\nrate: 5\n")); err == nil || !strings.Contains(err.Error(), "keys rate and interval are mutually exclusive") {
		t.Errorf("rate and interval in one profile: %v", err)
	}
}
