package result

import (
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

func TestEngineRowsJudged(t *testing.T) {
	if SLOThresholdMS("churn:create") != 1000 || SLOThresholdMS("churn:delete") != 1000 || SLOThresholdMS("notify:add") != 2000 ||
		SLOThresholdMS("notify:update") != 2000 || SLOThresholdMS("all") != 0 {
		t.Error("thresholds: writes 1 s (mutating SLO), notifications 2 s")
	}
	stats := []probe.Stats{
		{Phase: "ramp-step-1", Kind: "churn:create", Count: 200, P50: 5, P99: 1200, Max: 1500},
		{Phase: "ramp-step-1", Kind: "notify:add", Count: 200, P50: 8, P99: 1500, Max: 1900},
	}
	v := Verdicts(stats, "baseline", DefaultSLOErrorRate)
	if v[0].Pass || !strings.Contains(v[0].Reason, "p99 1200") || !v[1].Pass || v[1].SLOThresholdMS != 2000 {
		t.Errorf("verdicts: %+v", v)
	}
}

func TestNotDelivered(t *testing.T) {
	loads := []LoadStep{
		{Phase: "ramp-step-1", Mode: "churn", Kind: "configmap", Verdict: churn.Verdict{Delivered: true, Ratio: 0.99}},
		{Phase: "ramp-step-2", Mode: "churn", Kind: "configmap", Verdict: churn.Verdict{Ratio: 0.5, Limit: churn.LimitServer, Reason: "it throttled 9 writes (429, 9 retries)"}},
		{Phase: "ramp-step-2", Mode: "api", Kind: "secret", Error: "failed to start"},
	}
	if got := NotDelivered(loads, "ramp-step-1"); got != "" {
		t.Errorf("a delivered step: %q", got)
	}
	got := NotDelivered(loads, "ramp-step-2")
	for _, want := range []string{"churn configmap: load not delivered (0.50 of the requested writes delivered): the server was the limit: it throttled 9 writes",
		"load not delivered: api secret: failed to start"} {
		if !strings.Contains(got, want) {
			t.Errorf("NotDelivered = %q, want it to contain %q", got, want)
		}
	}
}
