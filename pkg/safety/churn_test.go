package safety

import (
	"strings"
	"testing"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

func churnSelection(t *testing.T, list string, set ...modes.Override) *modes.Selection {
	t.Helper()
	cat, err := modes.LoadCatalog(pyrometer.Catalog, pyrometer.Templates)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := cat.ParseModes(list)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cat.Select(ms, set)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func engineCheck(p Plan, name string) *PlanCheck {
	for i := range p.Checks {
		if p.Checks[i].Name == name {
			return &p.Checks[i]
		}
	}
	return nil
}

// TestEngineChecks: the churn population of the last step (steps x rate x lifetime) counts against
// --max-objects-per-step and the engines' writes per second against --max-write-rate, both cumulative over steps.
func TestEngineChecks(t *testing.T) {
	roomy := Capacity{Nodes: 1, CPUMillis: 1e6, MemoryMi: 1e6, Pods: 1000}
	// defaults: 20/s, 30 s, 1 update -> per step 600 objects, 60 writes/s; 3 steps: 1800 objects, 180 writes/s
	p, err := Compute(churnSelection(t, "churn"), 3, DefaultLimits(), roomy)
	if err != nil {
		t.Fatal(err)
	}
	pop, wr := engineCheck(p, CheckChurnPopulation), engineCheck(p, CheckWriteRate)
	if pop == nil || pop.Value != 1800 || !pop.OK || wr == nil || wr.Value != 180 || !wr.OK || p.Blocked {
		t.Fatalf("checks: %+v %+v", pop, wr)
	}
	if want := "churn-population: churn keeps about 1800 objects alive in step 3 (step x rate x lifetime), within --max-objects-per-step 5000"; pop.Message != want {
		t.Errorf("message %q, want %q", pop.Message, want)
	}
	// over both limits
	lim := DefaultLimits()
	lim.MaxObjectsPerStep, lim.MaxWriteRate = 1000, 100
	p, _ = Compute(churnSelection(t, "churn"), 3, lim, roomy)
	if !p.Blocked || !strings.Contains(p.Reason(), "churn-population: churn keeps about 1800 objects alive in step 3 (step x rate x lifetime), 800 more than --max-objects-per-step 1000") ||
		!strings.Contains(p.Reason(), "write-rate: the engines ask for 180 writes/s in step 3, 80 more than --max-write-rate 100") {
		t.Errorf("blocked plan: %s", p.Reason())
	}
	// api: qps writes/s every step (the same flood each step), its objects in the step cost; no population check
	p, _ = Compute(churnSelection(t, "api", modes.Override{Mode: "api", Param: "qps", Value: "800", Origin: "--api-qps"}), 2, DefaultLimits(), roomy)
	if engineCheck(p, CheckChurnPopulation) != nil || engineCheck(p, CheckWriteRate).Value != 800 || engineCheck(p, CheckWriteRate).OK || p.PerStep.Objects != 500 {
		t.Errorf("api: %+v per step %+v", p.Checks, p.PerStep)
	}
	// no engine mode: no engine check
	p, _ = Compute(churnSelection(t, "cpu"), 2, DefaultLimits(), roomy)
	if engineCheck(p, CheckWriteRate) != nil {
		t.Errorf("cpu only: %+v", p.Checks)
	}
	if err := (Limits{MaxPods: 1, MaxNamespaces: 1, MaxObjectsPerStep: 1, MaxWriteRate: -1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "invalid --max-write-rate -1") {
		t.Errorf("negative --max-write-rate: %v", err)
	}
}
