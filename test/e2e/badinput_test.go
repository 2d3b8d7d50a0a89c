//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInputMatrix: each invalid input gives one clear line naming what is wrong, a non-zero exit, and nothing in
// the cluster.
func TestBadInputMatrix(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodTmpl := file("ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-{{.Iteration}}\n  labels:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n")
	_ = goodTmpl
	// usedDir is a directory holding an earlier run's (run.json) or probe's (probe.json) artifacts
	usedDir := func(doc string) string {
		d := filepath.Join(dir, "used-"+doc)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, b := range map[string]string{doc: `{"runID":"abcd1234"}`, "probe.jsonl": "{}\n"} {
			if err := os.WriteFile(filepath.Join(d, n), []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	mode := "modes:\n- name: mine\n  plane: control\n  description: d\n  parameters:\n  - {name: count, type: int, default: 1, min: 1, max: 5, help: h}\n  job: {iterations: count, qps: 5, burst: 5}\n  objects:\n  - {template: ok.yaml, replicas: count, pods: 0}\n"
	cases := []struct {
		args []string
		want string
	}{
		// flags
		{[]string{"run", "--modes", "cpu,gpu"}, `invalid --modes: unknown mode "gpu"; valid modes: cpu, mem, disk, network, api, churn, density`},
		{[]string{"run", "--modes", ""}, `invalid --modes ""`},
		{[]string{"run", "--steps", "0"}, "invalid --steps 0"},
		{[]string{"run", "--steps", "many"}, `invalid argument "many" for "--steps"`},
		{[]string{"run", "--baseline", "-1s"}, "invalid --baseline"},
		{[]string{"run", "--step-duration", "0s"}, "invalid --step-duration"},
		{[]string{"run", "--recovery", "0s"}, "invalid --recovery"},
		{[]string{"run", "--cpu-replicas", "0"}, `invalid --cpu-replicas "0": must be between 1 and 1000`},
		{[]string{"run", "--cpu-millicores", "1.5"}, `invalid --cpu-millicores "1.5": must be a whole number`},
		{[]string{"run", "--api-qps", "0"}, `invalid --api-qps "0"`},
		{[]string{"run", "--modes", "churn", "--churn-kind", "pod"}, `invalid --churn-kind "pod": must be one of configmap, secret`},
		{[]string{"run", "--modes", "churn", "--churn-lifetime", "soon"}, `invalid --churn-lifetime "soon": must be a duration between 1s and 1h0m0s`},
		{[]string{"run", "--modes", "churn", "--churn-rate", "0"}, `invalid --churn-rate "0": must be between 0.1 and 10000`},
		{[]string{"run", "--modes", "churn", "--churn-size", "1GiB"}, `invalid --churn-size "1GiB": must be a size between 1 and 512KiB`},
		{[]string{"run", "--max-write-rate", "0"}, `invalid --max-write-rate 0: must be a number of writes per second above 0`},
		{[]string{"run", "--set", "cpu.cores=2"}, `mode cpu has no parameter "cores"`},
		{[]string{"run", "--set", "cpu.replicas"}, "invalid --set"},
		{[]string{"run", "--interval", "1m"}, "invalid --interval 1m0s"},
		{[]string{"run", "--probes", "get,nope"}, `unknown probe kind "nope"`},
		{[]string{"run", "--probe-from", "moon"}, `invalid --probe-from "moon"`},
		{[]string{"run", "--run-id", "Not_Valid"}, `invalid --run-id "Not_Valid"`},
		{[]string{"run", "--node-selector", "bad key=x"}, "invalid --node-selector"},
		{[]string{"run", "--image-pull-secret", "Bad_Name"}, `invalid --image-pull-secret "Bad_Name"`},
		{[]string{"run", "-o", "pdf"}, `invalid --output "pdf"`},
		{[]string{"run", "--qps", "0"}, "invalid --qps"},
		{[]string{"plan", "--max-pods", "0"}, "max-pods"},
		// error-rate thresholds: a fraction (0.25) or a percentage (25%); a bare 25 is refused, not read as 2500%
		{[]string{"run", "--max-error-rate", "25"}, `invalid argument "25" for "--max-error-rate" flag: must be a fraction from 0 to 1 (0.25) or a percentage from 0% to 100% (25%)`},
		{[]string{"run", "--max-error-rate", "150%"}, `invalid argument "150%" for "--max-error-rate" flag`},
		{[]string{"run", "--max-error-rate", "-0.1"}, `invalid argument "-0.1" for "--max-error-rate" flag`},
		{[]string{"run", "--slo-error-rate", "NaN"}, `invalid argument "NaN" for "--slo-error-rate" flag`},
		{[]string{"plan", "--slo-error-rate", "5"}, `invalid argument "5" for "--slo-error-rate" flag`},
		// config file and profile
		{[]string{"run", "--config", file("c1.yaml", "steps: 2\ncolour: red\n")}, `c1.yaml:2: unknown key "colour"`},
		{[]string{"run", "--config", file("c2.yaml", "steps: lots\n")}, `c2.yaml:1: key "steps": invalid value "lots"`},
		{[]string{"run", "--config", file("c3.yaml", "cpu-replicas: 0\n")}, `invalid --cpu-replicas "0"`},
		{[]string{"run", "--config", filepath.Join(dir, "missing.yaml")}, "invalid --config"},
		{[]string{"run", "--config", file("c4.yaml", "token: abc\n")}, `c4.yaml:1: unknown key "token"`},
		{[]string{"run", "--config", file("c5e.yaml", "max-error-rate: 25\n")}, `c5e.yaml:1: key "max-error-rate": invalid value "25"`},
		{[]string{"run", "--profile", "gigantic"}, `invalid --profile "gigantic"`},
		{[]string{"run", "--profile", file("p1.yaml", "steps: [1, 2\n")}, "p1.yaml"},
		// image map
		{[]string{"run", "--image-map", file("i1.txt", "# ok\nbusybox = mirror/busybox\nno equals sign here\n")}, "invalid --image-map " + filepath.Join(dir, "i1.txt") + ":3"},
		{[]string{"run", "--image-map", file("i2.txt", "a = b\na = c\n")}, "i2.txt:2: a is mapped twice"},
		{[]string{"run", "--image-map", filepath.Join(dir, "absent.txt")}, "invalid --image-map"},
		// plugins file
		{[]string{"run", "--plugins", file("m1.yaml", mode+"  colour: red\n")}, `unknown field "colour"`},
		{[]string{"run", "--plugins", file("m2.yaml", strings.Replace(mode, "plane: control", "plane: sideways", 1))}, `m2.yaml: modes[0] (mine): plane: "sideways"`},
		{[]string{"run", "--plugins", file("m3.yaml", strings.Replace(mode, "ok.yaml", "gone.yaml", 1))}, "objects[0].template"},
		{[]string{"run", "--plugins", file("m4.yaml", strings.Replace(mode, "name: mine", "name: cpu", 1))}, `mode "cpu" is already defined`},
		{[]string{"run", "--plugins", file("m5.yaml", strings.Replace(mode, "default: 1,", "default: 9,", 1))}, "parameters[0].default: 9 is outside [1, 5]"},
		{[]string{"run", "--plugins", filepath.Join(dir, "nope.yaml")}, "invalid --plugins"},
		// probe rate, monitor interval, rate vs interval at one level (issue 12, item 17)
		{[]string{"run", "--rate", "NaN"}, "invalid --rate NaN: must be a number of samples per second per kind, greater than 0 and at most 1000"},
		{[]string{"probe", "--rate", "Inf"}, "invalid --rate +Inf: must be a number of samples per second per kind"},
		{[]string{"run", "--rate", "-1"}, "invalid --rate -1: must be a number of samples per second per kind"},
		{[]string{"probe", "--rate", "0.01"}, "invalid --rate 0.01: one sample every 1m40s is longer than --duration 30s"},
		{[]string{"run", "--rate", "5", "--interval", "1s"}, "--rate and --interval are mutually exclusive"},
		{[]string{"run", "--config", file("c5.yaml", "rate: 5\ninterval: 2s\n")}, "c5.yaml:2: keys rate and interval are mutually exclusive: give one"},
		{[]string{"run", "--monitor", "--monitor-interval", "0"}, "invalid --monitor-interval 0s: must be between 1s and 1h"},
		{[]string{"run", "--monitor-interval", "2h"}, "invalid --monitor-interval 2h0m0s: must be between 1s and 1h"},
		// an --output-dir holding another run's artifacts (issue 12, item 9)
		{[]string{"run", "--output-dir", usedDir("run.json")}, "invalid --output-dir " + filepath.Join(dir, "used-run.json") + ": it already holds the artifacts of run abcd1234"},
		{[]string{"probe", "--output-dir", usedDir("probe.json")}, "invalid --output-dir " + filepath.Join(dir, "used-probe.json") + ": it already holds the artifacts of run abcd1234"},
	}
	before := countOurNamespaces(t)
	for _, tc := range cases {
		name := strings.Join(tc.args, " ")
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			r := plugin(t, time.Minute, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant it to contain %q", r.code, r.stderr, tc.want)
			}
			assertOneErrorLine(t, r.stderr)
			if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("want exactly one line on stderr, got:\n%s", r.stderr)
			}
		})
	}
	if after := countOurNamespaces(t); after > before {
		t.Errorf("bad input created namespaces: %d before, %d after", before, after)
	}
	if len(cases) < 25 {
		t.Errorf("the matrix must hold at least 25 invalid inputs, has %d", len(cases))
	}
}

// TestProfileRateOverridesInterval: --rate on the command line overrides the large profile's interval (2s) instead
// of being refused as mutually exclusive with it.
func TestProfileRateOverridesInterval(t *testing.T) {
	id := runID(t)
	r := plugin(t, 2*time.Minute, "plan", "--profile", "large", "--rate", "5", "--run-id", id, "-o", "json")
	if r.code != 0 || strings.Contains(r.stderr, "mutually exclusive") {
		t.Errorf("plan --profile large --rate 5: exit %d\n%s", r.code, r.stderr)
	}
	r = plugin(t, time.Minute, "run", "--profile", "large", "--rate", "5", "--print-config")
	if r.code != 0 || !strings.Contains(r.stdout, "\nrate: \"5\"  # flag\n") || strings.Contains(r.stdout, "\ninterval:") {
		t.Errorf("print-config: exit %d, want rate from the flag and no interval pinned:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNothingLeft(t, id)
}
