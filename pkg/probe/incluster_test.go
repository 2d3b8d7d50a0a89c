package probe

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The in-cluster probe's health names how the pod ended: OOMKilled (container), Evicted (pod), deleted.
func TestClusterProbeHealth(t *testing.T) {
	finished := metav1.NewTime(time.Date(2026, 1, 1, 12, 3, 4, 0, time.UTC))
	oom := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodFailed,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 137, Reason: "OOMKilled", FinishedAt: finished}}}}}}
	evicted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodFailed,
		Reason: "Evicted", Message: "The node was low on resource: memory."}}
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	for name, tc := range map[string]struct {
		pod   *corev1.Pod
		alive bool
		want  string
	}{
		"oom":     {oom, false, "(Failed, OOMKilled, exit code 137)"},
		"evicted": {evicted, false, "(Failed, Evicted): The node was low on resource: memory."},
		"running": {running, true, "running"},
		"deleted": {nil, false, "(Gone, the pod was deleted)"},
	} {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientset()
			if tc.pod != nil {
				c = fake.NewClientset(tc.pod)
			}
			cp := &ClusterProbe{client: c, cfg: ClusterProbeConfig{Probe: Config{Namespace: "ns"}}, pod: "p", done: make(chan struct{})}
			h := cp.Health(context.Background())
			if h.Alive != tc.alive || !strings.Contains(h.String(), tc.want) {
				t.Errorf("health %+v (%s): want alive=%v and %q", h, h, tc.alive, tc.want)
			}
			if name == "oom" && (h.EndedAt == nil || !h.EndedAt.Equal(finished.Time)) {
				t.Errorf("EndedAt = %v, want the container's finishedAt %v", h.EndedAt, finished)
			}
		})
	}
}
