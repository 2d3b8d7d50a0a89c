package report

// The implementations before samples were streamed (whole []probe.Sample in memory), kept as the reference the
// streaming ones must match byte for byte (TestStreamingMatchesReference).

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

func refWriteSparklines(w io.Writer, samples []probe.Sample, phases []result.Phase, width int) error {
	if len(samples) == 0 || width < 2 {
		return nil
	}
	t0, t1 := samples[0].TS, samples[0].TS
	byKey := map[string][]probe.Sample{}
	for _, s := range samples {
		if s.TS.Before(t0) {
			t0 = s.TS
		}
		if s.TS.After(t1) {
			t1 = s.TS
		}
		k := string(s.Kind)
		if s.Source == probe.SourceCluster {
			k += "@cluster"
		}
		byKey[k] = append(byKey[k], s)
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Second
	}
	// No more columns than the busiest line has samples, so that a short run has no gaps between its samples.
	most := 0
	for _, ss := range byKey {
		most = max(most, len(ss))
	}
	width = max(min(width, most), 2)
	col := func(t time.Time) int {
		c := int(float64(t.Sub(t0)) / float64(span) * float64(width))
		return min(max(c, 0), width-1)
	}
	keys := make([]string, 0, len(byKey))
	nameW := len("phases")
	for k := range byKey {
		keys = append(keys, k)
		nameW = max(nameW, len(k))
	}
	sort.Slice(keys, func(i, j int) bool { return kindOrder(keys[i]) < kindOrder(keys[j]) })

	colDur := span / time.Duration(width)
	fmt.Fprintf(w, "LATENCY OVER TIME (%v: each column the slowest sample of %v, log scale; %c = a request failed)\n",
		span.Round(time.Second), roundDur(colDur), SparkErrorMark)
	for _, k := range keys {
		worst := make([]float64, width)
		failed := make([]bool, width)
		seen := make([]bool, width)
		for _, s := range byKey[k] {
			c := col(s.TS)
			seen[c] = true
			if s.Error != "" {
				failed[c] = true
			}
			worst[c] = math.Max(worst[c], s.LatencyMS)
		}
		lo, hi := math.Inf(1), 0.0
		for c := range width {
			if seen[c] && !failed[c] {
				lo, hi = math.Min(lo, worst[c]), math.Max(hi, worst[c])
			}
		}
		var b strings.Builder
		for c := range width {
			switch {
			case !seen[c]:
				b.WriteRune(' ')
			case failed[c]:
				b.WriteRune(SparkErrorMark)
			default:
				b.WriteRune(sparkLevels[sparkLevel(worst[c], lo, hi)])
			}
		}
		scale := "all failed"
		if hi > 0 {
			scale = fmt.Sprintf("%s .. %s ms", fmtMS(lo), fmtMS(hi))
		}
		fmt.Fprintf(w, "%-*s %s  %s\n", nameW, k, b.String(), scale)
	}
	if len(phases) > 0 {
		ruler := []rune(strings.Repeat(" ", width))
		var names []string
		for _, p := range phases {
			if p.Start.IsZero() || p.Start.After(t1) || (!p.End.IsZero() && p.End.Before(t0)) {
				continue
			}
			ruler[col(p.Start)] = '|'
			names = append(names, p.Name)
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "%-*s %s  | = start of %s\n", nameW, "phases", string(ruler), strings.Join(names, ", "))
		}
	}
	return nil
}

func refWriteHTML(w io.Writer, doc *result.Doc, samples []probe.Sample) error {
	v := htmlView{Doc: doc, Title: "kubectl pyrometer " + doc.CommandName() + " " + orDash(doc.RunID), NoSamples: len(samples) == 0}
	switch doc.Outcome.Result {
	case result.ResultPass, result.ResultMeasured:
		v.OutcomeClass = "pass"
	case "":
		v.OutcomeClass = "unknown"
	default:
		v.OutcomeClass = "fail"
	}
	v.KeyFacts = [][2]string{
		{"Run", orDash(doc.RunID)}, {"Server", orDash(doc.Server)},
		{"Start", timeString(doc.Start)}, {"End", timeString(doc.End)},
		{"Modes", orDash(strings.Join(doc.Modes, ", "))},
		{"Exit code", strconv.Itoa(doc.Outcome.ExitCode)},
	}
	for _, k := range refKindsOf(samples, doc.Stats) {
		var ks []probe.Sample
		for _, s := range samples {
			if string(s.Kind) == k {
				ks = append(ks, s)
			}
		}
		if len(ks) > 0 {
			c, note := refTimelineChart(k, ks, doc)
			v.Timeline = append(v.Timeline, htmlKindChart{Kind: k, Chart: c, Note: note})
		}
		var st []probe.Stats
		for _, s := range doc.Stats {
			if s.Kind == k && s.Count > 0 {
				st = append(st, s)
			}
		}
		if len(st) > 0 {
			v.Distribution = append(v.Distribution, htmlKindChart{Kind: k, Chart: distributionChart(k, st)})
		}
	}
	rows, flagged := statsRows(doc.Stats, true)
	v.Stats = htmlTable{Header: statsHeader(true), Rows: rows}
	if flagged {
		v.Stats.Note = LowCountFootnote
	}
	v.Verdicts = htmlTable{Header: verdictHeader(), Rows: verdictRows(doc.Verdicts)}
	if doc.Recovery != nil {
		v.Recovery = doc.Recovery.String()
	}
	v.Server = serverPhases(doc)
	fr := make([][]string, 0, len(doc.Failures))
	for _, f := range doc.Failures {
		fr = append(fr, []string{timeString(f.Time), orDash(f.Phase), f.Reason})
	}
	v.Failures = htmlTable{Header: []string{"TIME", "PHASE", "REASON"}, Rows: fr}
	v.Safety = indentJSON(doc.Safety)
	fp := doc.Fingerprint
	v.Fingerprint = [][2]string{
		{"Kubernetes version", orDash(fp.ServerVersion)},
		{"Nodes (ready / total)", fmt.Sprintf("%d / %d", fp.ReadyNodes, fp.Nodes)},
		{"Allocatable CPU", orDash(fp.AllocatableCPU)}, {"Allocatable memory", orDash(fp.AllocatableMem)},
	}
	if fp.Error != "" {
		v.Fingerprint = append(v.Fingerprint, [2]string{"Error", fp.Error})
	}
	if doc.Version != (version.Info{}) {
		v.Config = append(v.Config, [2]string{"plugin version", compactJSON(doc.Version)})
	}
	v.Config = append(v.Config, [2]string{"modes", orDash(strings.Join(doc.Modes, ", "))})
	for _, k := range sortedKeys(doc.Flags) {
		v.Config = append(v.Config, [2]string{"--" + k, doc.Flags[k]})
	}
	var setRows [][]string
	for _, m := range sortedKeys(doc.Settings) {
		for _, k := range sortedKeys(doc.Settings[m]) {
			setRows = append(setRows, []string{m, k, strconv.FormatFloat(doc.Settings[m][k], 'f', -1, 64)})
		}
	}
	v.Settings = htmlTable{Header: []string{"MODE", "SETTING", "VALUE"}, Rows: setRows}
	var phRows [][]string
	for _, p := range doc.Phases {
		phRows = append(phRows, []string{p.Name, p.Type, timeString(p.Start), p.Elapsed().Round(time.Millisecond).String(),
			p.Status, strconv.Itoa(p.RC), p.Error})
	}
	v.Phases = htmlTable{Header: []string{"PHASE", "TYPE", "START", "ELAPSED", "STATUS", "RC", "ERROR"}, Rows: phRows}
	if err := htmlTmpl.Execute(w, v); err != nil {
		return fmt.Errorf("failed to render report.html: %w", err)
	}
	return nil
}

func refKindsOf(samples []probe.Sample, stats []probe.Stats) []string {
	seen := map[string]bool{}
	for _, s := range samples {
		seen[string(s.Kind)] = true
	}
	for _, s := range stats {
		if s.Kind != "all" {
			seen[s.Kind] = true
		}
	}
	var out []string
	for _, k := range probe.KindNames() {
		if seen[k] {
			out = append(out, k)
			delete(seen, k)
		}
	}
	return append(out, sortedKeys(seen)...)
}

func refTimelineChart(kind string, samples []probe.Sample, doc *result.Doc) (svgChart, string) {
	c := svgChart{W: chartW, H: chartH, Label: "latency over time, " + kind}
	t0, t1 := samples[0].TS, samples[0].TS
	maxV, minV := 0.0, math.Inf(1)
	for _, s := range samples {
		if s.TS.Before(t0) {
			t0 = s.TS
		}
		if s.TS.After(t1) {
			t1 = s.TS
		}
		maxV = math.Max(maxV, s.LatencyMS)
		if s.LatencyMS > 0 {
			minV = math.Min(minV, s.LatencyMS)
		}
	}
	for _, p := range doc.Phases {
		if !p.Start.IsZero() && p.Start.Before(t0) {
			t0 = p.Start
		}
		if p.End.After(t1) {
			t1 = p.End
		}
	}
	if math.IsInf(minV, 1) {
		minV = 1
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	plotW := float64(chartW - padLeft - padRight)
	x := func(t time.Time) float64 { return padLeft + t.Sub(t0).Seconds()/span*plotW }
	ys := newLogScale(minV, math.Max(maxV, result.SLOThresholdMS(kind)))

	for i, p := range doc.Phases {
		if p.Start.IsZero() || p.End.IsZero() {
			continue
		}
		x0, x1 := x(p.Start), x(p.End)
		cls := "band"
		if i%2 == 1 {
			cls = "band alt"
		}
		c.Rects = append(c.Rects, svgRect{X: px(x0), Y: px(ys.top), W: px(math.Max(x1-x0, 0.5)), H: px(ys.bottm - ys.top),
			Class: cls, Title: p.Name + " (" + p.Status + ")"})
		c.Texts = append(c.Texts, svgText{X: px(x0 + 3), Y: px(padTop - 6 - float64(i%2)*12), Text: p.Name, Class: "phase"})
	}
	ys.grid(&c)
	sloLine(&c, ys, kind)
	// x ticks
	step := niceStep(span / maxXTicks)
	for s := 0.0; s <= span+1e-9; s += step {
		xx := padLeft + s/span*plotW
		c.Lines = append(c.Lines, svgLine{X1: px(xx), Y1: px(ys.bottm), X2: px(xx), Y2: px(ys.bottm + 4), Class: "axisline"})
		c.Texts = append(c.Texts, svgText{X: px(xx), Y: px(ys.bottm + 16), Anchor: "middle",
			Text: (time.Duration(s * float64(time.Second))).Round(time.Second).String(), Class: "axis"})
	}
	c.Texts = append(c.Texts, svgText{X: px(padLeft + plotW/2), Y: px(chartH - 6), Anchor: "middle",
		Text: "time since " + t0.UTC().Format(time.RFC3339), Class: "axis"})
	c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(ys.bottm), X2: px(chartW - padRight), Y2: px(ys.bottm), Class: "axisline"})

	// Points, deduplicated per pixel so that a long run stays a small file; errors drawn last, on top.
	seen := map[[3]int]bool{}
	var errs []svgPoint
	errCount := 0
	for _, s := range samples {
		xx, yy := x(s.TS), ys.y(s.LatencyMS)
		cls := "ok"
		if s.Source == probe.SourceCluster {
			cls = "okc"
		}
		if s.Error != "" {
			cls = "err"
			errCount++
		}
		key := [3]int{int(xx), int(yy), slices.Index([]string{"ok", "okc", "err"}, cls)}
		if seen[key] {
			continue
		}
		seen[key] = true
		p := svgPoint{X: px(xx), Y: px(yy), Class: cls}
		if cls == "err" {
			errs = append(errs, p)
		} else {
			c.Points = append(c.Points, p)
		}
	}
	c.Points = append(c.Points, errs...)
	note := fmt.Sprintf("%d samples, %d errors (red)", len(samples), errCount)
	return c, note
}
