// Package podstartup measures pod startup latency as the Kubernetes SLI defines it (schedulable stateless pods,
// from creation to all containers started, observed via watch; SLO p99 <= 5 s), the scheduling throughput, and
// recognises why pods do not start (maxPods, pod CIDR or CNI exhaustion) from their Events.
//
// A Tracker is fed pods and events as a watch delivers them, each stamped with the client's receive time (Watch
// does that with informers in the same process); it is pure and can be fed synthetic events in tests.
package podstartup

import (
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Kinds of the samples (the rows of the statistics).
const (
	// KindStartup is creation -> all containers started, as observed via watch: the SLI.
	KindStartup = "pod-startup"
	// KindSchedule is creation -> bound to a node (spec.nodeName), observed via watch.
	KindSchedule = "pod-schedule"
	// KindRun is bound -> all containers started, observed via watch.
	KindRun = "pod-run"
	// KindStartupServer is metadata.creationTimestamp -> the last container's state.running.startedAt: server and
	// node clocks, whole seconds (both are RFC 3339 without fractions), as kube-burner reports it; for comparison.
	KindStartupServer = "pod-startup-server"

	// SLO is the SLI's objective: p99 of KindStartup at most 5 s.
	SLO = 5 * time.Second
)

// Sample is one pod's latency of one Kind. It has the fields of probe.Sample the statistics use (Probe converts).
type Sample struct {
	// TS is the pod's creation: when its creator said it was about to create it (Tracker.Created), else when its
	// ADDED event was received.
	TS        time.Time `json:"ts"`
	Phase     string    `json:"phase"` // the tracker's phase when the pod was created
	Kind      string    `json:"kind"`
	LatencyMS float64   `json:"latency_ms"` // ms, rounded to µs
	Seq       int64     `json:"seq"`        // per pod, from 1 in the order pods started; a pod's samples share it
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	Node      string    `json:"node,omitempty"`
}

// Probe is s as a probe.Sample (verb "watch", status 200, source local), for probe.Aggregate and its statistics.
func (s Sample) Probe() probe.Sample {
	return probe.Sample{TS: s.TS, Phase: s.Phase, Kind: probe.Kind(s.Kind), Verb: "watch", LatencyMS: s.LatencyMS,
		Status: 200, Seq: s.Seq, Source: probe.SourceLocal}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type podState struct {
	ns, name, node string
	phase          string
	created        time.Time // creator's or ADDED receive time
	scheduled      time.Time
	running        time.Time
	preBound       bool // first seen already bound: created with spec.nodeName (no scheduling)
	late           bool // bound and started observed in one event: the schedule time is not known
	done, deleted  bool
	lastReason     string // the latest failure reason from an Event
}

// Counts are the tracker's pods by what was observed of them.
type Counts struct {
	Seen      int `json:"seen"`      // created while tracked (pods listed at the start are ignored)
	Scheduled int `json:"scheduled"` // observed bound to a node
	Running   int `json:"running"`   // all containers started (these have samples)
	PreBound  int `json:"preBound"`  // created already bound (no pod-schedule sample)
	Late      int `json:"late"`      // bound and started seen at once (a relisted watch): no pod-schedule/pod-run sample
	Deleted   int `json:"deleted"`   // deleted before they started
}

// Tracker follows pods from creation to start. It is safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	phase     string
	pods      map[types.NamespacedName]*podState
	ignored   map[types.NamespacedName]bool // listed at the start: not created while tracked
	created   map[types.NamespacedName]time.Time
	samples   []Sample
	sink      func(Sample)
	scheduled []time.Time
	seq       int64
	counts    Counts
	events    map[types.UID]*eventState
	nss       map[string]bool
}

type eventState struct {
	reason, k8sReason, message string
	pod                        types.NamespacedName
	count                      int32
	first, last                time.Time
}

// NewTracker returns an empty tracker; sink (may be nil) receives each sample as the pod starts, in order.
func NewTracker(sink func(Sample)) *Tracker {
	return &Tracker{pods: map[types.NamespacedName]*podState{}, ignored: map[types.NamespacedName]bool{},
		created: map[types.NamespacedName]time.Time{}, sink: sink, events: map[types.UID]*eventState{}, nss: map[string]bool{}}
}

// SetPhase sets the phase recorded on the samples of pods created from now on.
func (t *Tracker) SetPhase(p string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = p
}

// Created records that the pod is about to be created at (the creator calls it just before its Create request,
// when it runs in this process): a more exact creation time than the ADDED event's receipt.
func (t *Tracker) Created(namespace, name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := types.NamespacedName{Namespace: namespace, Name: name}
	if p := t.pods[k]; p != nil {
		if at.Before(p.created) {
			p.created = at
		}
		return
	}
	t.created[k] = at
}

// Observe feeds one pod as a watch delivered it at (the client's receive time): an ADDED or MODIFIED event, or
// with initial true one listed when the watch started (such pods existed before and are never measured).
func (t *Tracker) Observe(pod *corev1.Pod, at time.Time, initial bool) {
	k := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	t.mu.Lock()
	defer t.mu.Unlock()
	if initial {
		t.ignored[k] = true
		return
	}
	if t.ignored[k] {
		return
	}
	p := t.pods[k]
	if p == nil {
		p = &podState{ns: pod.Namespace, name: pod.Name, phase: t.phase, created: at}
		if c, ok := t.created[k]; ok {
			if c.Before(at) {
				p.created = c
			}
			delete(t.created, k)
		}
		t.pods[k] = p
		t.nss[pod.Namespace] = true
		t.counts.Seen++
		if pod.Spec.NodeName != "" {
			p.preBound = true
			p.scheduled = p.created
			p.node = pod.Spec.NodeName
			t.counts.PreBound++
			t.counts.Scheduled++
			t.scheduled = append(t.scheduled, at)
		}
	}
	if p.done || p.deleted {
		return
	}
	started := allStarted(pod)
	if p.scheduled.IsZero() && pod.Spec.NodeName != "" {
		p.scheduled, p.node = at, pod.Spec.NodeName
		t.counts.Scheduled++
		t.scheduled = append(t.scheduled, at)
		p.late = started && !p.preBound
	}
	if !started || p.scheduled.IsZero() {
		return
	}
	p.running, p.done = at, true
	t.counts.Running++
	if p.late {
		t.counts.Late++
	}
	t.seq++
	base := Sample{TS: p.created, Phase: p.phase, Seq: t.seq, Namespace: p.ns, Pod: p.name, Node: p.node}
	var out []Sample
	add := func(kind string, d time.Duration) {
		s := base
		s.Kind, s.LatencyMS = kind, ms(max(d, 0))
		out = append(out, s)
	}
	add(KindStartup, p.running.Sub(p.created))
	if !p.late && !p.preBound {
		add(KindSchedule, p.scheduled.Sub(p.created))
	}
	if !p.late {
		add(KindRun, p.running.Sub(p.scheduled))
	}
	if last, ok := lastStarted(pod); ok && !pod.CreationTimestamp.IsZero() {
		add(KindStartupServer, last.Sub(pod.CreationTimestamp.Time))
	}
	t.samples = append(t.samples, out...)
	if t.sink != nil {
		for _, s := range out {
			t.sink(s)
		}
	}
}

// Deleted feeds a pod's DELETED event.
func (t *Tracker) Deleted(pod *corev1.Pod) {
	k := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.pods[k]; p != nil && !p.done && !p.deleted {
		p.deleted = true
		t.counts.Deleted++
	}
}

// allStarted says whether every container of pod has started (is running, or has run and terminated).
func allStarted(pod *corev1.Pod) bool {
	if len(pod.Spec.Containers) == 0 || len(pod.Status.ContainerStatuses) < len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running == nil && (cs.State.Terminated == nil || cs.State.Terminated.StartedAt.IsZero()) {
			return false
		}
	}
	return true
}

// lastStarted is the latest startedAt of pod's containers.
func lastStarted(pod *corev1.Pod) (time.Time, bool) {
	var last time.Time
	for _, cs := range pod.Status.ContainerStatuses {
		var at time.Time
		switch {
		case cs.State.Running != nil:
			at = cs.State.Running.StartedAt.Time
		case cs.State.Terminated != nil:
			at = cs.State.Terminated.StartedAt.Time
		}
		if at.IsZero() {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, !last.IsZero()
}

// Samples are all samples so far, in the order pods started.
func (t *Tracker) Samples() []Sample {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Sample(nil), t.samples...)
}

// Counts are the pods by what was observed of them.
func (t *Tracker) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts
}

// Throughput is the scheduling throughput over a window: pods bound to a node per second.
type Throughput struct {
	Scheduled int           `json:"scheduled"` // pods bound in the window
	Window    time.Duration `json:"window"`
	Bucket    time.Duration `json:"bucket"`
	Mean      float64       `json:"mean"` // Scheduled / Window, pods/s
	Max       float64       `json:"max"`  // the busiest bucket's count / Bucket, pods/s
}

// Throughput counts the pods observed bound to a node in [from, to) (client receive time), in buckets of bucket
// (default 1 s) aligned to from; a last partial bucket counts over its own length only when it is at least half a
// bucket long (a short tail would exaggerate the maximum).
func (t *Tracker) Throughput(from, to time.Time, bucket time.Duration) Throughput {
	if bucket <= 0 {
		bucket = time.Second
	}
	th := Throughput{Window: to.Sub(from), Bucket: bucket}
	if !to.After(from) {
		return th
	}
	t.mu.Lock()
	at := append([]time.Time(nil), t.scheduled...)
	t.mu.Unlock()
	n := int(math.Ceil(float64(th.Window) / float64(bucket)))
	counts := make([]int, n)
	for _, s := range at {
		if s.Before(from) || !s.Before(to) {
			continue
		}
		counts[int(s.Sub(from)/bucket)]++
		th.Scheduled++
	}
	th.Mean = float64(th.Scheduled) / th.Window.Seconds()
	for i, c := range counts {
		length := bucket
		if i == n-1 {
			if tail := th.Window - time.Duration(n-1)*bucket; tail < bucket {
				if tail < bucket/2 {
					continue
				}
				length = tail
			}
		}
		th.Max = math.Max(th.Max, float64(c)/length.Seconds())
	}
	return th
}

// Named reasons why pods do not start, from their Events.
const (
	// ReasonMaxPods: FailedScheduling "Too many pods": every fitting node holds its maxPods (status.allocatable.pods).
	ReasonMaxPods = "maxPods exhausted"
	// ReasonPodCIDR: FailedCreatePodSandBox because the node's pod CIDR (IPAM range) has no address left.
	ReasonPodCIDR = "pod CIDR exhausted"
	// ReasonSandbox: FailedCreatePodSandBox for another reason (CNI failure or exhaustion).
	ReasonSandbox = "pod sandbox creation failed (CNI)"
	// ReasonCPU and ReasonMemory: FailedScheduling "Insufficient cpu/memory": requests exceed what is left.
	ReasonCPU    = "insufficient cpu"
	ReasonMemory = "insufficient memory"
	// ReasonUnschedulable: any other FailedScheduling.
	ReasonUnschedulable = "unschedulable"
)

// ipamExhausted are fragments of the CNI IPAM errors that mean "no address left" (host-local, Calico, Cilium, the
// AWS and Azure CNIs).
var ipamExhausted = []string{"no IP addresses available", "range is full", "no available IP", "failed to allocate",
	"ipam: no more", "No more IPs", "exhausted", "IPAM"}

// Classify names why a pod does not start from one of its Events (k8s reason and message): one of the Reason
// constants, or "" when the event says nothing of that kind. "Too many pods" wins over other FailedScheduling
// causes in the same message, then insufficient cpu, then memory.
func Classify(reason, message string) string {
	switch reason {
	case "FailedScheduling":
		switch {
		case strings.Contains(message, "Too many pods"):
			return ReasonMaxPods
		case strings.Contains(message, "Insufficient cpu"):
			return ReasonCPU
		case strings.Contains(message, "Insufficient memory"):
			return ReasonMemory
		}
		return ReasonUnschedulable
	case "FailedCreatePodSandBox":
		for _, f := range ipamExhausted {
			if strings.Contains(message, f) {
				return ReasonPodCIDR
			}
		}
		return ReasonSandbox
	}
	return ""
}

// ObserveEvent feeds one Event (ADDED or MODIFIED) received at. Only events about pods in the namespaces of the
// tracked pods count.
func (t *Tracker) ObserveEvent(ev *corev1.Event, at time.Time) {
	if ev.InvolvedObject.Kind != "Pod" {
		return
	}
	r := Classify(ev.Reason, ev.Message)
	if r == "" {
		return
	}
	k := types.NamespacedName{Namespace: ev.InvolvedObject.Namespace, Name: ev.InvolvedObject.Name}
	if k.Namespace == "" {
		k.Namespace = ev.Namespace
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.nss[k.Namespace] || t.ignored[k] {
		return
	}
	count := ev.Count
	if ev.Series != nil && ev.Series.Count > count {
		count = ev.Series.Count
	}
	count = max(count, 1)
	e := t.events[ev.UID]
	if e == nil {
		e = &eventState{first: at}
		t.events[ev.UID] = e
	}
	e.reason, e.k8sReason, e.message, e.pod, e.count, e.last = r, ev.Reason, ev.Message, k, count, at
	if p := t.pods[k]; p != nil && !p.done {
		p.lastReason = r
	}
}

// Failure is one named reason pods did not start for.
type Failure struct {
	Reason    string    `json:"reason"`    // one of the Reason constants
	K8sReason string    `json:"k8sReason"` // the Events' reason: FailedScheduling, FailedCreatePodSandBox
	Pods      int       `json:"pods"`      // distinct pods
	Count     int       `json:"count"`     // occurrences (the events' counts)
	Message   string    `json:"message"`   // the latest event's message
	First     time.Time `json:"first"`     // receive times
	Last      time.Time `json:"last"`
}

// Failures are the named reasons seen so far, most pods first.
func (t *Tracker) Failures() []Failure {
	t.mu.Lock()
	defer t.mu.Unlock()
	by := map[string]*Failure{}
	pods := map[string]map[types.NamespacedName]bool{}
	for _, e := range t.events {
		f := by[e.reason]
		if f == nil {
			f = &Failure{Reason: e.reason, K8sReason: e.k8sReason, First: e.first}
			by[e.reason] = f
			pods[e.reason] = map[types.NamespacedName]bool{}
		}
		pods[e.reason][e.pod] = true
		f.Count += int(e.count)
		if e.first.Before(f.First) {
			f.First = e.first
		}
		if !e.last.Before(f.Last) {
			f.Last, f.Message = e.last, e.message
		}
	}
	out := make([]Failure, 0, len(by))
	for r, f := range by {
		f.Pods = len(pods[r])
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pods != out[j].Pods {
			return out[i].Pods > out[j].Pods
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Pending is what is known of the pods not started yet.
type Pending struct {
	Count   int            `json:"count"`
	Oldest  time.Duration  `json:"oldest"`            // age of the oldest, at now
	Reasons map[string]int `json:"reasons,omitempty"` // pods by their latest named reason
}

// Pending counts the tracked pods that have not started (and are not deleted), at now.
func (t *Tracker) Pending(now time.Time) Pending {
	t.mu.Lock()
	defer t.mu.Unlock()
	var p Pending
	for _, s := range t.pods {
		if s.done || s.deleted {
			continue
		}
		p.Count++
		p.Oldest = max(p.Oldest, now.Sub(s.created))
		if s.lastReason != "" {
			if p.Reasons == nil {
				p.Reasons = map[string]int{}
			}
			p.Reasons[s.lastReason]++
		}
	}
	return p
}
