package safety

import (
	"context"
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

type nodeOpt func(*corev1.Node)

func node(name, cpu, mem string, pods int64, opts ...nodeOpt) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
				corev1.ResourcePods: *resource.NewQuantity(pods, resource.DecimalSI)},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		}}
	for _, o := range opts {
		o(n)
	}
	return n
}

func labelled(k, v string) nodeOpt { return func(n *corev1.Node) { n.Labels[k] = v } }
func tainted(key, value string, effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}
func cordoned() nodeOpt { return func(n *corev1.Node) { n.Spec.Unschedulable = true } }
func notReady() nodeOpt {
	return func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }
}

func requests(cpu, mem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(mem)}}
}

func pod(name, nodeName string, phase corev1.PodPhase, containers ...corev1.ResourceRequirements) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: phase}}
	for _, r := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c", Resources: r})
	}
	return p
}

func TestReadCapacity(t *testing.T) {
	real := map[string]string{"kubepyrometer.io/real-node": "true"}
	objs := []runtime.Object{
		node("vm", "2", "4Gi", 110, labelled("kubepyrometer.io/real-node", "true")),
		node("kwok-0", "8", "32Gi", 110, tainted("kwok.x-k8s.io/node", "fake", corev1.TaintEffectNoSchedule)),
		node("evicting", "8", "32Gi", 110, labelled("kubepyrometer.io/real-node", "true"), tainted("dedicated", "", corev1.TaintEffectNoExecute)),
		node("preferred", "1", "1Gi", 10, tainted("soft", "x", corev1.TaintEffectPreferNoSchedule)),
		node("cordoned", "8", "32Gi", 110, labelled("kubepyrometer.io/real-node", "true"), cordoned()),
		node("down", "8", "32Gi", 110, labelled("kubepyrometer.io/real-node", "true"), notReady()),
		// on vm: 500m + 1Gi, 250m + 512Mi (two containers), a finished pod (ignored), a pod with no requests (a slot)
		pod("a", "vm", corev1.PodRunning, requests("500m", "1Gi")),
		pod("b", "vm", corev1.PodPending, requests("200m", "256Mi"), requests("50m", "256Mi")),
		pod("done", "vm", corev1.PodSucceeded, requests("1", "1Gi")),
		pod("failed", "vm", corev1.PodFailed, requests("1", "1Gi")),
		pod("besteffort", "vm", corev1.PodRunning),
		// on excluded or unknown nodes: ignored
		pod("fake", "kwok-0", corev1.PodRunning, requests("4", "4Gi")),
		pod("unscheduled", "", corev1.PodPending, requests("4", "4Gi")),
		// on preferred
		pod("p", "preferred", corev1.PodRunning, requests("100m", "100Mi")),
	}
	cases := []struct {
		name     string
		selector map[string]string
		want     Capacity
	}{
		{"real node only", real, Capacity{Nodes: 1, CPUMillis: 2000 - 750, MemoryMi: 4096 - 1536, Pods: 110 - 3,
			NodeSelector: "kubepyrometer.io/real-node=true", PerNode: []NodeFree{{"vm", 1250, 2560, 107}},
			Excluded: []string{"cordoned: cordoned", "down: not Ready", "evicting: taint dedicated:NoExecute",
				"kwok-0: does not match --node-selector", "preferred: does not match --node-selector"}}},
		{"no selector", nil, Capacity{Nodes: 2, CPUMillis: 1250 + 900, MemoryMi: 2560 + 924, Pods: 107 + 9,
			PerNode: []NodeFree{{"preferred", 900, 924, 9}, {"vm", 1250, 2560, 107}},
			Excluded: []string{"cordoned: cordoned", "down: not Ready", "evicting: taint dedicated:NoExecute",
				"kwok-0: taint kwok.x-k8s.io/node=fake:NoSchedule"}}},
		{"selector matches nothing", map[string]string{"pool": "load"}, Capacity{NodeSelector: "pool=load", PerNode: []NodeFree{},
			Excluded: []string{"cordoned: does not match --node-selector", "down: does not match --node-selector",
				"evicting: does not match --node-selector", "kwok-0: does not match --node-selector",
				"preferred: does not match --node-selector", "vm: does not match --node-selector"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset(objs...)
			got, err := ReadCapacity(context.Background(), c, tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("--node-selector %v:\n got %+v\nwant %+v", tc.selector, got, tc.want)
			}
			for _, a := range c.Actions() {
				if a.GetVerb() != "list" {
					t.Errorf("ReadCapacity must only read, did %s %s", a.GetVerb(), a.GetResource().Resource)
				}
			}
		})
	}
}

func TestReadCapacityOvercommittedNodeCountsZero(t *testing.T) {
	c := fake.NewClientset(node("full", "1", "1Gi", 1), node("free", "1", "1Gi", 10),
		pod("x", "full", corev1.PodRunning, requests("2", "2Gi")), pod("y", "full", corev1.PodRunning))
	got, err := ReadCapacity(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Capacity{Nodes: 2, CPUMillis: 1000, MemoryMi: 1024, Pods: 10, PerNode: []NodeFree{{"free", 1000, 1024, 10}, {"full", 0, 0, 0}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("an overcommitted node must not reduce the others' free capacity:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadCapacityListError(t *testing.T) {
	c := fake.NewClientset(node("vm", "1", "1Gi", 10))
	c.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	if _, err := ReadCapacity(context.Background(), c, nil); err == nil || err.Error() != "failed to list pods: forbidden" {
		t.Fatalf("want the pods list error, got %v", err)
	}
}

func TestPodRequests(t *testing.T) {
	always := ptr.To(corev1.ContainerRestartPolicyAlways)
	cases := []struct {
		name     string
		spec     corev1.PodSpec
		cpu, mem string
	}{
		{"containers add up", corev1.PodSpec{Containers: []corev1.Container{{Resources: requests("100m", "10Mi")}, {Resources: requests("200m", "20Mi")}}},
			"300m", "30Mi"},
		{"a larger init container wins", corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("1", "5Mi")}},
			Containers:     []corev1.Container{{Resources: requests("100m", "10Mi")}}}, "1", "10Mi"},
		{"sidecars run with the containers", corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("50m", "8Mi"), RestartPolicy: always}, {Resources: requests("100m", "1Mi")}},
			Containers:     []corev1.Container{{Resources: requests("100m", "10Mi")}}}, "150m", "18Mi"},
		{"an init container after a sidecar runs beside it", corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("50m", "8Mi"), RestartPolicy: always}, {Resources: requests("1", "1Mi")}},
			Containers:     []corev1.Container{{Resources: requests("100m", "10Mi")}}}, "1050m", "18Mi"},
		{"overhead is added", corev1.PodSpec{Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
			Containers: []corev1.Container{{Resources: requests("100m", "10Mi")}}}, "110m", "10Mi"},
		{"pod-level requests win", corev1.PodSpec{Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("2")}},
			Containers: []corev1.Container{{Resources: requests("100m", "10Mi")}}}, "2", "10Mi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cpu, mem := podRequests(&corev1.Pod{Spec: tc.spec})
			if cpu.Cmp(resource.MustParse(tc.cpu)) != 0 || mem.Cmp(resource.MustParse(tc.mem)) != 0 {
				t.Errorf("got cpu %s memory %s, want %s %s", cpu.String(), mem.String(), tc.cpu, tc.mem)
			}
		})
	}
}
