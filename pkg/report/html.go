package report

import (
	"encoding/json"
	"fmt"
	"html/template"
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

// HTML chart geometry.
const (
	chartW     = 960
	chartH     = 280
	padLeft    = 64
	padRight   = 16
	padTop     = 34
	padBottom  = 40
	maxXTicks  = 8
	minLatency = 0.1 // ms: the floor of the log scale
)

// HTMLSections are the headings report.html always has, in order (tests check them).
var HTMLSections = []string{
	"Outcome", "Latency over time", "Latency distribution", "Client-side statistics", "Verdicts", "Recovery",
	"Server-side latency", "Failures", "Safety plan", "Cluster fingerprint", "Configuration",
}

type svgText struct {
	X, Y   string
	Anchor string
	Text   string
	Class  string
}

type svgRect struct {
	X, Y, W, H string
	Class      string
	Title      string
}

type svgLine struct {
	X1, Y1, X2, Y2 string
	Class          string
}

type svgPoint struct {
	X, Y  string
	Class string
}

type svgChart struct {
	W, H   int
	Label  string // aria-label
	Rects  []svgRect
	Lines  []svgLine
	Points []svgPoint
	Texts  []svgText
}

type htmlTable struct {
	Header []string
	Rows   [][]string
	Note   string
}

type htmlKindChart struct {
	Kind  string
	Chart svgChart
	Note  string
}

type htmlServerPhase struct {
	Phase string
	Table htmlTable
}

type htmlView struct {
	Doc          *result.Doc
	Title        string
	Generated    string
	OutcomeClass string
	KeyFacts     [][2]string
	Timeline     []htmlKindChart
	Distribution []htmlKindChart
	Stats        htmlTable
	Verdicts     htmlTable
	Recovery     string
	Server       []htmlServerPhase
	Failures     htmlTable
	Safety       string
	Fingerprint  [][2]string
	Config       [][2]string
	Settings     htmlTable
	Phases       htmlTable
	NoSamples    bool
	// Load and LoadChart: the native engines' delivered load (load.go); HasLoad when the run had any.
	Load      htmlTable
	LoadChart svgChart
	HasLoad   bool
	// PodStartup and Hollow: the pod startup section (podstartup.go), shown when the run has pod startup figures or
	// hollow nodes.
	PodStartup htmlTable
	Hollow     string
	// Kwok and KwokNotes: kwok's own traffic with hollow nodes (podstartup.go).
	Kwok      htmlTable
	KwokNotes []string
	// KneeText and Knee: `kubectl pyrometer knee`'s answer and step table, and its latency-vs-rate curves (knee.go).
	KneeText string
	Knee     []htmlKindChart
}

// WriteHTML writes report.html: one self-contained page (inline CSS and SVG, no scripts, no external
// references) with latency over time and per-phase distributions per probe kind, and the tables of run.json.
// doc is the run document; samples are the probe's samples (probe.jsonl), possibly none.
// Latency axes are logarithmic (base 10): latencies span from sub-millisecond reads to 30 s list timeouts,
// and the SLO lines (1 s, 30 s) stay readable next to a 5 ms baseline.
func WriteHTML(w io.Writer, doc *result.Doc, samples []probe.Sample) error {
	return WriteHTMLFrom(w, doc, result.SampleSlice(samples))
}

// WriteHTMLFrom is WriteHTML streaming the samples from src (nil: none): two passes, memory per kind and chart
// pixel, not per sample. Nothing is written when src fails.
func WriteHTMLFrom(w io.Writer, doc *result.Doc, src result.SampleSource) error {
	if src == nil {
		src = result.SampleSlice(nil)
	}
	timelines, err := timelineCharts(src, doc)
	if err != nil {
		return err
	}
	v := htmlView{Doc: doc, Title: "kubectl pyrometer " + doc.CommandName() + " " + orDash(doc.RunID), NoSamples: len(timelines) == 0}
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
	for _, k := range kindsOf(timelines, doc.Stats) {
		if tl := timelines[k]; tl != nil {
			v.Timeline = append(v.Timeline, htmlKindChart{Kind: k, Chart: tl.chart, Note: tl.note()})
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
	if len(doc.Loads) > 0 { // modes churn, api (load.go)
		v.Load = htmlTable{Header: loadHeader(), Rows: loadRows(doc.Loads)}
		v.LoadChart, _ = loadChart(doc)
		v.HasLoad = true
	}
	v.PodStartup, v.Hollow = htmlTable{Header: PodStartupHeader(), Rows: PodStartupRows(doc.PodStartup)}, HollowLine(doc.Hollow) // podstartup.go
	v.Kwok, v.KwokNotes = htmlTable{Header: KwokTrafficHeader(), Rows: KwokTrafficRows(doc.Hollow)}, KwokTrafficNotes(doc.Hollow)
	if doc.Knee != nil { // kubectl pyrometer knee (knee.go)
		v.KneeText, v.Knee = kneeText(doc), kneeCharts(doc.Knee)
	}
	if err := htmlTmpl.Execute(w, v); err != nil {
		return fmt.Errorf("failed to render report.html: %w", err)
	}
	return nil
}

func serverPhases(doc *result.Doc) []htmlServerPhase {
	var names []string
	for _, p := range doc.Phases {
		_, ok := doc.ServerSide[p.Name]
		if ok || doc.ServerSideNotes[p.Name] != "" {
			names = append(names, p.Name)
		}
	}
	for _, k := range append(sortedKeys(doc.ServerSide), sortedKeys(doc.ServerSideNotes)...) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	var out []htmlServerPhase
	for _, n := range names {
		stats := doc.ServerSide[n]
		if why := doc.ServerSideNotes[n]; why != "" {
			out = append(out, htmlServerPhase{Phase: n, Table: htmlTable{Note: "no server-side rows: " + why}})
			continue
		}
		if len(stats) == 0 {
			continue
		}
		header, rows, note := serverTable(stats)
		out = append(out, htmlServerPhase{Phase: n, Table: htmlTable{Header: header, Rows: rows, Note: note}})
	}
	return out
}

// kindsOf lists the probe kinds present, in probe.KindNames order, then any others sorted.
func kindsOf(timelines map[string]*timeline, stats []probe.Stats) []string {
	seen := map[string]bool{}
	for k := range timelines {
		seen[k] = true
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// logScale maps latencies (ms) to y pixels on a log10 axis from lo to hi (powers of ten).
type logScale struct {
	lo, hi     float64
	top, bottm float64
}

func newLogScale(minV, maxV float64) logScale {
	minV = math.Max(minV, minLatency)
	maxV = math.Max(maxV, minV*10)
	return logScale{
		lo:  math.Pow(10, math.Floor(math.Log10(minV))),
		hi:  math.Pow(10, math.Ceil(math.Log10(maxV))),
		top: padTop, bottm: chartH - padBottom,
	}
}

func (s logScale) y(v float64) float64 {
	v = math.Min(math.Max(v, s.lo), s.hi)
	f := (math.Log10(v) - math.Log10(s.lo)) / (math.Log10(s.hi) - math.Log10(s.lo))
	return s.bottm - f*(s.bottm-s.top)
}

// grid draws a horizontal line and label per power of ten.
func (s logScale) grid(c *svgChart) {
	for v := s.lo; v <= s.hi*1.0001; v *= 10 {
		y := px(s.y(v))
		c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: y, X2: px(chartW - padRight), Y2: y, Class: "grid"})
		c.Texts = append(c.Texts, svgText{X: px(padLeft - 6), Y: px(s.y(v) + 4), Anchor: "end", Text: msLabel(v), Class: "axis"})
	}
	c.Texts = append(c.Texts, svgText{X: "14", Y: px((s.top + s.bottm) / 2), Anchor: "middle",
		Text: "ms (log)", Class: "axis vlabel"})
}

func msLabel(v float64) string {
	switch {
	case v >= 1000:
		return trimFloat(v/1000) + " s"
	default:
		return trimFloat(v) + " ms"
	}
}

func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// sloLine draws the kind's SLO threshold, if any.
func sloLine(c *svgChart, s logScale, kind string) {
	slo := result.SLOThresholdMS(kind)
	if slo <= 0 {
		return
	}
	y := s.y(slo)
	c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(y), X2: px(chartW - padRight), Y2: px(y), Class: "slo"})
	// below the line: above it sit the phase names
	c.Texts = append(c.Texts, svgText{X: px(chartW - padRight - 4), Y: px(y + 12), Anchor: "end",
		Text: "SLO p99 ≤ " + msLabel(slo), Class: "slolabel"})
}

// timeline is one kind's latency-over-time chart, built in two passes over the samples: scan (time span and
// latency range), then start and point per sample, then finish.
type timeline struct {
	kind        string
	t0, t1      time.Time
	minV, maxV  float64
	count, errs int
	chart       svgChart
	x           func(time.Time) float64
	ys          logScale
	seen        map[[3]int]bool
	errPoints   []svgPoint
}

// timelineCharts draws a timeline per kind of the samples of src (keyed by kind).
func timelineCharts(src result.SampleSource, doc *result.Doc) (map[string]*timeline, error) {
	tls := map[string]*timeline{}
	err := src.Each(func(s probe.Sample) error {
		tl := tls[string(s.Kind)]
		if tl == nil {
			tl = &timeline{kind: string(s.Kind), t0: s.TS, t1: s.TS, minV: math.Inf(1)}
			tls[string(s.Kind)] = tl
		}
		tl.scan(s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, tl := range tls {
		tl.start(doc)
	}
	err = src.Each(func(s probe.Sample) error {
		if tl := tls[string(s.Kind)]; tl != nil && tl.x != nil {
			tl.point(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, tl := range tls {
		tl.chart.Points = append(tl.chart.Points, tl.errPoints...)
	}
	return tls, nil
}

func (tl *timeline) scan(s probe.Sample) {
	if s.TS.Before(tl.t0) {
		tl.t0 = s.TS
	}
	if s.TS.After(tl.t1) {
		tl.t1 = s.TS
	}
	tl.maxV = math.Max(tl.maxV, s.LatencyMS)
	if s.LatencyMS > 0 {
		tl.minV = math.Min(tl.minV, s.LatencyMS)
	}
}

// start draws phases as shaded bands, axes and the SLO line.
func (tl *timeline) start(doc *result.Doc) {
	kind := tl.kind
	c := svgChart{W: chartW, H: chartH, Label: "latency over time, " + kind}
	t0, t1, minV, maxV := tl.t0, tl.t1, tl.minV, tl.maxV
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
	tl.chart, tl.x, tl.ys, tl.seen = c, x, ys, map[[3]int]bool{}
}

// point draws one sample: successes as dots, errors red (drawn last, on top), deduplicated per pixel so that a
// long run stays a small file.
func (tl *timeline) point(s probe.Sample) {
	xx, yy := tl.x(s.TS), tl.ys.y(s.LatencyMS)
	tl.count++
	cls := "ok"
	if s.Source == probe.SourceCluster {
		cls = "okc"
	}
	if s.Error != "" {
		cls = "err"
		tl.errs++
	}
	key := [3]int{int(xx), int(yy), slices.Index([]string{"ok", "okc", "err"}, cls)}
	if tl.seen[key] {
		return
	}
	tl.seen[key] = true
	p := svgPoint{X: px(xx), Y: px(yy), Class: cls}
	if cls == "err" {
		tl.errPoints = append(tl.errPoints, p)
	} else {
		tl.chart.Points = append(tl.chart.Points, p)
	}
}

func (tl *timeline) note() string {
	return fmt.Sprintf("%d samples, %d errors (red)", tl.count, tl.errs)
}

// niceStep rounds a step in seconds up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// distributionChart draws p50, p90, p99 and max bars per phase for one kind, with the SLO line.
func distributionChart(kind string, stats []probe.Stats) svgChart {
	c := svgChart{W: chartW, H: chartH, Label: "latency distribution per phase, " + kind}
	minV, maxV := math.Inf(1), 0.0
	for _, s := range stats {
		maxV = math.Max(maxV, s.Max)
		if s.Min > 0 {
			minV = math.Min(minV, s.Min)
		}
		if s.P50 > 0 {
			minV = math.Min(minV, s.P50)
		}
	}
	if math.IsInf(minV, 1) {
		minV = 1
	}
	ys := newLogScale(minV, math.Max(maxV, result.SLOThresholdMS(kind)))
	ys.grid(&c)
	plotW := float64(chartW - padLeft - padRight)
	slot := plotW / float64(len(stats))
	bars := []struct {
		name string
		cls  string
		val  func(probe.Stats) float64
	}{
		{"p50", "p50", func(s probe.Stats) float64 { return s.P50 }},
		{"p90", "p90", func(s probe.Stats) float64 { return s.P90 }},
		{"p99", "p99", func(s probe.Stats) float64 { return s.P99 }},
		{"max", "pmax", func(s probe.Stats) float64 { return s.Max }},
	}
	bw := math.Min(slot*0.8/float64(len(bars)), 28)
	for i, s := range stats {
		x0 := padLeft + float64(i)*slot + (slot-bw*float64(len(bars)))/2
		for j, b := range bars {
			v := b.val(s)
			y := ys.y(v)
			title := fmt.Sprintf("%s %s %s: %s ms", kind, s.Phase, b.name, result.FormatMS(v))
			if slices.Contains(s.LowCount, b.name) {
				title += " (too few samples for this percentile)"
			}
			c.Rects = append(c.Rects, svgRect{X: px(x0 + float64(j)*bw), Y: px(y), W: px(bw - 1), H: px(ys.bottm - y),
				Class: b.cls, Title: title})
		}
		label := s.Phase
		if s.Errors > 0 {
			label += fmt.Sprintf(" (%d err)", s.Errors)
		}
		c.Texts = append(c.Texts, svgText{X: px(padLeft + (float64(i)+0.5)*slot), Y: px(ys.bottm + 14), Anchor: "middle",
			Text: label, Class: "axis"})
	}
	c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(ys.bottm), X2: px(chartW - padRight), Y2: px(ys.bottm), Class: "axisline"})
	sloLine(&c, ys, kind)
	for j, b := range bars {
		lx := float64(padLeft + 8 + j*70)
		c.Rects = append(c.Rects, svgRect{X: px(lx), Y: "8", W: "10", H: "10", Class: b.cls, Title: b.name})
		c.Texts = append(c.Texts, svgText{X: px(lx + 14), Y: "17", Text: b.name, Class: "axis"})
	}
	return c
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

func compactJSON(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

var htmlTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1f2328;padding:0 12px}
h1{font-size:1.5em;margin-bottom:4px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:32px}h3{font-size:1em;margin:16px 0 4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}
.note{color:#57606a;font-size:12px}.muted{color:#57606a}
.outcome{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:bold;color:#fff}
.outcome.pass{background:#1a7f37}.outcome.fail{background:#cf222e}.outcome.unknown{background:#6e7781}
nav a{margin-right:10px;font-size:13px}
svg{display:block;max-width:100%;height:auto;background:#fff}
svg text{font-size:11px;fill:#1f2328}svg .axis{fill:#57606a}svg .phase{font-size:10px;fill:#24292f}
svg .vlabel{writing-mode:vertical-rl}
svg .band{fill:#eaeef2;fill-opacity:.55}svg .band.alt{fill:#ddf4ff;fill-opacity:.55}
svg .grid{stroke:#d0d7de;stroke-width:.5}svg .axisline{stroke:#57606a;stroke-width:1}
svg .slo{stroke:#cf222e;stroke-width:1.2;stroke-dasharray:6 4}svg .slolabel{fill:#cf222e;font-weight:bold}
svg .ok{fill:#0969da;fill-opacity:.55}svg .okc{fill:#8250df;fill-opacity:.55}svg .err{fill:#cf222e}
svg .p50{fill:#54aeff}svg .p90{fill:#0969da}svg .p99{fill:#0a3069}svg .pmax{fill:#8c959f}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="muted">kubectl pyrometer report: API server latency under load. Everything on this page is from this run directory's run.json and probe.jsonl.</p>
<nav>{{range $i, $s := .Sections}}<a href="#s{{$i}}">{{$s}}</a>{{end}}{{if or .PodStartup.Rows .Hollow}}<a href="#pod-startup">Pod startup</a>{{end}}</nav>

<h2 id="s0">Outcome</h2>
<p><span class="outcome {{.OutcomeClass}}">{{if .Doc.Outcome.Result}}{{.Doc.Outcome.Result}}{{else}}unknown{{end}}</span></p>
{{with .Doc.Outcome.Reasons}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{template "kv" .KeyFacts}}
{{template "table" .Phases}}{{if .HasLoad}}
<h3>Delivered load</h3>
<p class="note">Writes of the churn/api engines per second: grey dots requested (due by the schedule), blue dots succeeded; shaded bands are the ramp steps. A step that got less than 0.95 of the writes it requested is "load not delivered" and never passes; the table names the limit (client or server). Notification latency over time is in the notify:* charts below.</p>
{{if .LoadChart.W}}{{template "svg" .LoadChart}}{{end}}{{template "table" .Load}}{{end}}{{if .KneeText}}
<h3>Knee: latency vs write rate</h3>
<pre>{{.KneeText}}</pre>
{{range .Knee}}<h4>{{.Kind}}</h4>{{template "svg" .Chart}}<p class="note">{{.Note}}</p>{{end}}{{end}}
{{with .Doc.Notes}}<h3>Notes</h3><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}

<h2 id="s1">Latency over time</h2>
<p class="note">Client-side latency of every probe request, per kind. Y axis logarithmic (ms); shaded bands are the phases; blue dots are successful local-probe requests, purple ones in-cluster-probe requests, red dots errors (timeouts count at their elapsed time); the dashed red line is the kind's p99 SLO.</p>
{{if .NoSamples}}<p class="muted">No samples (probe.jsonl missing or empty).</p>{{end}}
{{range .Timeline}}<h3>{{.Kind}}</h3>{{template "svg" .Chart}}<p class="note">{{.Note}}</p>{{end}}

<h2 id="s2">Latency distribution</h2>
<p class="note">p50, p90, p99 and max per phase (phases ending in @cluster come from the in-cluster probe). Y axis logarithmic (ms); the dashed red line is the p99 SLO (1 s for single-object and mutating calls, 30 s for lists).</p>
{{if not .Distribution}}<p class="muted">No statistics.</p>{{end}}
{{range .Distribution}}<h3>{{.Kind}}</h3>{{template "svg" .Chart}}{{end}}

<h2 id="s3">Client-side statistics</h2>
<p class="note">Latencies in ms, percentiles by nearest rank; failed requests count at their elapsed time.</p>
{{template "table" .Stats}}

<h2 id="s4">Verdicts</h2>
{{template "table" .Verdicts}}

{{if or .PodStartup.Rows .Hollow}}<h2 id="pod-startup">Pod startup</h2>
{{with .Hollow}}<p>{{.}}</p>{{end}}
{{if .Kwok.Rows}}<h3>kwok's own traffic</h3>
<p class="note">kwok's writes for the hollow nodes per phase: MODIFIED events of the run's Leases (renewals; only kwok renews them) and Nodes (kwok's status heartbeats) seen by watches of the plugin, per whole second; not the apiserver's own account, which has no per-client figure (SERVER LEASE PUTS is its count of lease writes from every client). kwok's pod status writes and reads are not counted.</p>
{{template "table" .Kwok}}{{end}}{{with .KwokNotes}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="note">Per step, the run's stress pods followed by an informer (client receive times): pod-startup is the SLI (creation to all containers started, observed via watch; SLO p99 ≤ 5 s, judged with mode density only), pod-schedule creation to bound, pod-run bound to started, pod-startup-server creationTimestamp to startedAt (whole seconds, as kube-burner reports it). SCHED/S: pods bound per second over the step, mean and busiest second. "control-plane only": the pods ran on hollow nodes (no kubelet, no image pull, no sandbox). Latencies in ms.</p>
{{template "table" .PodStartup}}{{end}}

<h2 id="s5">Recovery</h2>
<p>{{if .Recovery}}{{.Recovery}}{{else}}<span class="muted">Not measured (no recovery phase, or the run was interrupted).</span>{{end}}</p>

<h2 id="s6">Server-side latency</h2>
{{if not .Server}}<p class="muted">Not collected.</p>{{end}}
{{range .Server}}<h3>{{.Phase}}</h3>{{template "table" .Table}}{{end}}

<h2 id="s7">Failures</h2>
{{if .Failures.Rows}}{{template "table" .Failures}}{{else}}<p class="muted">None.</p>{{end}}

<h2 id="s8">Safety plan</h2>
{{if .Safety}}<pre>{{.Safety}}</pre>{{else}}<p class="muted">Not recorded.</p>{{end}}

<h2 id="s9">Cluster fingerprint</h2>
{{template "kv" .Fingerprint}}

<h2 id="s10">Configuration</h2>
{{template "kv" .Config}}
{{if .Settings.Rows}}<h3>Mode settings</h3>{{template "table" .Settings}}{{end}}
</body>
</html>
{{define "kv"}}<table>{{range .}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>{{end}}
{{define "table"}}{{if .Rows}}<table><thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead><tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>{{else}}<p class="muted">None.</p>{{end}}{{with .Note}}<p class="note">{{.}}</p>{{end}}{{end}}
{{define "svg"}}<svg viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Label}}">
{{range .Rects}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" class="{{.Class}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Lines}}<line x1="{{.X1}}" y1="{{.Y1}}" x2="{{.X2}}" y2="{{.Y2}}" class="{{.Class}}"/>
{{end}}{{range .Points}}<circle cx="{{.X}}" cy="{{.Y}}" r="{{if eq .Class "err"}}2.6{{else}}1.8{{end}}" class="{{.Class}}"/>
{{end}}{{range .Texts}}<text x="{{.X}}" y="{{.Y}}"{{with .Anchor}} text-anchor="{{.}}"{{end}} class="{{.Class}}">{{.Text}}</text>
{{end}}</svg>{{end}}
`))

// Sections lists the section headings, for the page's navigation.
func (htmlView) Sections() []string { return HTMLSections }
