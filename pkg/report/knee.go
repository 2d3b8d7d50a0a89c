package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// WriteKnee prints the answer of a knee search and its per-step table: rate requested (asked for, and as the
// schedule requested it) and delivered, p50/p99 per kind (the writes and every probe kind), errors, 429s, the
// cool-down and the verdict; then the reasons of the steps that did not pass, the findings and the notes.
func WriteKnee(w io.Writer, doc *result.Doc) error {
	k := doc.Knee
	if k == nil {
		return fmt.Errorf("run %s has no knee section", doc.RunID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "KNEE (%s mix, steps of %gs, %s to %s writes/s, precision %g%%)\n", k.Mix, k.StepSeconds,
		knee.FormatRate(k.Start), knee.FormatRate(k.Max), 100*k.Precision)
	fmt.Fprintf(&b, "%s\n", strings.ToUpper(k.Status[:1])+k.Status[1:]+": "+k.Summary)
	if k.Knee > 0 {
		fmt.Fprintf(&b, "  knee:          %s writes/s (%.3g objects/s)\n", knee.FormatRate(k.Knee), k.Knee/k.WritesPerObject)
		fmt.Fprintf(&b, "  sustainable:   %s writes/s (0.8 x knee)\n", knee.FormatRate(k.Sustainable))
	}
	if k.FailedAt > 0 {
		fmt.Fprintf(&b, "  failed above:  %s at %s writes/s: %s\n", k.Criterion, knee.FormatRate(k.FailedAt), k.Reason)
	}
	fmt.Fprintf(&b, "  baseline:      %s%s\n", k.Baseline.Verdict, suffixed(k.Baseline.Reason()))
	fmt.Fprintln(&b)
	kinds := kneeKinds(k.Steps)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	head := []string{"STEP", "SEARCH", "RATE/S", "REQUESTED/S", "DELIVERED/S"}
	for _, kd := range kinds {
		head = append(head, strings.ToUpper(kd)+" P50/P99")
	}
	head = append(head, "ERRORS", "429S", "COOL-DOWN", "VERDICT")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, st := range k.Steps {
		row := []string{fmt.Sprint(st.N), st.Phase, knee.FormatRate(st.Rate), fmt.Sprintf("%.1f", st.RequestedRate), fmt.Sprintf("%.1f (%.2f)", st.DeliveredRate, st.Verdict.DeliveredRatio)}
		errs, thr := 0, 0
		for _, kd := range kinds {
			row = append(row, kneeCell(st.Verdict.Kinds, kd))
		}
		for _, ks := range st.Verdict.Kinds {
			if ks.Kind == knee.Writes || ks.Kind == knee.Probe {
				errs += ks.Errors
				thr += ks.Throttled
			}
		}
		cd := "-"
		if st.Cooldown != nil {
			cd = fmt.Sprintf("%.0fs", st.Cooldown.Seconds)
			if !st.Cooldown.Recovered {
				cd += " (not recovered)"
			}
		}
		verdict := st.Verdict.Verdict
		if st.Verdict.Criterion != "" {
			verdict += " (" + st.Verdict.Criterion + ")"
		}
		row = append(row, fmt.Sprint(errs), fmt.Sprint(thr), cd, verdict)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("P50/P99 in ms; a p99 marked * is from fewer than 100 samples (the highest supported percentile was judged).\n")
	for _, st := range k.Steps {
		if st.Verdict.Verdict != knee.Pass {
			fmt.Fprintf(&b, "step %d (%s writes/s): %s\n", st.N, knee.FormatRate(st.Rate), st.Verdict.Reason())
		}
	}
	for _, f := range k.Findings {
		fmt.Fprintf(&b, "finding: %s\n", f)
	}
	for _, n := range doc.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func suffixed(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// kneeKinds are the rows of the steps, the writes first, without the pooled probe row.
func kneeKinds(steps []knee.Step) []string {
	var out []string
	for _, st := range steps {
		for _, ks := range st.Verdict.Kinds {
			if ks.Kind != knee.Probe && !slices.Contains(out, ks.Kind) {
				out = append(out, ks.Kind)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return kneeBool(b == knee.Writes) - kneeBool(a == knee.Writes) })
	return out
}

func kneeBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

func kneeCell(rows []knee.KindStats, kind string) string {
	for _, ks := range rows {
		if ks.Kind == kind {
			star := ""
			if ks.Count < knee.MinSamplesP99 {
				star = "*"
			}
			return fmt.Sprintf("%s/%s%s", result.FormatMS(ks.P50MS), result.FormatMS(ks.P99MS), star)
		}
	}
	return "-"
}

// kneeCharts are report.html's latency-vs-rate curves, one per kind: p50 (light) and p99 (dark) of every step
// against its rate (log ms), the kind's SLO as a dashed red line, the knee and the sustainable rate as vertical
// lines; steps that failed are red, inconclusive ones grey.
func kneeCharts(k *result.Knee) []htmlKindChart {
	kinds := kneeKinds(k.Steps)
	maxRate := 0.0
	for _, st := range k.Steps {
		maxRate = math.Max(maxRate, st.Rate)
	}
	if maxRate == 0 {
		return nil
	}
	x := func(r float64) float64 { return padLeft + r/(maxRate*1.05)*(chartW-padLeft-padRight) }
	var out []htmlKindChart
	for _, kd := range kinds {
		type pt struct {
			rate, p50, p99 float64
			verdict        string
		}
		var pts []pt
		lo, hi := math.Inf(1), 0.0
		for _, st := range k.Steps {
			for _, ks := range st.Verdict.Kinds {
				if ks.Kind == kd && ks.Count > 0 {
					pts = append(pts, pt{st.Rate, ks.P50MS, ks.P99MS, st.Verdict.Verdict})
					lo, hi = math.Min(lo, ks.P50MS), math.Max(hi, ks.P99MS)
				}
			}
		}
		if len(pts) == 0 {
			continue
		}
		slo := k.Criteria.SLO[kd]
		if slo > 0 {
			hi = math.Max(hi, slo)
		}
		slices.SortStableFunc(pts, func(a, b pt) int {
			switch {
			case a.rate < b.rate:
				return -1
			case a.rate > b.rate:
				return 1
			}
			return 0
		})
		c := svgChart{W: chartW, H: chartH, Label: kd + " latency vs write rate"}
		s := newLogScale(lo, hi)
		s.grid(&c)
		c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(s.bottm), X2: px(chartW - padRight), Y2: px(s.bottm), Class: "axisline"})
		for _, r := range niceTicks(maxRate * 1.05) {
			c.Texts = append(c.Texts, svgText{X: px(x(r)), Y: px(s.bottm + 16), Anchor: "middle", Text: knee.FormatRate(r), Class: "axis"})
		}
		c.Texts = append(c.Texts, svgText{X: px((padLeft + chartW - padRight) / 2), Y: px(chartH - 6), Anchor: "middle", Text: "writes/s asked for", Class: "axis"})
		if slo > 0 {
			y := s.y(slo)
			c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(y), X2: px(chartW - padRight), Y2: px(y), Class: "slo"})
			c.Texts = append(c.Texts, svgText{X: px(chartW - padRight - 4), Y: px(y + 12), Anchor: "end", Text: "SLO p99 ≤ " + msLabel(slo), Class: "slolabel"})
		}
		for _, m := range []struct {
			rate  float64
			label string
		}{{k.Knee, "knee " + knee.FormatRate(k.Knee) + "/s"}, {k.Sustainable, "sustainable " + knee.FormatRate(k.Sustainable) + "/s"}} {
			if m.rate <= 0 {
				continue
			}
			c.Lines = append(c.Lines, svgLine{X1: px(x(m.rate)), Y1: px(s.top), X2: px(x(m.rate)), Y2: px(s.bottm), Class: "slo"})
			c.Texts = append(c.Texts, svgText{X: px(x(m.rate) + 4), Y: px(s.top - 6), Text: m.label, Class: "slolabel"})
		}
		// one point per step (a rate measured twice, by the confirmation, has two); the line joins the medians
		for i, p := range pts {
			cls50, cls99 := "p50", "p99"
			switch p.verdict {
			case knee.Fail:
				cls50, cls99 = "err", "err"
			case knee.Inconclusive:
				cls50, cls99 = "pmax", "pmax"
			}
			c.Points = append(c.Points, svgPoint{X: px(x(p.rate)), Y: px(s.y(p.p50)), Class: cls50}, svgPoint{X: px(x(p.rate)), Y: px(s.y(p.p99)), Class: cls99})
			if i > 0 {
				q := pts[i-1]
				c.Lines = append(c.Lines, svgLine{X1: px(x(q.rate)), Y1: px(s.y(q.p99)), X2: px(x(p.rate)), Y2: px(s.y(p.p99)), Class: "axisline"})
			}
		}
		note := "p50 (light) and p99 (dark) of each step; red: the step failed; grey: inconclusive (the client was the limit)"
		out = append(out, htmlKindChart{Kind: kd, Chart: c, Note: note})
	}
	return out
}

// niceTicks are round rates from 0 to hi, at most maxXTicks+1 of them.
func niceTicks(hi float64) []float64 {
	step := niceStep(hi / maxXTicks)
	var out []float64
	for r := 0.0; r <= hi; r += step {
		out = append(out, r)
	}
	return out
}

// kneeText is the terminal's answer and step table, for report.html.
func kneeText(doc *result.Doc) string {
	var b strings.Builder
	_ = WriteKnee(&b, doc)
	return b.String()
}
