package result

import "github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"

// Load sources of an engine load (run --load-from).
const (
	LoadFromLocal   = "local"   // the plugin's own process
	LoadFromCluster = "cluster" // worker pods (an Indexed Job of the plugin's image), pkg/workers
)

// WorkerRow is one worker pod's own account of a load of a step run from the cluster (--load-from cluster): what it
// was asked for (its share of the rate), what it delivered, its errors, and how its clock compared with the
// plugin's. LoadStep.Delivery is the merge of every worker's (counts summed, percentiles from the raw samples).
type WorkerRow struct {
	Index int     `json:"index"` // the Job's completion index, from 0
	Pod   string  `json:"pod,omitempty"`
	Node  string  `json:"node,omitempty"`
	Rate  float64 `json:"rate"` // objects per second asked of this worker (the load's rate / workers)
	// Samples are the write samples it streamed back; Errors those that failed.
	Samples  int            `json:"samples"`
	Errors   int            `json:"errors"`
	Delivery churn.Delivery `json:"delivery"`
	Verdict  churn.Verdict  `json:"verdict"`
	// ClockOffsetMS is the worker's clock minus the plugin's, estimated from its first samples as for the in-cluster
	// probe (the largest "finished on its clock" minus "arrived here"); its samples' times are corrected by it.
	ClockOffsetMS float64 `json:"clockOffsetMS"`
	// Failure says why the worker did not deliver its share: it never started (image pull, unschedulable), or died
	// (OOMKilled, evicted, deleted), or ended without its account.
	Failure string `json:"failure,omitempty"`
}
