package safety

import (
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// TestCheckWorkers: the worker pods are counted against --max-workers, --max-pods and the capacity the rest of the
// run leaves free; within all of them the check passes and the plan records the figures.
func TestCheckWorkers(t *testing.T) {
	limits := DefaultLimits()
	capacity := Capacity{Nodes: 1, CPUMillis: 1000, MemoryMi: 1000, Pods: 20}
	for _, tc := range []struct {
		w    WorkersRequirements
		ok   bool
		want string
	}{
		{WorkersRequirements{N: 3, Max: 50, CPUMillis: 220, MemoryMi: 103}, true, "3 worker pods per step (6 over the run), 660m CPU and 309Mi memory at once"},
		{WorkersRequirements{N: 3, Max: 2, CPUMillis: 100, MemoryMi: 100}, false, "1 more than --max-workers 2"},
		{WorkersRequirements{N: 5, Max: 50, CPUMillis: 220, MemoryMi: 100}, false, "100m CPU more than the 1000m the run leaves free"},
		{WorkersRequirements{N: 4, Max: 50, CPUMillis: 100, MemoryMi: 300}, false, "200Mi memory more than the 1000Mi"},
	} {
		p := Plan{Total: modes.Cost{Namespaces: 3}}
		checkWorkers(&tc.w, 2, limits, capacity, &p)
		c := p.Checks[len(p.Checks)-1]
		if c.Name != CheckWorkers || c.OK != tc.ok || p.Blocked == tc.ok || !strings.Contains(c.Message, tc.want) {
			t.Errorf("%+v: %+v blocked %v, want ok %v and %q", tc.w, c, p.Blocked, tc.ok, tc.want)
		}
		if p.Workers == nil || p.Workers.PerStep != tc.w.N || p.Workers.Total != 2*tc.w.N {
			t.Errorf("plan.Workers %+v", p.Workers)
		}
	}
}
