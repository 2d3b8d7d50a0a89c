package result

import "github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"

// Hollow is run.json's account of the hollow nodes (run --hollow-nodes): kwok and N Node objects deployed before
// the baseline, so that every phase was measured with them.
type Hollow struct {
	Nodes        int     `json:"nodes"`
	PodsPerNode  int     `json:"podsPerNode"`
	Controller   string  `json:"controller"` // namespace/name of kwok's Deployment
	Taint        string  `json:"taint"`      // the per-run taint on every hollow node
	ReadySeconds float64 `json:"readySeconds"`
}

// PodStartupSLOMS is the pod startup SLO: p99 of pod-startup at most 5 s.
const PodStartupSLOMS = 5000

// PodStartup is the pod startup latency of the run's stress pods (density and every data-plane mode) per phase:
// the SLI (pod-startup: creation -> all containers started, observed via watch), pod-schedule and pod-run, and the
// scheduling throughput. Their rows are also in Doc.Stats (kinds pod-startup, pod-schedule, pod-run).
type PodStartup struct {
	Phases []PodStartupPhase `json:"phases"`
}

// PodStartupPhase is one phase's pod startup figures.
type PodStartupPhase struct {
	Phase string `json:"phase"`
	// ControlPlaneOnly: the pods ran on hollow nodes (no kubelet, no image pull, no sandbox): the figures measure
	// the apiserver, scheduler and controllers only.
	ControlPlaneOnly bool          `json:"controlPlaneOnly"`
	Rows             []probe.Stats `json:"rows"`
	// SLO: "pass" when pod-startup's p99 <= PodStartupSLOMS, "fail" above, "" without samples.
	SLO string `json:"slo,omitempty"`
	// Scheduling throughput over the phase: pods bound to a node per second.
	Scheduled      int            `json:"scheduled"`
	ThroughputMean float64        `json:"throughputMean"`
	ThroughputMax  float64        `json:"throughputMax"`
	Pending        int            `json:"pending"`                  // pods not started at the phase's end
	PendingReasons map[string]int `json:"pendingReasons,omitempty"` // by named reason (maxPods exhausted, ...)
}
