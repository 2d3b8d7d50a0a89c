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

// Workers is run.json's account of where the engine load came from with --load-from cluster (nil otherwise).
type Workers struct {
	LoadFrom string `json:"loadFrom"`
	Workers  int    `json:"workers"` // worker pods per step
	// APF: --workers-flowschema, the workers' dedicated FlowSchema and priority level (nil without the flag).
	APF *APF `json:"apf,omitempty"`
}

// APF is what --workers-flowschema created: a PriorityLevelConfiguration whose spec is a copy of the level the
// workers' requests fell into (CopiedFrom), and a FlowSchema putting every request of the workers' ServiceAccounts
// on it; the figures of the copied spec; and what adding the level takes from every other level.
type APF struct {
	FlowSchema         string    `json:"flowSchema"`
	PriorityLevel      string    `json:"priorityLevel"`
	MatchingPrecedence int32     `json:"matchingPrecedence"`
	ServiceAccounts    int       `json:"serviceAccounts"` // subjects: the workers' ServiceAccount in each step namespace
	CopiedFrom         APFSource `json:"copiedFrom"`
	Spec               APFSpec   `json:"spec"`
	// SharesSum is the sum of every priority level's nominal concurrency shares before the run's level was added;
	// OthersShrink = shares / (SharesSum + shares): the fraction of its nominal seats every other level loses while
	// the run's level exists.
	SharesSum    int32   `json:"sharesSumBefore"`
	OthersShrink float64 `json:"othersShrink"`
	// Phases are the apiserver's own counts for the run's level per phase (apiserver_flowcontrol_dispatched_requests_total
	// and _rejected_requests_total, the deltas of the /metrics snapshots the server-side rows come from).
	Phases []APFPhase `json:"phases,omitempty"`
	Note   string     `json:"note,omitempty"`
}

// APFSource is the FlowSchema and priority level the workers' requests fall into without the run's FlowSchema.
type APFSource struct {
	FlowSchema    string `json:"flowSchema"`
	PriorityLevel string `json:"priorityLevel"`
}

// APFSpec are the figures of the copied limited priority level's spec.
type APFSpec struct {
	NominalConcurrencyShares int32  `json:"nominalConcurrencyShares"`
	LendablePercent          int32  `json:"lendablePercent"`
	BorrowingLimitPercent    *int32 `json:"borrowingLimitPercent,omitempty"` // nil: no limit
	LimitResponse            string `json:"limitResponse"`                   // Queue or Reject
	Queues                   int32  `json:"queues,omitempty"`
	HandSize                 int32  `json:"handSize,omitempty"`
	QueueLengthLimit         int32  `json:"queueLengthLimit,omitempty"`
}

// APFPhase is the apiserver's count of the run's level's requests in one phase.
type APFPhase struct {
	Phase      string `json:"phase"`
	Dispatched int64  `json:"dispatched"`
	Rejected   int64  `json:"rejected"` // 429s: queue full, time out in queue, concurrency limit
}
