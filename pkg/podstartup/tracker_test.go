package podstartup

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func pod(name, node string, containers, started int) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0)},
		Spec: corev1.PodSpec{NodeName: node}}
	for i := 0; i < containers; i++ {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: string(rune('a' + i))})
	}
	for i := 0; i < started; i++ {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: string(rune('a' + i)),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0.Add(time.Duration(i+2) * time.Second))}}})
	}
	return p
}

func byKind(s []Sample) map[string]float64 {
	m := map[string]float64{}
	for _, x := range s {
		m[x.Kind] = x.LatencyMS
	}
	return m
}

func TestStartupFromWatchEvents(t *testing.T) {
	var sunk []Sample
	tr := NewTracker(func(s Sample) { sunk = append(sunk, s) })
	tr.SetPhase("step-1")
	tr.Observe(pod("p", "", 2, 0), at(0), false)     // ADDED
	tr.Observe(pod("p", "n1", 2, 0), at(20), false)  // bound
	tr.Observe(pod("p", "n1", 2, 1), at(80), false)  // one container started: not yet
	tr.SetPhase("step-2")                            // a later phase does not move the pod
	tr.Observe(pod("p", "n1", 2, 2), at(120), false) // all started
	tr.Observe(pod("p", "n1", 2, 2), at(500), false) // later updates change nothing
	s := tr.Samples()
	got := byKind(s)
	want := map[string]float64{KindStartup: 120, KindSchedule: 20, KindRun: 100, KindStartupServer: 3000}
	if len(s) != 4 || len(got) != 4 {
		t.Fatalf("samples %+v", s)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v ms, want %v", k, got[k], v)
		}
	}
	for _, x := range s {
		if x.Phase != "step-1" || x.Seq != 1 || x.Pod != "p" || x.Node != "n1" || !x.TS.Equal(t0) {
			t.Errorf("sample %+v", x)
		}
	}
	if !slices.Equal(sunk, s) {
		t.Errorf("sink got %v", sunk)
	}
	if c := tr.Counts(); c != (Counts{Seen: 1, Scheduled: 1, Running: 1}) {
		t.Errorf("counts %+v", c)
	}
}

// The creator's own timestamp, taken just before its Create request, is the creation time when it is earlier.
func TestCreatedByCreator(t *testing.T) {
	tr := NewTracker(nil)
	tr.Created("ns", "p", at(-30))
	tr.Observe(pod("p", "", 1, 0), at(0), false)
	tr.Observe(pod("p", "n1", 1, 1), at(10), false) // bound and started at once: schedule time unknown
	got := byKind(tr.Samples())
	if got[KindStartup] != 40 || len(got) != 2 { // startup + server figure only
		t.Errorf("samples %v", got)
	}
	if c := tr.Counts(); c.Late != 1 || c.Running != 1 {
		t.Errorf("counts %+v", c)
	}
	// a Created after the ADDED event (creator slower than the watch) moves the creation earlier only
	tr.Observe(pod("q", "", 1, 0), at(100), false)
	tr.Created("ns", "q", at(90))
	tr.Created("ns", "q", at(95))
	tr.Observe(pod("q", "n1", 1, 0), at(110), false)
	tr.Observe(pod("q", "n1", 1, 1), at(130), false)
	var q map[string]float64
	for _, s := range tr.Samples() {
		if s.Pod == "q" {
			if q == nil {
				q = map[string]float64{}
			}
			q[s.Kind] = s.LatencyMS
		}
	}
	if q[KindStartup] != 40 || q[KindSchedule] != 20 || q[KindRun] != 20 {
		t.Errorf("q samples %v", q)
	}
}

func TestIgnoredAndSpecialPods(t *testing.T) {
	tr := NewTracker(nil)
	tr.Observe(pod("old", "", 1, 0), at(0), true) // listed at the start
	tr.Observe(pod("old", "n1", 1, 1), at(10), false)
	tr.Observe(pod("bound", "n2", 1, 0), at(0), false) // created with spec.nodeName
	tr.Observe(pod("bound", "n2", 1, 1), at(50), false)
	tr.Observe(pod("gone", "", 1, 0), at(0), false)
	tr.Deleted(pod("gone", "", 1, 0))
	tr.Observe(pod("gone", "n1", 1, 1), at(60), false) // a late update of a deleted pod
	tr.Observe(pod("nocontainers", "n1", 0, 0), at(0), false)
	s := tr.Samples()
	for _, x := range s {
		if x.Pod != "bound" {
			t.Errorf("unexpected sample %+v", x)
		}
	}
	got := byKind(s)
	if got[KindStartup] != 50 || got[KindRun] != 50 || len(got) != 3 {
		t.Errorf("pre-bound pod samples %v", got)
	}
	c := tr.Counts()
	if c != (Counts{Seen: 3, Scheduled: 2, Running: 1, PreBound: 2, Deleted: 1}) {
		t.Errorf("counts %+v", c)
	}
	p := tr.Pending(at(1000))
	if p.Count != 1 || p.Oldest != time.Second {
		t.Errorf("pending %+v", p)
	}
}

// Terminated containers count as started (a short Job pod may finish before its running state is seen).
func TestTerminatedCountsAsStarted(t *testing.T) {
	tr := NewTracker(nil)
	tr.Observe(pod("j", "", 1, 0), at(0), false)
	tr.Observe(pod("j", "n1", 1, 0), at(5), false)
	p := pod("j", "n1", 1, 0)
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		StartedAt: metav1.NewTime(t0.Add(time.Second)), FinishedAt: metav1.NewTime(t0.Add(2 * time.Second))}}}}
	tr.Observe(p, at(25), false)
	if got := byKind(tr.Samples()); got[KindStartup] != 25 || got[KindStartupServer] != 1000 {
		t.Errorf("samples %v", got)
	}
}

// The samples fit the probe's statistics.
func TestProbeSamples(t *testing.T) {
	tr := NewTracker(nil)
	for i, d := range []int{100, 200, 300, 400} {
		name := string(rune('a' + i))
		tr.Observe(pod(name, "", 1, 0), at(0), false)
		tr.Observe(pod(name, "n", 1, 0), at(10), false)
		tr.Observe(pod(name, "n", 1, 1), at(d), false)
	}
	agg := probe.NewAggregate()
	var startup []probe.Sample
	for _, s := range tr.Samples() {
		ps := s.Probe()
		if ps.Verb != "watch" || ps.Status != 200 || ps.Source != probe.SourceLocal || string(ps.Kind) != s.Kind {
			t.Fatalf("probe sample %+v", ps)
		}
		agg.Add(ps)
		if s.Kind == KindStartup {
			startup = append(startup, ps)
		}
	}
	st := probe.Compute(startup)
	if st.Count != 4 || st.P50 != 200 || st.Max != 400 {
		t.Errorf("pod-startup stats %+v", st)
	}
	// the aggregate keeps them per kind (its ByKind rows list the probe's own kinds only)
	ok, errs := agg.Successes(probe.GroupKey{Source: probe.SourceLocal, Kind: KindStartup})
	if len(ok) != 4 || errs != 0 {
		t.Errorf("aggregate: %v %d", ok, errs)
	}
}

func TestThroughput(t *testing.T) {
	tr := NewTracker(nil)
	bind := func(name string, ms int) {
		tr.Observe(pod(name, "", 1, 0), at(ms-1), false)
		tr.Observe(pod(name, "n", 1, 0), at(ms), false)
	}
	for i, ms := range []int{100, 200, 300, 400, 500, 1100, 1900, 2100, 2200, 3500} {
		bind(string(rune('a'+i)), ms)
	}
	th := tr.Throughput(at(0), at(2000), time.Second)
	if th.Scheduled != 7 || th.Mean != 3.5 || th.Max != 5 || th.Window != 2*time.Second {
		t.Errorf("[0,2s): %+v", th)
	}
	// a 0.3 s tail is too short to be a bucket of its own; a 0.5 s one counts over its length
	if th := tr.Throughput(at(0), at(2300), time.Second); th.Scheduled != 9 || th.Max != 5 {
		t.Errorf("[0,2.3s): %+v", th)
	}
	if th := tr.Throughput(at(1500), at(2500), 500*time.Millisecond); th.Scheduled != 3 || th.Max != 4 || th.Mean != 3 {
		t.Errorf("[1.5s,2.5s) in 0.5 s buckets: %+v", th)
	}
	if th := tr.Throughput(at(10), at(10), time.Second); th.Scheduled != 0 || th.Max != 0 {
		t.Errorf("empty window: %+v", th)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct{ reason, msg, want string }{
		{"FailedScheduling", "0/24 nodes are available: 20 Too many pods, 4 node(s) had untolerated taint(s). preemption: 0/24 nodes are available: 24 No preemption victims found for incoming pod.", ReasonMaxPods},
		{"FailedScheduling", "0/3 nodes are available: 1 Insufficient cpu, 2 Too many pods.", ReasonMaxPods},
		{"FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.", ReasonCPU},
		{"FailedScheduling", "0/3 nodes are available: 3 Insufficient memory.", ReasonMemory},
		{"FailedScheduling", "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", ReasonUnschedulable},
		{"FailedCreatePodSandBox", `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "x": plugin type="bridge" name="pyrometer" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.0.1-10.244.0.254`, ReasonPodCIDR},
		{"FailedCreatePodSandBox", `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "x": plugin type="calico" failed (add): connection refused`, ReasonSandbox},
		{"BackOff", "Back-off restarting failed container", ""},
		{"Scheduled", "Successfully assigned ns/p to n1", ""},
	} {
		if got := Classify(c.reason, c.msg); got != c.want {
			t.Errorf("Classify(%s, %.60q) = %q, want %q", c.reason, c.msg, got, c.want)
		}
	}
}

func event(uid, pod, ns, reason, msg string, count int32) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: ns}, Reason: reason, Message: msg, Count: count}
}

func TestFailuresFromEvents(t *testing.T) {
	tr := NewTracker(nil)
	for _, n := range []string{"a", "b", "c"} {
		tr.Observe(pod(n, "", 1, 0), at(0), false)
	}
	tooMany := "0/2 nodes are available: 2 Too many pods."
	tr.ObserveEvent(event("e1", "a", "ns", "FailedScheduling", tooMany, 1), at(10))
	tr.ObserveEvent(event("e1", "a", "ns", "FailedScheduling", tooMany, 3), at(20)) // the same event, counted up
	tr.ObserveEvent(event("e2", "b", "ns", "FailedScheduling", tooMany, 1), at(30))
	tr.ObserveEvent(event("e3", "c", "ns", "FailedCreatePodSandBox", "no IP addresses available in range set", 2), at(40))
	tr.ObserveEvent(event("e4", "x", "elsewhere", "FailedScheduling", tooMany, 1), at(50)) // not our namespace
	tr.ObserveEvent(event("e5", "a", "ns", "Pulled", "image pulled", 1), at(60))           // not a failure
	f := tr.Failures()
	if len(f) != 2 {
		t.Fatalf("failures %+v", f)
	}
	if f[0].Reason != ReasonMaxPods || f[0].Pods != 2 || f[0].Count != 4 || f[0].K8sReason != "FailedScheduling" ||
		!f[0].First.Equal(at(10)) || !f[0].Last.Equal(at(30)) || f[0].Message != tooMany {
		t.Errorf("maxPods failure %+v", f[0])
	}
	if f[1].Reason != ReasonPodCIDR || f[1].Pods != 1 || f[1].Count != 2 {
		t.Errorf("pod CIDR failure %+v", f[1])
	}
	p := tr.Pending(at(100))
	if p.Count != 3 || p.Reasons[ReasonMaxPods] != 2 || p.Reasons[ReasonPodCIDR] != 1 {
		t.Errorf("pending %+v", p)
	}
	// a pod that starts after all is no longer pending, its past failure still counts
	tr.Observe(pod("a", "n", 1, 0), at(200), false)
	tr.Observe(pod("a", "n", 1, 1), at(210), false)
	if p := tr.Pending(at(300)); p.Count != 2 || p.Reasons[ReasonMaxPods] != 1 {
		t.Errorf("pending after a started %+v", p)
	}
	if f := tr.Failures(); f[0].Pods != 2 {
		t.Errorf("failures after a started %+v", f)
	}
}

// Watch feeds the tracker from informers: pods created after it returns are measured with the clock's receive
// times; pods that existed before are not.
func TestWatchFakeClient(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old := pod("old", "n", 1, 1)
	old.Labels = map[string]string{"run": "x"}
	c := fake.NewClientset(old)
	clk := clocktesting.NewFakeClock(t0)
	tr := NewTracker(nil)
	wait, err := Watch(ctx, c, Config{Namespace: "ns", LabelSelector: "run=x", Clock: clk}, tr)
	if err != nil {
		t.Fatal(err)
	}
	p := pod("p", "", 1, 0)
	p.Labels = map[string]string{"run": "x"}
	step := func(f func()) {
		t.Helper()
		n := len(c.Actions())
		f()
		deadline := time.Now().Add(5 * time.Second)
		for len(c.Actions()) == n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	step(func() { _, _ = c.CoreV1().Pods("ns").Create(ctx, p, metav1.CreateOptions{}) })
	waitFor(t, func() bool { return tr.Counts().Seen == 1 })
	clk.Step(30 * time.Millisecond)
	p.Spec.NodeName = "n"
	step(func() { _, _ = c.CoreV1().Pods("ns").Update(ctx, p, metav1.UpdateOptions{}) })
	waitFor(t, func() bool { return tr.Counts().Scheduled == 1 })
	clk.Step(70 * time.Millisecond)
	p.Status = pod("p", "n", 1, 1).Status
	step(func() { _, _ = c.CoreV1().Pods("ns").UpdateStatus(ctx, p, metav1.UpdateOptions{}) })
	waitFor(t, func() bool { return tr.Counts().Running == 1 })
	ev := event("e1", "p", "ns", "FailedScheduling", "0/1 nodes are available: 1 Too many pods.", 1)
	ev.Name = "p.1"
	step(func() { _, _ = c.CoreV1().Events("ns").Create(ctx, ev, metav1.CreateOptions{}) })
	waitFor(t, func() bool { return len(tr.Failures()) == 1 })
	cancel()
	wait()
	got := byKind(tr.Samples())
	if got[KindSchedule] != 30 || got[KindRun] != 70 || got[KindStartup] != 100 {
		t.Errorf("samples %v", got)
	}
	for _, s := range tr.Samples() {
		if s.Pod == "old" {
			t.Errorf("a pod that existed before the watch was measured: %+v", s)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
