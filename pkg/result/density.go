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
	// Traffic is kwok's own API traffic during the run (nil when not measured).
	Traffic *HollowTraffic `json:"traffic,omitempty"`
}

// HollowTraffic is what kwok itself asked of the apiserver for the hollow nodes: its writes as watches observed
// them, per phase, and the API Priority and Fairness FlowSchema its requests fall in.
type HollowTraffic struct {
	// Method says what the figures are (a client-side count of notified writes, not the apiserver's own account).
	Method string               `json:"method"`
	Phases []HollowTrafficPhase `json:"phases"`
	Note   string               `json:"note,omitempty"` // watch errors (counts may be low), or why not measured
	// FlowSchemas: per kind of kwok request, the FlowSchema and priority level it falls in (its identity: the
	// ServiceAccount of kwok's Deployment); FlowSchemaNote says why there are none.
	FlowSchemas    []FlowSchemaMatch `json:"flowSchemas,omitempty"`
	FlowSchemaNote string            `json:"flowSchemaNote,omitempty"`
}

// HollowTrafficPhase is kwok's traffic in one phase.
type HollowTrafficPhase struct {
	Phase           string  `json:"phase"`
	Seconds         float64 `json:"seconds"`         // whole seconds counted
	LeaseRenewals   int     `json:"leaseRenewals"`   // the run's Leases updated (only kwok renews them)
	NodeUpdates     int     `json:"nodeUpdates"`     // the run's Nodes updated (kwok's status heartbeats, mostly)
	WritesPerSecond float64 `json:"writesPerSecond"` // (lease renewals + node updates) / seconds
	// ServerLeaseWrites is, for comparison, the apiserver's count of lease writes (PUT leases) in the phase from every
	// client (kwok, real kubelets, leader elections), from the server-side rows; -1 without them.
	ServerLeaseWrites int `json:"serverLeaseWrites"`
}

// FlowSchemaMatch is the FlowSchema and priority level one kind of kwok's requests falls in.
type FlowSchemaMatch struct {
	Request       string `json:"request"`
	FlowSchema    string `json:"flowSchema"`
	PriorityLevel string `json:"priorityLevel"`
	Dedicated     bool   `json:"dedicated"` // the FlowSchema names kwok's ServiceAccount (or its namespace) itself
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
