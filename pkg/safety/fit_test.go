package safety

import (
	"bytes"
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// planOn computes the plan of steps steps of sel on the nodes and pods of a fake cluster, as `plan` and `run` do.
func planOn(t *testing.T, sel *modes.Selection, steps int, selector map[string]string, objs ...runtime.Object) Plan {
	t.Helper()
	c, err := ReadCapacity(context.Background(), fake.NewClientset(objs...), selector)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compute(sel, steps, DefaultLimits(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fourNodes are 4 nodes of 2 cores, each with 500m already requested: 1500m free on each, 6000m in all.
func fourNodes() []runtime.Object {
	var objs []runtime.Object
	for _, n := range []string{"node-a", "node-b", "node-c", "node-d"} {
		objs = append(objs, node(n, "2", "8Gi", 110), pod("sys-"+n, n, corev1.PodRunning, requests("500m", "1Gi")))
	}
	return objs
}

// TestPlanRefusesPodLargerThanEveryNode: one 4000m pod on 4 nodes with 1500m free each. The sum (6000m) is enough,
// but no node can run the pod: the plan must be blocked and say which pod fits nowhere, and where the most is free.
func TestPlanRefusesPodLargerThanEveryNode(t *testing.T) {
	p := planOn(t, cpuSelection(1, 4000, 0), 1, nil, fourNodes()...)
	if !p.Blocked {
		t.Fatalf("a 4000m pod on nodes with 1500m free each must be refused; checks: %+v", p.Checks)
	}
	want := "fit: cpu pod (4000m cpu, 16Mi memory) fits on no node: largest free cpu 1500m on node-a; 0 of 1 pods fit in all"
	if p.Reason() != want {
		t.Errorf("reason:\n got %q\nwant %q", p.Reason(), want)
	}
	if p.Verdict() != "VERDICT: BLOCKED by fit" {
		t.Errorf("verdict: %q", p.Verdict())
	}
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\nBLOCKED  "+want+"\n") {
		t.Errorf("the plan text must name the pod that fits nowhere on one line:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "\ncpu       6000m (most on one node: 1500m on node-a)\n") {
		t.Errorf("the free capacity must say what one node has at most:\n%s", b.String())
	}
}

// TestPlanPacksPodsOntoNodes: 3 steps of one 1000m pod on 2 nodes with 1500m free each: 3000m requested, 3000m free in
// all, but each node takes only one such pod.
func TestPlanPacksPodsOntoNodes(t *testing.T) {
	objs := fourNodes()[:4] // node-a and node-b with their system pods
	p := planOn(t, cpuSelection(1, 1000, 0), 3, nil, objs...)
	if check(t, p, CheckCPU).OK != true {
		t.Fatalf("the sum fits: the cpu check must pass: %+v", check(t, p, CheckCPU))
	}
	want := "fit: 1 of 3 cpu pods (1000m cpu, 16Mi memory) do not fit when the run's 3 pods are packed first-fit-decreasing " +
		"onto 2 schedulable nodes: largest free cpu 500m on node-a; 2 of 3 pods fit in all"
	if !p.Blocked || p.Reason() != want {
		t.Errorf("blocked %v, reason:\n got %q\nwant %q", p.Blocked, p.Reason(), want)
	}
	c := check(t, p, CheckFit)
	if c.Value != 3 || c.Limit != 2 || c.OK {
		t.Errorf("fit check fields: %+v", c)
	}
	// two steps fit: one pod per node
	p = planOn(t, cpuSelection(1, 1000, 0), 2, nil, objs...)
	if p.Blocked {
		t.Errorf("2 x 1000m on 2 x 1500m free fits: %s", p.Reason())
	}
	if c := check(t, p, CheckFit); c.Message != "fit: the run's 2 pods fit when packed first-fit-decreasing onto the free capacity of 2 schedulable nodes" {
		t.Errorf("fit message: %q", c.Message)
	}
}

// TestFitLargestFirst: 2 x 400m and 2 x 600m pods on 2 nodes of 1000m fit only when the large pods are placed first
// (400+400 on one node would leave no node for the second 600m pod).
func TestFitLargestFirst(t *testing.T) {
	mode := func(name string) *modes.Mode {
		return &modes.Mode{Name: name, Job: modes.JobSpec{Iterations: "1"}, Objects: []modes.ObjectSpec{
			{Template: name + ".yaml", Replicas: "2", Pods: "1", CPUMillis: "millicores", MemoryMi: "10"}}}
	}
	sel := &modes.Selection{Modes: []*modes.Mode{mode("small"), mode("big")},
		Settings: map[string]map[string]float64{"small": {"millicores": 400}, "big": {"millicores": 600}}}
	nodes := []NodeFree{{"n1", 1000, 1000, 10}, {"n2", 1000, 1000, 10}}
	p, err := Compute(sel, 1, DefaultLimits(), Capacity{Nodes: 2, CPUMillis: 2000, MemoryMi: 2000, Pods: 20, PerNode: nodes})
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked {
		t.Errorf("first-fit-decreasing places 600+400 on each node: %s", p.Reason())
	}
	// slightly larger small pods: 600m + 401m exceeds each node
	sel.Settings["small"]["millicores"] = 401
	p, _ = Compute(sel, 1, DefaultLimits(), Capacity{Nodes: 2, CPUMillis: 2000, MemoryMi: 2000, Pods: 20, PerNode: nodes})
	want := "fit: 2 of 2 small pods (401m cpu, 10Mi memory) do not fit when the run's 4 pods are packed first-fit-decreasing " +
		"onto 2 schedulable nodes: largest free cpu 400m on n1; 2 of 4 pods fit in all"
	if check(t, p, CheckFit).Message != want {
		t.Errorf("fit message:\n got %q\nwant %q", check(t, p, CheckFit).Message, want)
	}
}

// TestFitEveryResource: memory and pod slots count per node too, and a pod needs all of them on one node.
func TestFitEveryResource(t *testing.T) {
	cases := []struct {
		name  string
		nodes []NodeFree
		want  string
	}{
		{"memory", []NodeFree{{"a", 4000, 10, 10}, {"b", 4000, 12, 10}},
			"fit: cpu pod (100m cpu, 16Mi memory) fits on no node: largest free memory 12Mi on b; 0 of 1 pods fit in all"},
		{"pod slots", []NodeFree{{"a", 4000, 4000, 0}},
			"fit: cpu pod (100m cpu, 16Mi memory) fits on no node: no free pod slot on any node; 0 of 1 pods fit in all"},
		{"no single node has both", []NodeFree{{"a", 4000, 10, 10}, {"b", 50, 4000, 10}},
			"fit: cpu pod (100m cpu, 16Mi memory) fits on no node: no node has the cpu, the memory and a pod slot free at once; 0 of 1 pods fit in all"},
		{"no node", []NodeFree{},
			"fit: cpu pod (100m cpu, 16Mi memory) fits on no node: no schedulable node; 0 of 1 pods fit in all"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compute(cpuSelection(1, 100, 0), 1, DefaultLimits(), Capacity{Nodes: len(tc.nodes), PerNode: tc.nodes})
			if err != nil {
				t.Fatal(err)
			}
			if c := check(t, p, CheckFit); c.OK || c.Message != tc.want {
				t.Errorf("fit check:\n got %q (ok %v)\nwant %q", c.Message, c.OK, tc.want)
			}
		})
	}
}

// TestFitFollowsNodeSelectionRules: only the nodes the run's pods may land on are packed onto: a big node that is
// tainted or does not match --node-selector does not make a pod fit.
func TestFitFollowsNodeSelectionRules(t *testing.T) {
	objs := []runtime.Object{
		node("big-tainted", "16", "64Gi", 110, labelled("pool", "load"), tainted("dedicated", "db", corev1.TaintEffectNoSchedule)),
		node("big-other-pool", "16", "64Gi", 110),
		node("small", "1", "4Gi", 110, labelled("pool", "load")),
	}
	p := planOn(t, cpuSelection(1, 2000, 0), 1, map[string]string{"pool": "load"}, objs...)
	want := "fit: cpu pod (2000m cpu, 16Mi memory) fits on no node: largest free cpu 1000m on small; 0 of 1 pods fit in all"
	if c := check(t, p, CheckFit); c.OK || c.Message != want {
		t.Errorf("fit check:\n got %q\nwant %q", c.Message, want)
	}
}

func TestFitNoPods(t *testing.T) {
	sel := cpuSelection(1, 1, 100)
	sel.Modes = sel.Modes[1:] // api only
	p, err := Compute(sel, 2, DefaultLimits(), Capacity{PerNode: []NodeFree{}})
	if err != nil {
		t.Fatal(err)
	}
	if c := check(t, p, CheckFit); !c.OK || c.Message != "fit: the run creates no pods" || p.Blocked {
		t.Errorf("a run without pods needs no node: %+v", c)
	}
}

func TestRunPods(t *testing.T) {
	net := &modes.Mode{Name: "network", Job: modes.JobSpec{Iterations: "1"}, Objects: []modes.ObjectSpec{
		{Template: "pyrometer-net-server.yaml", Replicas: "1", Pods: "1", CPUMillis: "100", MemoryMi: "32"},
		{Template: "pyrometer-net-service.yaml", Replicas: "1", Pods: "0"},
		{Template: "pyrometer-net-client.yaml", Replicas: "replicas", Pods: "1", CPUMillis: "50", MemoryMi: "16"}}}
	sel := cpuSelection(2, 250, 10)
	sel.Modes = append(sel.Modes, net)
	sel.Settings["network"] = map[string]float64{"replicas": 3}
	got, err := RunPods(sel, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []PodShape{{Mode: "cpu", Count: 4, CPUMillis: 250, MemoryMi: 16},
		{Mode: "network", Part: "net-server", Count: 2, CPUMillis: 100, MemoryMi: 32},
		{Mode: "network", Part: "net-client", Count: 6, CPUMillis: 50, MemoryMi: 16}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pod shape %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := got[2].name(6); n != "network pods (net-client)" {
		t.Errorf("name: %q", n)
	}
}
