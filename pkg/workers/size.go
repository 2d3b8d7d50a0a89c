package workers

import "math"

// Component is the cluster.ComponentLabel value of the workers' Job, pods, ServiceAccount, Role and RoleBinding.
const Component = "workers"

// MaxWorkers is the default of --max-workers.
const MaxWorkers = 50

// Per-worker requests (= limits) of a worker pod, from the load it is asked for. A write costs the engine about
// 1.4 ms of CPU (measured for the probe's requests, see README "Cost of the probe"); a notification less; we allow
// 2 ms per write or notification per second on top of 100m for the process, its watches and its log stream. Memory:
// 96Mi for the process, 1Mi per 5 writes/s (buffers, in-flight requests, samples queued for the log) and 2KiB per
// live object its tracker follows.
const (
	BaseCPUMillis       = 100
	CPUMillisPerOpRate  = 2
	BaseMemoryMi        = 96
	OpRatePerMemoryMi   = 5
	LiveObjectsPerMemMi = 512
)

// Size returns the CPU (millicores) and memory (Mi) requests = limits of one worker pod that writes writeRate
// writes/s, receives notifyRate notifications/s and follows live objects at once.
func Size(writeRate, notifyRate, live float64) (cpuMillis, memoryMi int64) {
	cpuMillis = BaseCPUMillis + int64(math.Ceil(CPUMillisPerOpRate*(writeRate+notifyRate)))
	memoryMi = BaseMemoryMi + int64(math.Ceil(writeRate/OpRatePerMemoryMi)) + int64(math.Ceil(live/LiveObjectsPerMemMi))
	return cpuMillis, memoryMi
}
