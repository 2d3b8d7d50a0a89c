package run

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

func TestMonitorUsage(t *testing.T) {
	ns := "pyrometer-abcd1234-step-1"
	kube := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: cluster.Labels("abcd1234", "stress")}})
	usage := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	// the fake's object tracker guesses "nodemetricses" from the kind; the client asks for "nodes" and "pods"
	mc := metricsfake.NewSimpleClientset()
	gv := metricsv1beta1.SchemeGroupVersion
	if err := mc.Tracker().Create(gv.WithResource("nodes"), &metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}, Usage: usage}, ""); err != nil {
		t.Fatal(err)
	}
	if err := mc.Tracker().Create(gv.WithResource("pods"), &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: "burn", Namespace: ns},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: "c", Usage: usage}, {Name: "d", Usage: usage}}}, ns); err != nil {
		t.Fatal(err)
	}
	r := &Runner{env: Env{Session: &Session{Client: kube, RunID: "abcd1234"}}}
	var got []MonitorRecord
	if err := r.monitorUsage(context.Background(), mc, func(m MonitorRecord) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("want a node and a pod record, got %+v", got)
	}
	if got[0].Type != "node-usage" || got[0].Node != "node-a" || got[0].CPU != "250m" || got[0].Memory != "64Mi" {
		t.Errorf("node usage: %+v", got[0])
	}
	if got[1].Type != "pod-usage" || got[1].Pod != ns+"/burn" || got[1].CPU != "500m" || got[1].Memory != "128Mi" {
		t.Errorf("pod usage sums the containers: %+v", got[1])
	}
}
