package modes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
)

func TestChurnSettingsAndLoads(t *testing.T) {
	c := builtin(t)
	m := c.Mode("churn")
	if m == nil || m.Engine != EngineChurn || m.Plane != PlaneControl {
		t.Fatalf("mode churn: %+v", m)
	}
	sel, err := c.Select([]*Mode{m}, []Override{
		{"churn", "lifetime", "1m30s", "--churn-lifetime"}, {"churn", "size", "4KiB", "--churn-size"},
		{"churn", "kind", "secret", "--churn-kind"}, {"churn", "arrival", "uniform", "--churn-arrival"},
		{"churn", "rate", "2.5", "--churn-rate"}})
	if err != nil {
		t.Fatal(err)
	}
	set := sel.Settings["churn"]
	if set["lifetime"] != 90 || set["size"] != 4096 || set["kind"] != 1 || set["arrival"] != 1 {
		t.Errorf("settings: %v", set)
	}
	// step 3 runs at 3 x rate (cumulative)
	loads := sel.EngineLoads(3)
	want := Load{Mode: "churn", Engine: EngineChurn, Kind: "secret", Rate: 7.5, Arrival: "uniform", Lifetime: 90 * time.Second,
		Updates: 1, Size: 4096, Watchers: 1}
	if len(loads) != 1 || loads[0] != want {
		t.Fatalf("loads: %+v, want %+v", loads, want)
	}
	// create + 1 update + delete per object; Little's law
	if loads[0].WriteRate() != 22.5 || loads[0].Population() != 675 {
		t.Errorf("write rate %v population %d", loads[0].WriteRate(), loads[0].Population())
	}
	if cost, _ := sel.StepCost(); cost.Objects != 0 {
		t.Errorf("churn objects are not a per-step template cost: %+v", cost)
	}
	for _, tc := range []struct{ param, value string }{{"lifetime", "1m30s"}, {"size", "4KiB"}, {"kind", "secret"}, {"rate", "2.5"}} {
		p := m.Parameter(tc.param)
		if got := p.Format(set[tc.param]); got != tc.value {
			t.Errorf("%s formats as %q, want %q", tc.param, got, tc.value)
		}
	}
}

func TestEngineSettingsRejected(t *testing.T) {
	c := builtin(t)
	modes, _ := c.ParseModes("churn")
	for _, tc := range []struct {
		o    Override
		want string
	}{
		{Override{"churn", "kind", "pod", "--churn-kind"}, `invalid --churn-kind "pod": must be one of configmap, secret`},
		{Override{"churn", "arrival", "bursty", "--churn-arrival"}, `invalid --churn-arrival "bursty": must be one of poisson, uniform`},
		{Override{"churn", "lifetime", "soon", "--churn-lifetime"}, `invalid --churn-lifetime "soon": must be a duration between 1s and 1h0m0s`},
		{Override{"churn", "lifetime", "2h", "--churn-lifetime"}, `must be a duration between 1s and 1h0m0s`},
		{Override{"churn", "size", "1GiB", "--churn-size"}, `invalid --churn-size "1GiB": must be a size between 1 and 512KiB`},
		{Override{"churn", "rate", "0", "--churn-rate"}, `invalid --churn-rate "0": must be between 0.1 and 10000`},
		{Override{"churn", "updates", "1.5", "--churn-updates"}, `must be a whole number`},
	} {
		if _, err := c.Select(modes, []Override{tc.o}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: err = %v, want %q", tc.o.Origin, tc.o.Value, err, tc.want)
		}
	}
}

func TestEngineModeValidation(t *testing.T) {
	dir := t.TempDir()
	churn := "modes:\n- name: mine\n  plane: control\n  engine: churn\n  description: d\n  parameters:\n" +
		"  - {name: rate, type: float, default: 1, min: 0.1, max: 5, help: h}\n" +
		"  - {name: lifetime, type: duration, default: 10s, min: 1s, max: 1m, help: h}\n" +
		"  - {name: updates, type: int, default: 0, min: 0, max: 3, help: h}\n" +
		"  - {name: size, type: size, default: 1Ki, min: 1, max: 4KiB, help: h}\n" +
		"  - {name: kind, type: choice, values: [configmap], default: configmap, help: h}\n" +
		"  - {name: arrival, type: choice, values: [uniform], default: uniform, help: h}\n" +
		"  - {name: watchers, type: int, default: 0, min: 0, max: 1, help: h}\n"
	cases := []struct{ name, body, want string }{
		{"good", churn, ""},
		{"unknown engine", strings.Replace(churn, "engine: churn", "engine: warp", 1), `engine: "warp" must be "churn" or "flood"`},
		{"missing parameter", strings.Replace(churn, "name: watchers", "name: lookers", 1), `engine churn needs a parameter "watchers" of type int`},
		{"wrong type", strings.Replace(churn, "type: duration, default: 10s, min: 1s, max: 1m", "type: float, default: 10, min: 1, max: 60", 1), `needs a parameter "lifetime" of type duration`},
		{"unknown kind", strings.Replace(churn, "values: [configmap], default: configmap", "values: [pod], default: pod", 1), `kind value "pod" is not one the engine knows`},
		{"with a job", churn + "  job: {iterations: 1, qps: 1, burst: 1}\n", "has no job and no objects"},
		{"bad duration", strings.Replace(churn, "default: 10s", "default: ten", 1), `default "ten": not a duration`},
		{"choice with min", strings.Replace(churn, "values: [uniform],", "values: [uniform], min: 0,", 1), "a choice takes values, not min and max"},
		{"default not a value", strings.Replace(churn, "default: uniform", "default: poisson", 1), `default "poisson": must be one of uniform`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(f, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCatalog(pyrometer.Catalog, pyrometer.Templates, f)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("a valid engine mode was rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestChurnClosedLoop: --churn-workers selects the closed loop, scales with the steps like the rate, and is refused
// (one line naming the flag and the least allowed) when too few workers could not start objects at the rate.
func TestChurnClosedLoop(t *testing.T) {
	c := builtin(t)
	m := c.Mode("churn")
	sel, err := c.Select([]*Mode{m}, []Override{{"churn", "rate", "10", "--churn-rate"}, {"churn", "lifetime", "2s", "--churn-lifetime"},
		{"churn", "workers", "25", "--churn-workers"}})
	if err != nil {
		t.Fatal(err)
	}
	if l := sel.EngineLoads(2); len(l) != 1 || l[0].Workers != 50 || l[0].Rate != 20 {
		t.Errorf("step 2 loads: %+v, want 50 workers at 20/s", l)
	}
	if l := sel.EngineLoads(1); l[0].Workers != 25 {
		t.Errorf("step 1 workers %d, want 25", l[0].Workers)
	}
	_, err = c.Select([]*Mode{m}, []Override{{"churn", "rate", "10", "--churn-rate"}, {"churn", "lifetime", "2s", "--churn-lifetime"},
		{"churn", "workers", "19", "--churn-workers"}})
	want := "invalid --churn-workers 19: a closed loop at 10 objects/s with objects living 2s needs at least 20 workers (0: open loop)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	// the default is the open loop
	sel, _ = c.Select([]*Mode{m}, nil)
	if l := sel.EngineLoads(1); l[0].Workers != 0 {
		t.Errorf("default workers %d, want 0 (open loop)", l[0].Workers)
	}
}
