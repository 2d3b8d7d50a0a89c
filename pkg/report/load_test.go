package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func TestLoadTableAndChart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	doc := &result.Doc{RunID: "abcd1234",
		Phases: []result.Phase{{Name: "ramp-step-1", Type: result.PhaseTypeRamp, Start: t0, End: t0.Add(3 * time.Second), Status: result.StatusFail}},
		Loads: []result.LoadStep{{Phase: "ramp-step-1", Mode: "churn", Kind: "configmap", Rate: 20, Watchers: 1,
			Delivery:      churn.Delivery{Requested: 60, Issued: 60, Completed: 50, Succeeded: 40, Delivered: 40, RequestedRate: 20, DeliveredRate: 13.3, Ratio: 0.67, LiveMax: 40},
			Verdict:       churn.Verdict{Ratio: 0.67, Limit: churn.LimitServer, Reason: "write latency p99 1500 ms is above the 1s SLO"},
			Notifications: churn.Notifications{Watchers: 1, Add: churn.NotifyCounts{Expected: 40, Seen: 40}},
			Windows: []churn.Window{{Start: t0, Requested: 20, Succeeded: 20}, {Start: t0.Add(time.Second), Requested: 20, Succeeded: 12},
				{Start: t0.Add(2 * time.Second), Requested: 20, Succeeded: 8}}}}}
	var b bytes.Buffer
	if err := WriteLoadTable(&b, doc.Loads); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DELIVERED LOAD", "REQUESTED", "SUCCEEDED", "churn configmap", "0.67", "40/40",
		"load not delivered (0.67 of the requested writes delivered): the server was the limit: write latency p99 1500 ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	c, ok := loadChart(doc)
	// one requested and one succeeded dot per second
	if !ok || len(c.Points) != 6 || len(c.Rects) != 1 {
		t.Errorf("chart: ok=%v %d points %d bands", ok, len(c.Points), len(c.Rects))
	}
	var h bytes.Buffer
	if err := WriteHTML(&h, doc, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.String(), "<h3>Delivered load</h3>") || !strings.Contains(h.String(), "requested and succeeded writes per second") {
		t.Error("report.html lacks the delivered-load section and chart")
	}
	b.Reset()
	if err := WriteLoadMarkdown(&b, doc.Loads); err != nil || !strings.Contains(b.String(), "| ramp-step-1 | churn configmap |") {
		t.Errorf("markdown: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := WriteLoadTable(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("no loads, no table: %q", b.String())
	}
}
