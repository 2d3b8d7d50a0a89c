package cmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func TestValidateHollowNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*HollowFlags)
		want string
	}{
		{func(h *HollowFlags) { h.HollowNodes = -1 }, "invalid --hollow-nodes -1"},
		{func(h *HollowFlags) { h.HollowNodes = 1001 }, "invalid --hollow-nodes 1001: above --max-hollow-nodes 1000"},
		{func(h *HollowFlags) { h.HollowNodes, h.MaxHollowNodes = 20, 10 }, "invalid --hollow-nodes 20: above --max-hollow-nodes 10"},
		{func(h *HollowFlags) { h.MaxHollowNodes = 2000 }, "invalid --max-hollow-nodes 2000: must be between 1 and 1000"},
		{func(h *HollowFlags) { h.PodsPerNode = 0 }, "invalid --hollow-pods-per-node 0"},
	} {
		h := defaultHollowFlags()
		tc.mod(&h)
		err := h.validateHollow()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", h, err, tc.want)
		}
	}
}

// TestDensityOnIsAModeSetting: `on` is a choice parameter of mode density (plugins.yaml), set with --density-on or
// --set density.on=...: auto is hollow with --hollow-nodes, else real; hollow or any without --hollow-nodes is
// refused naming the flag; a value outside the choice is refused by the catalogue, naming the values.
func TestDensityOnIsAModeSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // placement, or the error
	}{
		{[]string{"--modes", "density"}, "real"},
		{[]string{"--modes", "density", "--hollow-nodes", "50"}, "hollow"},
		{[]string{"--modes", "density", "--hollow-nodes", "50", "--density-on", "real"}, "real"},
		{[]string{"--modes", "density", "--hollow-nodes", "50", "--set", "density.on=any"}, "any"},
		{[]string{"--modes", "density", "--density-on", "hollow"}, "invalid --density-on hollow: needs --hollow-nodes"},
		{[]string{"--modes", "density", "--set", "density.on=any"}, "invalid --density-on any: needs --hollow-nodes"},
	} {
		o, _ := completedRun(t, tc.args...)
		got := o.placements()["density"]
		if err := o.validateOn(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
	o, _ := completedRun(t, "--modes", "cpu")
	if pl := o.placements(); len(pl) != 0 {
		t.Errorf("a mode without an `on` parameter has no placement: %v", pl)
	}
	code, out, errOut := runAgainst(t, &fakeAPI{}, "run", "--modes", "density", "--hollow-nodes", "3", "--density-on", "somewhere")
	if code == 0 || out != "" || !strings.Contains(errOut, "--density-on") || !strings.Contains(errOut, "auto, hollow, real, any") ||
		strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("a value outside the choice: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestWritePodStartupLabelsHollowRows(t *testing.T) {
	doc := &result.Doc{Hollow: &result.Hollow{Nodes: 50, Controller: "ns/kwok", Taint: "t"}, PodStartup: &result.PodStartup{Phases: []result.PodStartupPhase{
		{Phase: "ramp-step-1", ControlPlaneOnly: true, SLO: "pass", ThroughputMean: 4.5, ThroughputMax: 9,
			Rows: []probe.Stats{{Kind: "pod-startup", Count: 200, P50: 800, P90: 1200, P99: 2000}, {Kind: "pod-schedule", Count: 200, P50: 10}}},
		{Phase: "ramp-step-2", SLO: "fail", Rows: []probe.Stats{{Kind: "pod-startup", Count: 200, P99: 7000}}},
	}}}
	var b bytes.Buffer
	if err := writePodStartup(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"HOLLOW NODES: 50", "POD STARTUP", "control-plane only", "4.50", "9.00", "fail"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "ramp-step-2") && strings.Contains(l, "control-plane only") {
			t.Errorf("a phase on real nodes is labelled control-plane only: %s", l)
		}
	}
}
