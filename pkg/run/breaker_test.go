package run

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

func TestPodTrouble(t *testing.T) {
	now := time.Now()
	unsched := func(since time.Duration) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			LastTransitionTime: metav1.NewTime(now.Add(-since)), Message: "0/4 nodes are available: 1 Insufficient cpu"}}}}
	}
	if got := podTrouble(unsched(5*time.Second), 15*time.Second, now); got != "" {
		t.Errorf("within the grace period: %q", got)
	}
	if got := podTrouble(unsched(20*time.Second), 15*time.Second, now); !strings.Contains(got, "unschedulable for 20s: 0/4 nodes are available: 1 Insufficient cpu") {
		t.Errorf("past the grace period: %q", got)
	}
	pull := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Image: "registry.invalid/busybox:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}}}
	if got := podTrouble(pull, time.Second, now); !strings.Contains(got, "cannot pull image registry.invalid/busybox:1") || !strings.Contains(got, "--image-map") {
		t.Errorf("image pull: %q", got)
	}
	if got := podTrouble(corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}, time.Second, now); got != "" {
		t.Errorf("running pod: %q", got)
	}
}

func TestBreakerSampleCeilings(t *testing.T) {
	r := &Runner{agg: probe.NewAggregate()}
	for i := range 20 {
		s := probe.Sample{Phase: "ramp-step-1", Kind: probe.KindGet, LatencyMS: float64(10 + i), Status: 200}
		if i < 6 {
			s.Error, s.Status = "timeout", 0
		}
		r.agg.Add(s)
	}
	b := &breaker{r: r, phase: "ramp-step-1", cfg: BreakerConfig{MaxErrorRate: 0.25, MinSamples: 10}}
	if got := b.checkSamples(); !strings.Contains(got, "probe error rate 30.0% (6 of 20 samples) above --max-error-rate 25%") {
		t.Errorf("error rate: %q", got)
	}
	b.cfg = BreakerConfig{AbortP99MS: 25, MinSamples: 10}
	if got := b.checkSamples(); !strings.Contains(got, "above --abort-p99 25 ms") {
		t.Errorf("p99 ceiling: %q", got)
	}
	b.cfg = BreakerConfig{MaxErrorRate: 0.5, AbortP99MS: 100, MinSamples: 10}
	if got := b.checkSamples(); got != "" {
		t.Errorf("within both ceilings: %q", got)
	}
	b.phase = "ramp-step-2"
	b.cfg = BreakerConfig{MaxErrorRate: 0.01, MinSamples: 10}
	if got := b.checkSamples(); got != "" {
		t.Errorf("another phase's samples do not count: %q", got)
	}
}
