package run

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/podstartup"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func testPodWatch(hollowPrefix string) *podWatch {
	w := &podWatch{agg: probe.NewAggregate(), onHollow: map[string]int{}, total: map[string]int{}, steps: map[string][2]time.Time{},
		hollow: hollowPrefix, wait: func() {}, cancel: func() {}}
	w.tracker = podstartup.NewTracker(func(s podstartup.Sample) {
		w.agg.Add(s.Probe())
		if s.Kind == podstartup.KindStartup {
			w.total[s.Phase]++
			if w.hollow != "" && strings.HasPrefix(s.Node, w.hollow) {
				w.onHollow[s.Phase]++
			}
		}
	})
	return w
}

func testPod(name, node string, started bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: node,
		Containers: []corev1.Container{{Name: "c"}}}}
	if started {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	}
	return p
}

// The breaker names maxPods exhaustion once a pod has been Pending with "Too many pods" for the grace period.
func TestPodWatchTroubleNamesMaxPods(t *testing.T) {
	w := testPodWatch("")
	w.phase("ramp-step-1")
	old := time.Now().Add(-20 * time.Second)
	w.tracker.Observe(testPod("a", "", false), old, false)
	if r := w.trouble(15 * time.Second); r != "" {
		t.Fatalf("no event yet, trouble %q", r)
	}
	w.tracker.ObserveEvent(&corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID("e"), Namespace: "ns"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "a", Namespace: "ns"}, Reason: "FailedScheduling",
		Message: "0/3 nodes are available: 2 Too many pods, 1 node(s) had untolerated taint.", Count: 1}, time.Now())
	if r := w.trouble(time.Minute); r != "" {
		t.Errorf("within the grace period, trouble %q", r)
	}
	r := w.trouble(15 * time.Second)
	if !strings.HasPrefix(r, podstartup.ReasonMaxPods+": 1 pod(s) Pending (FailedScheduling: ") {
		t.Errorf("trouble %q", r)
	}
	var nilWatch *podWatch
	if nilWatch.trouble(0) != "" {
		t.Error("no watch, no trouble")
	}
}

// Pods short of cpu or memory are left to the breaker's own unschedulable check (it names the pod and the
// scheduler's message, e2e TestBreakerStopsUnschedulableRamp): the pod watch does not name them first.
func TestPodWatchTroubleLeavesInsufficientCPUToTheBreaker(t *testing.T) {
	w := testPodWatch("")
	w.phase("ramp-step-1")
	w.tracker.Observe(testPod("a", "", false), time.Now().Add(-20*time.Second), false)
	w.tracker.ObserveEvent(&corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID("e"), Namespace: "ns"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "a", Namespace: "ns"}, Reason: "FailedScheduling",
		Message: "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) had untolerated taint(s).", Count: 1}, time.Now())
	if r := w.trouble(15 * time.Second); r != "" {
		t.Errorf("insufficient cpu is the unschedulable check's to name, trouble %q", r)
	}
}

// Rows per phase, labelled control-plane only when every pod ran on a hollow node; the SLO fails the run's outcome.
func TestPodStartupRowsAndOutcome(t *testing.T) {
	w := testPodWatch("pyrometer-hollow-abc-")
	r := &Runner{res: &result.Doc{Phases: []result.Phase{{Name: "baseline"}, {Name: "ramp-step-1"}, {Name: "ramp-step-2"}}, Outcome: result.Outcome{Result: result.ResultPass}},
		cfg: Config{Selection: &modes.Selection{Modes: []*modes.Mode{{Name: "cpu"}, {Name: "density"}}}}}
	for _, step := range []struct {
		name, node string
		delay      time.Duration
	}{{"ramp-step-1", "pyrometer-hollow-abc-0", time.Second}, {"ramp-step-2", "real-node", 7 * time.Second}} {
		w.phase(step.name)
		for i := 0; i < 3; i++ {
			name := step.name + string(rune('a'+i))
			created := time.Now().Add(-step.delay)
			w.tracker.Observe(testPod(name, "", false), created, false)
			w.tracker.Observe(testPod(name, step.node, false), created.Add(step.delay/2), false)
			w.tracker.Observe(testPod(name, step.node, true), created.Add(step.delay), false)
		}
		r.endPodPhase(w, step.name)
	}
	// the synthetic pods were bound in the past: widen step 1's window over them
	w.steps["ramp-step-1"] = [2]time.Time{time.Now().Add(-time.Minute), time.Now().Add(time.Second)}
	stats := r.podStartupRows(w, nil)
	if r.res.PodStartup == nil || len(r.res.PodStartup.Phases) != 2 {
		t.Fatalf("phases %+v", r.res.PodStartup)
	}
	p1, p2 := r.res.PodStartup.Phases[0], r.res.PodStartup.Phases[1]
	if !p1.ControlPlaneOnly || p2.ControlPlaneOnly {
		t.Errorf("control-plane only: step 1 %v (hollow), step 2 %v (real)", p1.ControlPlaneOnly, p2.ControlPlaneOnly)
	}
	if p1.SLO != result.StatusPass || p2.SLO != result.StatusFail {
		t.Errorf("SLO step 1 %q step 2 %q", p1.SLO, p2.SLO)
	}
	if p1.Scheduled != 6 || p1.ThroughputMean <= 0 || p1.ThroughputMax < p1.ThroughputMean {
		t.Errorf("step 1 (both steps' pods in its window): %d scheduled, %v mean, %v max", p1.Scheduled, p1.ThroughputMean, p1.ThroughputMax)
	}
	kinds := map[string]int{}
	for _, st := range stats {
		if st.Kind == "all" {
			t.Errorf("no pooled row for pod startup: %+v", st)
		}
		kinds[st.Phase+"/"+st.Kind] = st.Count
	}
	for _, k := range []string{"ramp-step-1/pod-startup", "ramp-step-1/pod-schedule", "ramp-step-1/pod-run", "ramp-step-2/pod-startup"} {
		if kinds[k] != 3 {
			t.Errorf("%s: %d samples, want 3 (%v)", k, kinds[k], kinds)
		}
	}
	// Without mode density the stress pods' startup (image pulls included) is reported, not judged.
	r.cfg.Selection.Modes = r.cfg.Selection.Modes[:1]
	r.podStartupOutcome()
	if r.res.Outcome.Result != result.ResultPass || !strings.Contains(strings.Join(r.res.Notes, ";"), "judged only with mode density") {
		t.Errorf("cpu only: outcome %+v, notes %v", r.res.Outcome, r.res.Notes)
	}
	r.cfg.Selection.Modes = []*modes.Mode{{Name: "density"}}
	r.podStartupOutcome()
	if r.res.Outcome.Result != result.ResultSLOFailed || !strings.Contains(strings.Join(r.res.Outcome.Reasons, ";"), "pod startup SLO (p99 <= 5s) failed in ramp-step-2") {
		t.Errorf("outcome %+v", r.res.Outcome)
	}
}
