package run

import (
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// TestSuggestWorkers: K = the last step's writes/s over 80% of the process's measured ceiling, at least 2, capped.
func TestSuggestWorkers(t *testing.T) {
	loads := []modes.Load{{Rate: 300, Updates: 1, Lifetime: 30 * time.Second}} // 900 writes/s
	if k := SuggestWorkers(loads, 250, 50); k != 5 {                           // 900 / 200
		t.Errorf("K = %d, want 5", k)
	}
	if k := SuggestWorkers(loads, 250, 3); k != 3 {
		t.Errorf("K = %d, want 3 (--max-workers)", k)
	}
	if k := SuggestWorkers(loads, 0, 50); k != 2 {
		t.Errorf("K = %d, want 2 without a ceiling", k)
	}
}

// TestWorkerSize: each worker's requests are sized by its share of the load.
func TestWorkerSize(t *testing.T) {
	loads := []modes.Load{{Rate: 20, Updates: 1, Lifetime: 30 * time.Second, Watchers: 1}} // 60 writes/s, 60 notifications/s
	cpu, mem := WorkerSize(loads, 2)
	if cpu != 220 || mem != 103 {
		t.Errorf("2 workers of 20/s churn: %dm %dMi, want 220m 103Mi (README)", cpu, mem)
	}
}
