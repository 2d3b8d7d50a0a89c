package modes

import (
	"fmt"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Native engines: a mode with `engine:` in plugins.yaml is run by the plugin's own open-loop write engine
// (pkg/churn), not by kube-burner templates. The engine reads the mode's settings by parameter name; the mode
// declares those parameters (with its own defaults and bounds) and no job or objects.
const (
	// EngineChurn: objects arrive at rate (Poisson or uniform), live lifetime with updates patches spread over
	// it, and are deleted; watches time every notification. Step i runs at i x rate. Parameters: rate (float,
	// objects/s), lifetime (duration), updates (int), size (size), kind (choice configmap|secret), arrival (choice
	// poisson|uniform), watchers (int); optional workers (int: 0 open loop, N a closed loop of N sequential
	// clients, i x N at step i, at least rate x lifetime).
	EngineChurn = "churn"
	// EngineFlood: the API flood of mode api: iterations x replicas ConfigMaps and as many Secrets per step,
	// created at qps objects/s in all (uniform arrivals), kept until teardown. Parameters: qps, iterations,
	// replicas (int); burst is accepted for compatibility (the engine has no bursts).
	EngineFlood = "flood"
)

// engineParams are the parameters each engine reads, with their types.
var engineParams = map[string][][2]string{
	EngineChurn: {{"rate", TypeFloat}, {"lifetime", TypeDuration}, {"updates", TypeInt}, {"size", TypeSize},
		{"kind", TypeChoice}, {"arrival", TypeChoice}, {"watchers", TypeInt}},
	EngineFlood: {{"qps", TypeInt}, {"iterations", TypeInt}, {"replicas", TypeInt}},
}

// Kinds and arrivals the churn engine accepts (pkg/churn's Kind and Arrival values).
var (
	engineKinds    = []string{"configmap", "secret"}
	engineArrivals = []string{"poisson", "uniform"}
)

func (m *Mode) validateEngine(defaults map[string]float64) error {
	params, ok := engineParams[m.Engine]
	if !ok {
		return fmt.Errorf("engine: %q must be %q or %q", m.Engine, EngineChurn, EngineFlood)
	}
	if len(m.Objects) > 0 || m.Job != (JobSpec{}) {
		return fmt.Errorf("engine: a mode run by engine %s has no job and no objects", m.Engine)
	}
	for _, want := range params {
		p := m.Parameter(want[0])
		if p == nil || p.Type != want[1] {
			return fmt.Errorf("parameters: engine %s needs a parameter %q of type %s", m.Engine, want[0], want[1])
		}
		if defaults[want[0]] < 0 {
			return fmt.Errorf("parameters: %s must not be negative", want[0])
		}
	}
	if m.Engine == EngineChurn {
		for _, c := range []struct {
			name    string
			allowed []string
		}{{"kind", engineKinds}, {"arrival", engineArrivals}} {
			for _, v := range m.Parameter(c.name).Values {
				if !slices.Contains(c.allowed, v) {
					return fmt.Errorf("parameters: %s value %q is not one the engine knows (%v)", c.name, v, c.allowed)
				}
			}
		}
		if m.Parameter("rate").Min <= 0 {
			return fmt.Errorf("parameters: rate must have a min above 0")
		}
	}
	return nil
}

// Load is what one native engine does in one ramp step: the settings of a pkg/churn engine.
type Load struct {
	Mode     string        `json:"mode"`
	Engine   string        `json:"engine"`
	Kind     string        `json:"kind"`    // configmap or secret
	Rate     float64       `json:"rate"`    // objects per second
	Arrival  string        `json:"arrival"` // poisson or uniform
	Lifetime time.Duration `json:"lifetime"`
	Updates  int           `json:"updates"`
	Size     int           `json:"size"`
	Watchers int           `json:"watchers"`
	// Workers > 0: a closed loop of that many sequential clients paced to Rate (0: open loop). Optional parameter.
	Workers int `json:"workers,omitempty"`
	Count   int `json:"count,omitempty"` // at most this many objects (0: as many as the window takes)
}

// WriteRate is the writes per second the load asks for: a create, Updates patches and (with a lifetime) a delete
// per object.
func (l Load) WriteRate() float64 {
	per := 1 + l.Updates
	if l.Lifetime > 0 {
		per++
	}
	return l.Rate * float64(per)
}

// Population is the objects the load keeps alive at its peak: Rate x Lifetime (Little's law); Count for a load
// whose objects are kept (lifetime 0).
func (l Load) Population() int {
	if l.Lifetime == 0 {
		return l.Count
	}
	n := int(math.Ceil(l.Rate * l.Lifetime.Seconds()))
	if l.Count > 0 {
		n = min(n, l.Count)
	}
	return n
}

// floodSize is the payload of a flood object: about the size of the template's "kubectl-pyrometer api flood i-j".
const floodSize = 48

// EngineLoads returns the native engines' loads of ramp step (1-based): churn at step x rate (steps are
// cumulative), the flood's two kinds at qps/2 each (the same objects at the same total rate every step).
func (s *Selection) EngineLoads(step int) []Load {
	var out []Load
	for _, m := range s.Modes {
		set := s.Settings[m.Name]
		choice := func(name string) string { return m.Parameter(name).Format(set[name]) }
		switch m.Engine {
		case EngineChurn:
			out = append(out, Load{Mode: m.Name, Engine: m.Engine, Kind: choice("kind"), Rate: float64(step) * set["rate"],
				Arrival: choice("arrival"), Lifetime: time.Duration(set["lifetime"] * float64(time.Second)),
				Updates: int(set["updates"]), Size: int(set["size"]), Watchers: int(set["watchers"]),
				Workers: step * int(set["workers"])})
		case EngineFlood:
			n := int(set["iterations"] * set["replicas"])
			for _, k := range engineKinds {
				out = append(out, Load{Mode: m.Name, Engine: m.Engine, Kind: k, Rate: set["qps"] / 2, Arrival: "uniform",
					Size: floodSize, Count: n})
			}
		}
	}
	return out
}

// engineStepCost is what the flood creates per step (its objects are kept until teardown, like the templates'
// were). The churn population grows with the steps: the safety plan checks it on its own (safety/churn.go).
func (m *Mode) engineStepCost(set map[string]float64) int {
	if m.Engine == EngineFlood {
		return 2 * int(set["iterations"]*set["replicas"])
	}
	return 0
}

// floodDuration is how long the flood of one step takes at its rate.
func (m *Mode) floodDuration(set map[string]float64) time.Duration {
	if m.Engine != EngineFlood || set["qps"] < 1 {
		return 0
	}
	return time.Duration(2 * set["iterations"] * set["replicas"] / set["qps"] * float64(time.Second))
}

// engineKinds are the kinds m's engine creates with the selection's settings.
func (s *Selection) engineKinds(m *Mode) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, l := range (&Selection{Modes: []*Mode{m}, Settings: s.Settings}).EngineLoads(1) {
		gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
		if l.Kind == "secret" {
			gvk.Kind = "Secret"
		}
		if !slices.Contains(out, gvk) {
			out = append(out, gvk)
		}
	}
	return out
}

// checkClosedLoop refuses a churn closed loop with too few workers: each worker keeps one object through its
// lifetime, so rate x lifetime workers are needed to start objects at rate (steps scale both, so step 1 decides).
func (m *Mode) checkClosedLoop(set map[string]float64) error {
	if m.Engine != EngineChurn || set["workers"] <= 0 {
		return nil
	}
	lifetime := time.Duration(set["lifetime"] * float64(time.Second))
	if need := int(math.Ceil(set["rate"]*lifetime.Seconds() - 1e-9)); int(set["workers"]) < need {
		return fmt.Errorf("invalid --%s-workers %d: a closed loop at %g objects/s with objects living %s needs at least %d workers (0: open loop)",
			m.Name, int(set["workers"]), set["rate"], lifetime, need)
	}
	return nil
}
