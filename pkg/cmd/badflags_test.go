package cmd

import (
	"strings"
	"testing"
)

// TestRateAndMonitorIntervalBadInput: each invalid value gives one error line naming the flag and what is allowed,
// before any request.
func TestRateAndMonitorIntervalBadInput(t *testing.T) {
	rate := "must be a number of samples per second per kind, greater than 0 and at most 1000"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rate", "NaN"}, "error: invalid --rate NaN: " + rate},
		{[]string{"probe", "--rate", "nan"}, "error: invalid --rate NaN: " + rate},
		{[]string{"run", "--rate", "Inf"}, "error: invalid --rate +Inf: " + rate},
		{[]string{"run", "--rate", "-2"}, "error: invalid --rate -2: " + rate},
		{[]string{"probe", "--rate", "0"}, "error: invalid --rate 0: " + rate},
		{[]string{"run", "--rate", "1e-300"}, "error: invalid --rate 1e-300: one sample every 2562047h47m16.854775807s is longer than " +
			"the shortest probe window (--baseline/--step-duration/--recovery) 20s (no sample would be taken)"},
		{[]string{"probe", "--rate", "0.01"}, "error: invalid --rate 0.01: one sample every 1m40s is longer than --duration 30s (no sample would be taken)"},
		{[]string{"run", "--monitor", "--monitor-interval", "0"}, "error: invalid --monitor-interval 0s: must be between 1s and 1h"},
		{[]string{"run", "--monitor-interval", "-5s"}, "error: invalid --monitor-interval -5s: must be between 1s and 1h"},
		{[]string{"run", "--monitor", "--monitor-interval", "2h"}, "error: invalid --monitor-interval 2h0m0s: must be between 1s and 1h"},
		{[]string{"run", "--rate", "5", "--interval", "1s"}, "error: invalid flags: --rate and --interval are mutually exclusive"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			api := &fakeAPI{}
			code, out, errOut := runAgainst(t, api, tc.args...)
			if code == 0 || strings.TrimSpace(errOut) != tc.want {
				t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, tc.want)
			}
			if out != "" || len(api.other) > 0 || api.reviews > 0 {
				t.Errorf("refused before any request: stdout %q, requests %v, %d reviews", out, api.other, api.reviews)
			}
		})
	}
}

// TestRateFlagBeatsProfileInterval: --profile large sets interval: 2s; --rate on the command line overrides it
// instead of being refused as mutually exclusive with it.
func TestRateFlagBeatsProfileInterval(t *testing.T) {
	code, out, errOut := runAgainst(t, &fakeAPI{}, "run", "--profile", "large", "--rate", "5", "--print-config")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, w := range []string{"\nrate: \"5\"  # flag\n", "\n# interval: ", "\nsteps: \"3\"  # profile large\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("print-config lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "\ninterval:") {
		t.Errorf("the profile's interval must not be pinned beside the flag's rate:\n%s", out)
	}
}
