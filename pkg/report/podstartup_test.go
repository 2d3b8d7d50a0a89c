package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// TestHTMLPodStartup: a run with pod startup figures and hollow nodes has a "Pod startup" section after the verdicts
// (linked from the navigation) with the table of the text output: SLO and throughput on the pod-startup row,
// "control-plane only" on hollow nodes; a run without has none.
func TestHTMLPodStartup(t *testing.T) {
	doc, samples := syntheticRun()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, doc, samples); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Pod startup") {
		t.Error("a run without pod startup figures has a pod startup section")
	}
	doc.Hollow = &result.Hollow{Nodes: 50, Controller: "pyrometer-x/pyrometer-kwok-x", Taint: "kubepyrometer.io/hollow=x:NoSchedule",
		Traffic: &result.HollowTraffic{Phases: []result.HollowTrafficPhase{{Phase: "baseline", Seconds: 20, LeaseRenewals: 100, NodeUpdates: 7, WritesPerSecond: 5.35, ServerLeaseWrites: 102}},
			FlowSchemas: []result.FlowSchemaMatch{{Request: "lease renewal", FlowSchema: "service-accounts", PriorityLevel: "workload-low"}}}}
	doc.PodStartup = &result.PodStartup{Phases: []result.PodStartupPhase{{Phase: "ramp-step-1", ControlPlaneOnly: true, SLO: "pass",
		ThroughputMean: 14.5, ThroughputMax: 22, Rows: []probe.Stats{
			{Phase: "ramp-step-1", Kind: "pod-startup", Count: 200, P50: 31, P90: 52, P99: 64.4},
			{Phase: "ramp-step-1", Kind: "pod-schedule", Count: 200, P50: 5, P90: 9, P99: 12}}}}}
	buf.Reset()
	if err := WriteHTML(&buf, doc, samples); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	verdicts, section, recovery := strings.Index(out, `<h2 id="s4">Verdicts`), strings.Index(out, `<h2 id="pod-startup">Pod startup</h2>`), strings.Index(out, `<h2 id="s5">`)
	if section < 0 || section < verdicts || section > recovery {
		t.Fatalf("pod startup section at %d, verdicts at %d, recovery at %d", section, verdicts, recovery)
	}
	for _, want := range []string{`<a href="#pod-startup">Pod startup</a>`, "HOLLOW NODES: 50 (kwok pyrometer-x/pyrometer-kwok-x",
		"<td>ramp-step-1</td><td>pod-startup</td><td>200</td><td>31</td><td>52</td><td>64</td><td>pass</td><td>14.50</td><td>22.00</td><td>control-plane only",
		"<td>pod-schedule</td><td>200</td><td>5</td><td>9</td><td>12</td><td></td>", "SLO p99 ≤ 5 s",
		"<h3>kwok's own traffic</h3>", "<td>baseline</td><td>20</td><td>100</td><td>7</td><td>5.35</td><td>102</td>",
		"kwok&#39;s lease renewal requests: FlowSchema service-accounts, priority level workload-low (no FlowSchema of its own)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
