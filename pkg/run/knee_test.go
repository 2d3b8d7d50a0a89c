package run

import (
	"math"
	"testing"
	"time"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

func kneeMix(t *testing.T, mode string, overrides ...modes.Override) *modes.Selection {
	t.Helper()
	cat, err := modes.LoadCatalog(pyrometer.Catalog, pyrometer.Templates)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := cat.ParseModes(mode)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cat.Select(ms, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// A knee step's rate is writes per second: churn objects cost a create, their updates and a delete; the flood's one
// create. The step's loads ask for exactly that rate, and the base selection is left as it was.
func TestKneeSelectionRates(t *testing.T) {
	churn := kneeMix(t, "churn", modes.Override{Mode: "churn", Param: "updates", Value: "2"}, modes.Override{Mode: "churn", Param: "lifetime", Value: "3s"})
	if got := WritesPerObject(churn); got != 4 {
		t.Errorf("churn with 2 updates: %v writes per object, want 4", got)
	}
	step := KneeSelection(churn, 400, 30*time.Second)
	loads := step.EngineLoads(1)
	if len(loads) != 1 || loads[0].Rate != 100 || loads[0].WriteRate() != 400 || loads[0].Lifetime != 3*time.Second {
		t.Errorf("churn at 400 writes/s: %+v", loads)
	}
	if churn.Settings["churn"]["rate"] == 100 {
		t.Error("KneeSelection changed the base selection")
	}
	api := kneeMix(t, "api")
	if got := WritesPerObject(api); got != 1 {
		t.Errorf("api: %v writes per object, want 1", got)
	}
	loads = KneeSelection(api, 250, 10*time.Second).EngineLoads(1)
	total, count := 0.0, 0
	for _, l := range loads {
		total += l.WriteRate()
		count += l.Count
	}
	if len(loads) != 2 || math.Abs(total-250) > 1e-9 || count != 2500 {
		t.Errorf("api at 250 writes/s for 10s: %v writes/s, %d objects: %+v", total, count, loads)
	}
}
