// Package safety decides, before a run creates anything, whether it may start: the safety plan (what the run will
// create and request, compared with the configured limits and with the free capacity of the nodes its pods can
// land on) and the preflight permission check (a SelfSubjectAccessReview for everything the run will do).
package safety

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// Default limits (the seed's safety_max_* values).
const (
	DefaultMaxPods           = 2000
	DefaultMaxNamespaces     = 100
	DefaultMaxObjectsPerStep = 5000
	DefaultMaxWriteRate      = 500 // writes/s of the native engines (churn, api)
)

// Limits are the configured ceilings of a run (--max-pods, --max-namespaces, --max-objects-per-step).
type Limits struct {
	MaxPods           int `json:"maxPods"`
	MaxNamespaces     int `json:"maxNamespaces"`
	MaxObjectsPerStep int `json:"maxObjectsPerStep"`
	// MaxWriteRate bounds the writes per second the native engines ask for (--max-write-rate; safety/churn.go).
	MaxWriteRate float64 `json:"maxWriteRate,omitempty"`
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{MaxPods: DefaultMaxPods, MaxNamespaces: DefaultMaxNamespaces, MaxObjectsPerStep: DefaultMaxObjectsPerStep,
		MaxWriteRate: DefaultMaxWriteRate}
}

// Validate checks that every limit is positive, naming the flag otherwise.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"--max-pods", l.MaxPods}, {"--max-namespaces", l.MaxNamespaces}, {"--max-objects-per-step", l.MaxObjectsPerStep}} {
		if f.v < 1 {
			return fmt.Errorf("invalid %s %d: must be at least 1", f.name, f.v)
		}
	}
	return l.validateWriteRate()
}

// Names of the checks of a plan.
const (
	CheckPods           = "pods"
	CheckNamespaces     = "namespaces"
	CheckObjectsPerStep = "objects-per-step"
	CheckCPU            = "cpu"
	CheckMemory         = "memory"
	CheckPodSlots       = "pod-slots"
)

// PlanCheck is one comparison of the plan: Value (what the run creates or requests) against Limit.
type PlanCheck struct {
	Name    string `json:"name"`
	Value   int64  `json:"value"`
	Limit   int64  `json:"limit"`
	Unit    string `json:"unit,omitempty"` // "m" (millicores), "Mi", or "" for counts
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// Plan is the safety plan of a run.
type Plan struct {
	Steps    int        `json:"steps"`
	PerStep  modes.Cost `json:"perStep"`
	Total    modes.Cost `json:"total"` // all steps together (steps are cumulative), plus the probe's namespace
	Limits   `json:"limits"`
	Capacity `json:"capacity"`
	Checks   []PlanCheck  `json:"checks"`
	Blocked  bool         `json:"blocked"`
	Hollow   *HollowPlan  `json:"hollow,omitempty"`  // run --hollow-nodes (hollow.go)
	Workers  *WorkersPlan `json:"workers,omitempty"` // run --load-from cluster (workers.go)
}

// Compute builds the safety plan of steps ramp steps of sel. It is pure: capacity comes from ReadCapacity.
func Compute(sel *modes.Selection, steps int, limits Limits, capacity Capacity) (Plan, error) {
	per, err := stepCost(sel, steps, limits)
	if err != nil {
		return Plan{}, err
	}
	return compute(sel, per, steps, limits, capacity)
}

// stepCost checks the inputs of a plan and computes the cost of one step: the only place the step cost is computed.
func stepCost(sel *modes.Selection, steps int, limits Limits) (modes.Cost, error) {
	if sel == nil || len(sel.Modes) == 0 {
		return modes.Cost{}, errors.New("safety plan: no stress modes selected")
	}
	if steps < 1 {
		return modes.Cost{}, fmt.Errorf("safety plan: steps must be at least 1, got %d", steps)
	}
	if err := limits.Validate(); err != nil {
		return modes.Cost{}, err
	}
	per, err := sel.StepCost()
	if err != nil {
		return modes.Cost{}, fmt.Errorf("safety plan: %w", err)
	}
	return per, nil
}

// compute is Compute with the step cost per (stepCost).
func compute(sel *modes.Selection, per modes.Cost, steps int, limits Limits, capacity Capacity) (Plan, error) {
	total := modes.Cost{Namespaces: 1} // the probe's namespace
	for i := 0; i < steps; i++ {
		total = total.Add(per)
	}
	p := Plan{Steps: steps, PerStep: per, Total: total, Limits: limits, Capacity: capacity}

	// limit compares with a configured limit, free with the free capacity of the nodes.
	limit := func(name string, value, max int64, desc, flag string) PlanCheck {
		c := PlanCheck{Name: name, Value: value, Limit: max, OK: value <= max}
		if c.OK {
			c.Message = fmt.Sprintf("%s: %s, within %s %d", name, desc, flag, max)
		} else {
			c.Message = fmt.Sprintf("%s: %s, %d more than %s %d", name, desc, value-max, flag, max)
		}
		return c
	}
	on := capacity.where()
	free := func(name string, value, avail int64, unit, desc, freeWhat string) PlanCheck {
		c := PlanCheck{Name: name, Value: value, Limit: avail, Unit: unit, OK: value <= avail}
		if c.OK {
			c.Message = fmt.Sprintf("%s: %s, within the %d%s %s on %s", name, desc, avail, unit, freeWhat, on)
		} else {
			c.Message = fmt.Sprintf("%s: %s, %d%s more than the %d%s %s on %s", name, desc, value-avail, unit, avail, unit, freeWhat, on)
		}
		return c
	}
	p.Checks = []PlanCheck{
		limit(CheckPods, int64(total.Pods), int64(limits.MaxPods), fmt.Sprintf("the run creates %d pods", total.Pods), "--max-pods"),
		limit(CheckNamespaces, int64(total.Namespaces), int64(limits.MaxNamespaces),
			fmt.Sprintf("the run creates %d namespaces (one per step and the probe's)", total.Namespaces), "--max-namespaces"),
		limit(CheckObjectsPerStep, int64(per.Objects), int64(limits.MaxObjectsPerStep),
			fmt.Sprintf("each step creates %d objects", per.Objects), "--max-objects-per-step"),
		free(CheckCPU, total.CPUMillis, capacity.CPUMillis, "m", fmt.Sprintf("the run requests %dm", total.CPUMillis), "free"),
		free(CheckMemory, total.MemoryMi, capacity.MemoryMi, "Mi", fmt.Sprintf("the run requests %dMi", total.MemoryMi), "free"),
		free(CheckPodSlots, int64(total.Pods), int64(capacity.Pods), "", fmt.Sprintf("the run creates %d pods", total.Pods), "free pod slots"),
	}
	p.Checks = append(p.Checks, engineChecks(sel, steps, limits)...) // churn and api engines (churn.go)
	if capacity.PerNode != nil {
		pods, err := RunPods(sel, steps)
		if err != nil {
			return Plan{}, fmt.Errorf("safety plan: %w", err)
		}
		p.Checks = append(p.Checks, fitCheck(pods, capacity.PerNode, on))
	}
	for _, c := range p.Checks {
		if !c.OK {
			p.Blocked = true
		}
	}
	return p, nil
}

// Failed returns the checks that block the run.
func (p Plan) Failed() []PlanCheck {
	var out []PlanCheck
	for _, c := range p.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Reason is one line naming every blocking check and by how much it is exceeded ("" when not blocked).
func (p Plan) Reason() string {
	var parts []string
	for _, c := range p.Failed() {
		parts = append(parts, c.Message)
	}
	return strings.Join(parts, "; ")
}
