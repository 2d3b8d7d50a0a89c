package safety

import (
	"fmt"
	"math"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// Checks of the native engines (modes churn and api).
const (
	CheckChurnPopulation = "churn-population"
	CheckWriteRate       = "write-rate"
)

func (l Limits) validateWriteRate() error {
	if l.MaxWriteRate < 0 || math.IsNaN(l.MaxWriteRate) || math.IsInf(l.MaxWriteRate, 0) {
		return fmt.Errorf("invalid --max-write-rate %v: must be a number of writes per second above 0", l.MaxWriteRate)
	}
	return nil
}

// maxWriteRate is the configured limit; 0 (a Limits built without it) is the default.
func (l Limits) maxWriteRate() float64 {
	if l.MaxWriteRate == 0 {
		return DefaultMaxWriteRate
	}
	return l.MaxWriteRate
}

// EngineDemand is what the native engines ask for at the last ramp step (steps are cumulative, so the last asks most).
type EngineDemand struct {
	// Population is the churn objects alive at once in the last step (rate x lifetime, Little's law).
	Population int
	// WriteRate is the writes per second asked for in the last step: creates, updates and deletes.
	WriteRate float64
}

// Demand computes EngineDemand of steps ramp steps of sel.
func Demand(sel *modes.Selection, steps int) EngineDemand {
	var d EngineDemand
	for _, l := range sel.EngineLoads(steps) {
		if l.Engine == modes.EngineChurn {
			d.Population += l.Population()
		}
		d.WriteRate += l.WriteRate()
	}
	return d
}

// engineChecks compares the engines' demand with --max-objects-per-step (the churn population: the flood's objects
// are counted in the step cost, like the templates' were) and --max-write-rate. None without an engine mode.
func engineChecks(sel *modes.Selection, steps int, limits Limits) []PlanCheck {
	loads := sel.EngineLoads(steps)
	if len(loads) == 0 {
		return nil
	}
	d := Demand(sel, steps)
	var out []PlanCheck
	churn := false
	for _, l := range loads {
		churn = churn || l.Engine == modes.EngineChurn
	}
	if churn {
		c := PlanCheck{Name: CheckChurnPopulation, Value: int64(d.Population), Limit: int64(limits.MaxObjectsPerStep), OK: d.Population <= limits.MaxObjectsPerStep}
		desc := fmt.Sprintf("churn keeps about %d objects alive in step %d (step x rate x lifetime)", d.Population, steps)
		if c.OK {
			c.Message = fmt.Sprintf("%s: %s, within --max-objects-per-step %d", c.Name, desc, limits.MaxObjectsPerStep)
		} else {
			c.Message = fmt.Sprintf("%s: %s, %d more than --max-objects-per-step %d", c.Name, desc, d.Population-limits.MaxObjectsPerStep, limits.MaxObjectsPerStep)
		}
		out = append(out, c)
	}
	max := limits.maxWriteRate()
	rate := int64(math.Ceil(d.WriteRate))
	c := PlanCheck{Name: CheckWriteRate, Value: rate, Limit: int64(max), Unit: "/s", OK: d.WriteRate <= max}
	desc := fmt.Sprintf("the engines ask for %d writes/s in step %d", rate, steps)
	if c.OK {
		c.Message = fmt.Sprintf("%s: %s, within --max-write-rate %g", c.Name, desc, max)
	} else {
		c.Message = fmt.Sprintf("%s: %s, %g more than --max-write-rate %g", c.Name, desc, math.Ceil(d.WriteRate-max), max)
	}
	return append(out, c)
}

// engineAccesses are what the engines do in the step namespace: write, patch and delete their objects, watch and
// list them (the notification latency), and delete them by label at the end (deletecollection).
func engineAccesses(sel *modes.Selection, stepNS string) []authz.Access {
	var out []authz.Access
	seen := map[string]bool{}
	for _, l := range sel.EngineLoads(1) {
		res := "configmaps"
		if l.Kind == "secret" {
			res = "secrets"
		}
		if seen[res] {
			continue
		}
		seen[res] = true
		for _, v := range []string{"create", "patch", "delete", "deletecollection", "list", "watch"} {
			out = append(out, authz.Access{Verb: v, Resource: res, Namespace: stepNS})
		}
	}
	return out
}
