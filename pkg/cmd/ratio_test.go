package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/config"
)

// issue 12 item 17: "--max-error-rate 25" (meant as 25%) was accepted as 2500% and never tripped.
func TestRatioFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.25", 0.25, true}, {"25%", 0.25, true}, {" 1% ", 0.01, true}, {"0", 0, true}, {"0%", 0, true},
		{"1", 1, true}, {"100%", 1, true}, {"0.5%", 0.005, true},
		{"25", 0, false}, {"1.5", 0, false}, {"101%", 0, false}, {"-0.1", 0, false}, {"-5%", 0, false},
		{"NaN", 0, false}, {"Inf", 0, false}, {"", 0, false}, {"%", 0, false}, {"abc", 0, false},
	} {
		var v float64
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		fs.Var(newRatioFlag(&v, 0.5), "max-error-rate", "")
		err := fs.Set("max-error-rate", tc.in)
		if tc.ok != (err == nil) || tc.ok && v != tc.want {
			t.Errorf("Set(%q): value %v err %v; want %v ok=%v", tc.in, v, err, tc.want, tc.ok)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "fraction from 0 to 1")) {
			t.Errorf("Set(%q): error %v, want one naming what is allowed", tc.in, err)
		}
	}
}

func TestRatioFlagRoundTrip(t *testing.T) {
	for _, v := range []float64{0.25, 0.01, 0, 1, 0.005, 0.333} {
		f := newRatioFlag(new(float64), v)
		var back float64
		if err := newRatioFlag(&back, 0).Set(f.String()); err != nil || back != v {
			t.Errorf("%v printed %q read back as %v (%v)", v, f.String(), back, err)
		}
	}
}

func TestRunErrorRateFlags(t *testing.T) {
	cmd := newReadyRunCmd()
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--max-error-rate", "25"}, `invalid argument "25" for "--max-error-rate" flag: must be a fraction from 0 to 1`},
		{[]string{"--slo-error-rate", "2"}, `invalid argument "2" for "--slo-error-rate" flag: must be a fraction from 0 to 1`},
	} {
		err := cmd.ParseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
		}
	}
	c := newReadyRunCmd()
	if f := c.Flags().Lookup("slo-error-rate"); f == nil || f.DefValue != "1%" {
		t.Errorf("--slo-error-rate default %v, want 1%%", f)
	}
	if f := c.Flags().Lookup("max-error-rate"); f == nil || f.DefValue != "25%" {
		t.Errorf("--max-error-rate default %v, want 25%%", f)
	}
}

func TestErrorRateFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		body, err string
	}{
		{"max-error-rate: 25\n", `key "max-error-rate": invalid value "25": must be a fraction from 0 to 1`},
		{"max-error-rate: 10%\n", ""},
		{"max-error-rate: 0.1\n", ""},
	} {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := newReadyRunCmd()
		_, err := config.Apply(cmd.LocalNonPersistentFlags(), p, "")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		if v := cmd.Flags().Lookup("max-error-rate").Value.String(); v != "10%" {
			t.Errorf("%q: --max-error-rate %s, want 10%%", tc.body, v)
		}
	}
}
