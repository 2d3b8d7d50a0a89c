package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func kneeDoc() *result.Doc {
	step := func(n int, phase string, rate, p99 float64, verdict, criterion string, count int) knee.Step {
		return knee.Step{N: n, Phase: phase, Rate: rate, RequestedRate: rate * 0.9, DeliveredRate: rate * 0.9,
			Verdict: knee.Verdict{Verdict: verdict, Criterion: criterion, DeliveredRatio: 1, Reasons: map[bool][]string{true: {"writes: p99 1500 ms > SLO 1000 ms"}}[verdict == knee.Fail],
				Kinds: []knee.KindStats{{Kind: "readyz", Count: 25, P50MS: 3, P99MS: 9}, {Kind: knee.Writes, Count: count, P50MS: p99 / 10, P99MS: p99, Throttled: 2}, {Kind: knee.Probe, Count: 150, Errors: 1}}}}
	}
	k := knee.Result{Status: knee.StatusFound, Start: 100, Max: 800, Precision: 0.25, Knee: 282, Sustainable: 226, FailedAt: 400,
		Criterion: knee.CriterionLatency, Reason: "writes: p99 1500 ms > SLO 1000 ms", Summary: "knee 282 writes/s (confirmed)",
		Baseline: knee.Verdict{Verdict: knee.Pass},
		Steps: []knee.Step{step(1, knee.PhaseExponential, 100, 20, knee.Pass, "", 500), step(2, knee.PhaseExponential, 200, 40, knee.Pass, "", 1000),
			step(3, knee.PhaseExponential, 400, 1500, knee.Fail, knee.CriterionLatency, 2000), step(4, knee.PhaseBisection, 282, 300, knee.Pass, "", 1400),
			step(5, knee.PhaseConfirm, 282, 350, knee.Pass, "", 1400)}}
	return &result.Doc{Command: result.CommandKnee, RunID: "abcd1234", Outcome: result.KneeOutcome(k),
		Knee: &result.Knee{Result: k, Mix: "churn", WritesPerObject: 3, StepSeconds: 5, Criteria: knee.Criteria{SLO: map[string]float64{"readyz": 1000, knee.Writes: 1000}}}}
}

func TestWriteKnee(t *testing.T) {
	var b bytes.Buffer
	if err := WriteKnee(&b, kneeDoc()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"knee:          282 writes/s (94 objects/s)", "sustainable:   226 writes/s", "failed above:  latency at 400 writes/s",
		"WRITES P50/P99", "READYZ P50/P99", "3.00/9.00*", "fail (latency)", "step 3 (400 writes/s): writes: p99 1500 ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("knee text lacks %q:\n%s", want, out)
		}
	}
	// writes before the probe kinds; errors and 429s summed over the writes and the pooled probe
	if strings.Index(out, "WRITES") > strings.Index(out, "READYZ") || !strings.Contains(out, "  1       2     ") {
		t.Errorf("column order or error/429 sums:\n%s", out)
	}
}

func TestKneeHTMLCurve(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, kneeDoc(), nil); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{"Knee: latency vs write rate", `aria-label="writes latency vs write rate"`, `aria-label="readyz latency vs write rate"`,
		"knee 282/s", "sustainable 226/s", "SLO p99 ≤ 1 s", "writes/s asked for", `class="err"`} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("report.html has a script")
	}
}
