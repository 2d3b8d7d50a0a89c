package safety

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/golden"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

func assertGolden(t *testing.T, name string, got []byte) { t.Helper(); golden.Assert(t, name, got) }

// cpuSelection is a cpu-like mode: replicas pods per step, each requesting millicores and 16Mi, in one Deployment
// per replica; plus, with api > 0, api ConfigMaps per step and no pods.
func cpuSelection(replicas, millicores, api float64) *modes.Selection {
	cpu := &modes.Mode{Name: "cpu", Job: modes.JobSpec{Iterations: "1"}, Objects: []modes.ObjectSpec{
		{Template: "cpu.yaml", Replicas: "replicas", Pods: "1", CPUMillis: "millicores", MemoryMi: "16"}}}
	sel := &modes.Selection{Modes: []*modes.Mode{cpu}, Settings: map[string]map[string]float64{
		"cpu": {"replicas": replicas, "millicores": millicores}}}
	if api > 0 {
		sel.Modes = append(sel.Modes, &modes.Mode{Name: "api", Job: modes.JobSpec{Iterations: "iterations"},
			Objects: []modes.ObjectSpec{{Template: "cm.yaml", Replicas: "1", Pods: "0"}}})
		sel.Settings["api"] = map[string]float64{"iterations": api}
	}
	return sel
}

func check(t *testing.T, p Plan, name string) PlanCheck {
	t.Helper()
	for _, c := range p.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("plan has no check %q: %+v", name, p.Checks)
	return PlanCheck{}
}

func TestComputeTotals(t *testing.T) {
	p, err := Compute(cpuSelection(3, 100, 10), 4, DefaultLimits(), Capacity{Nodes: 1, CPUMillis: 5000, MemoryMi: 5000, Pods: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := modes.Cost{Namespaces: 1, Objects: 13, Pods: 3, CPUMillis: 300, MemoryMi: 48}
	if p.PerStep != want {
		t.Errorf("per step: got %+v, want %+v", p.PerStep, want)
	}
	// 4 cumulative steps, plus the probe's namespace
	wantTotal := modes.Cost{Namespaces: 5, Objects: 52, Pods: 12, CPUMillis: 1200, MemoryMi: 192}
	if p.Total != wantTotal {
		t.Errorf("total of 4 steps: got %+v, want %+v", p.Total, wantTotal)
	}
	if p.Blocked || len(p.Failed()) != 0 || p.Reason() != "" {
		t.Errorf("nothing exceeds: want not blocked, got %+v", p.Checks)
	}
	if len(p.Checks) != 6 {
		t.Errorf("want 6 checks, got %d", len(p.Checks))
	}
}

// TestComputeBoundaries puts each check exactly at its limit (OK) and one over (BLOCKED, naming the excess).
func TestComputeBoundaries(t *testing.T) {
	// 2 steps of 5 pods x 100m x 16Mi and 20 API objects: totals 10 pods, 1000m, 160Mi, 3 namespaces; 25 objects/step
	sel := cpuSelection(5, 100, 20)
	exact := Capacity{Nodes: 1, CPUMillis: 1000, MemoryMi: 160, Pods: 10, NodeSelector: "pool=load"}
	limits := Limits{MaxPods: 10, MaxNamespaces: 3, MaxObjectsPerStep: 25}
	p, err := Compute(sel, 2, limits, exact)
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked {
		t.Fatalf("every value equals its limit: must not be blocked; %s", p.Reason())
	}
	cases := []struct {
		name    string
		limits  Limits
		cap     Capacity
		message string
	}{
		{CheckPods, Limits{9, 3, 25, 0}, exact, "pods: the run creates 10 pods, 1 more than --max-pods 9"},
		{CheckNamespaces, Limits{10, 2, 25, 0}, exact, "namespaces: the run creates 3 namespaces (one per step and the probe's), 1 more than --max-namespaces 2"},
		{CheckObjectsPerStep, Limits{10, 3, 24, 0}, exact, "objects-per-step: each step creates 25 objects, 1 more than --max-objects-per-step 24"},
		{CheckCPU, limits, Capacity{Nodes: 1, CPUMillis: 999, MemoryMi: 160, Pods: 10, NodeSelector: "pool=load"},
			"cpu: the run requests 1000m, 1m more than the 999m free on 1 schedulable node (pool=load)"},
		{CheckMemory, limits, Capacity{Nodes: 2, CPUMillis: 1000, MemoryMi: 159, Pods: 10},
			"memory: the run requests 160Mi, 1Mi more than the 159Mi free on 2 schedulable nodes"},
		{CheckPodSlots, limits, Capacity{Nodes: 1, CPUMillis: 1000, MemoryMi: 160, Pods: 9, NodeSelector: "pool=load"},
			"pod-slots: the run creates 10 pods, 1 more than the 9 free pod slots on 1 schedulable node (pool=load)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compute(sel, 2, tc.limits, tc.cap)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Blocked {
				t.Fatalf("%s one over its limit must block", tc.name)
			}
			if f := p.Failed(); len(f) != 1 || f[0].Name != tc.name {
				t.Fatalf("want only %s to fail, got %+v", tc.name, f)
			}
			if got := check(t, p, tc.name).Message; got != tc.message {
				t.Errorf("message:\n got %q\nwant %q", got, tc.message)
			}
			if p.Reason() != tc.message {
				t.Errorf("reason: got %q, want %q", p.Reason(), tc.message)
			}
		})
	}
}

func TestComputeReasonNamesEveryBlockingCheck(t *testing.T) {
	// the seed's scenario: 50 one-core pods on a 2-core node
	p, err := Compute(cpuSelection(50, 1000, 0), 1, DefaultLimits(),
		Capacity{Nodes: 1, CPUMillis: 1500, MemoryMi: 600, Pods: 100, NodeSelector: "kubepyrometer.io/real-node=true"})
	if err != nil {
		t.Fatal(err)
	}
	want := "cpu: the run requests 50000m, 48500m more than the 1500m free on 1 schedulable node (kubepyrometer.io/real-node=true); " +
		"memory: the run requests 800Mi, 200Mi more than the 600Mi free on 1 schedulable node (kubepyrometer.io/real-node=true)"
	if p.Reason() != want {
		t.Errorf("reason:\n got %q\nwant %q", p.Reason(), want)
	}
	if p.Verdict() != "VERDICT: BLOCKED by cpu, memory" {
		t.Errorf("verdict: got %q", p.Verdict())
	}
	c := check(t, p, CheckCPU)
	if c.Value != 50000 || c.Limit != 1500 || c.Unit != "m" || c.OK {
		t.Errorf("cpu check fields: %+v", c)
	}
}

func TestComputeAPIOnlyFitsWithoutNodes(t *testing.T) {
	sel := cpuSelection(1, 1, 100)
	sel.Modes = sel.Modes[1:] // api only: no pods, no requests
	p, err := Compute(sel, 3, DefaultLimits(), Capacity{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked {
		t.Errorf("a run without pods needs no node capacity: %s", p.Reason())
	}
}

func TestComputeRejects(t *testing.T) {
	cases := []struct {
		name   string
		sel    *modes.Selection
		steps  int
		limits Limits
		want   string
	}{
		{"no selection", nil, 1, DefaultLimits(), "no stress modes selected"},
		{"zero steps", cpuSelection(1, 1, 0), 0, DefaultLimits(), "steps must be at least 1"},
		{"zero max pods", cpuSelection(1, 1, 0), 1, Limits{0, 1, 1, 0}, "invalid --max-pods 0: must be at least 1"},
		{"negative max namespaces", cpuSelection(1, 1, 0), 1, Limits{1, -1, 1, 0}, "invalid --max-namespaces -1"},
		{"zero max objects", cpuSelection(1, 1, 0), 1, Limits{1, 1, 0, 0}, "invalid --max-objects-per-step 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compute(tc.sel, tc.steps, tc.limits, Capacity{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	excluded := []string{"kwok-node-0: does not match --node-selector"}
	for i := 1; i <= 11; i++ {
		excluded = append(excluded, "n"+strings.Repeat("x", i)+": not Ready")
	}
	cases := []struct {
		golden string
		sel    *modes.Selection
		cap    Capacity
	}{
		{"plan-allowed.golden", cpuSelection(1, 50, 50), Capacity{Nodes: 1, CPUMillis: 1450, MemoryMi: 3000, Pods: 104,
			NodeSelector: "kubepyrometer.io/real-node=true", Excluded: excluded[:1]}},
		{"plan-blocked.golden", cpuSelection(50, 1000, 0), Capacity{Nodes: 1, CPUMillis: 1450, MemoryMi: 3000, Pods: 104,
			NodeSelector: "kubepyrometer.io/real-node=true", Excluded: excluded}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			p, err := Compute(tc.sel, 2, DefaultLimits(), tc.cap)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := p.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			b.WriteString("\n")
			if err := WritePermissions(&b, []authz.Access{
				{Verb: "create", Resource: "namespaces", Reason: "namespaces"},
				{Verb: "delete", Resource: "namespaces", Reason: "namespaces"},
				{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "pyrometer-x-step-1"},
				{Verb: "get", Path: "/metrics", Optional: true, Reason: "server-side latency"},
			}); err != nil {
				t.Fatal(err)
			}
			assertGolden(t, tc.golden, b.Bytes())
		})
	}
}

func TestWritePermissionsAllGranted(t *testing.T) {
	var b bytes.Buffer
	if err := WritePermissions(&b, nil); err != nil {
		t.Fatal(err)
	}
	want := "PERMISSIONS (SelfSubjectAccessReview)\nOK       every permission the run needs is granted\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
