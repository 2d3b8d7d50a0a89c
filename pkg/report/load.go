package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// loadHeader and loadRows are the delivered-load table of the native engines (modes churn and api): per step and
// engine, the writes requested (due by the schedule), issued, completed and succeeded, the requested and delivered
// rates, the delivered share and the verdict, naming the limit when the load was not delivered.
func loadHeader() []string {
	return []string{"PHASE", "LOAD", "RATE/s", "REQUESTED", "ISSUED", "COMPLETED", "SUCCEEDED", "REQ/s", "DELIVERED/s",
		"RATIO", "LIVE MAX", "NOTIFY SEEN/EXP", "MISSED", "RESULT"}
}

func loadRows(loads []result.LoadStep) [][]string {
	rows := make([][]string, 0, len(loads))
	for _, l := range loads {
		d, n := l.Delivery, l.Notifications
		seen := n.Add.Seen + n.Update.Seen + n.Delete.Seen
		exp := n.Add.Expected + n.Update.Expected + n.Delete.Expected
		missed := n.Add.Missed + n.Update.Missed + n.Delete.Missed + n.Update.Coalesced
		notify, miss := "-", "-"
		if l.Watchers > 0 {
			notify, miss = fmt.Sprintf("%d/%d", seen, exp), strconv.Itoa(missed)
		}
		res := l.Verdict.String()
		if l.Error != "" {
			res = "load not delivered: " + l.Error
		}
		name := l.Name()
		if l.LoadFrom == result.LoadFromCluster {
			name += fmt.Sprintf(" (%d workers)", len(l.PerWorker))
		}
		rows = append(rows, []string{l.Phase, name, trimFloat(l.Rate), strconv.Itoa(d.Requested), strconv.Itoa(d.Issued),
			strconv.Itoa(d.Completed), strconv.Itoa(d.Succeeded), strconv.FormatFloat(d.RequestedRate, 'f', 1, 64),
			strconv.FormatFloat(d.DeliveredRate, 'f', 1, 64), strconv.FormatFloat(d.Ratio, 'f', 2, 64), strconv.Itoa(d.LiveMax),
			notify, miss, res})
		rows = append(rows, workerRows(l)...) // --load-from cluster: a row per worker pod (workers.go)
	}
	return rows
}

// WriteLoadTable writes the delivered-load table (nothing without loads).
func WriteLoadTable(w io.Writer, loads []result.LoadStep) error {
	if len(loads) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nDELIVERED LOAD (writes of the churn/api engines; a step below %.2f of the requested writes is \"load not delivered\")\n", 0.95); err != nil {
		return err
	}
	return renderTable(w, loadHeader(), loadRows(loads))
}

// loadChart draws requested against succeeded writes per second over the run, every engine summed, with the
// phases as bands: a server (or client) falling behind shows as the succeeded line under the requested one.
func loadChart(doc *result.Doc) (svgChart, bool) {
	type point struct{ req, ok float64 }
	per := map[int64]*point{}
	var t0, t1 time.Time
	for _, l := range doc.Loads {
		for _, w := range l.Windows {
			s := w.Start.Truncate(time.Second)
			if t0.IsZero() || s.Before(t0) {
				t0 = s
			}
			if s.After(t1) {
				t1 = s
			}
			p := per[s.Unix()]
			if p == nil {
				p = &point{}
				per[s.Unix()] = p
			}
			p.req += float64(w.Requested)
			p.ok += float64(w.Succeeded)
		}
	}
	if len(per) == 0 {
		return svgChart{}, false
	}
	for _, p := range doc.Phases {
		if !p.Start.IsZero() && p.Start.Before(t0) && p.Type == "ramp" {
			t0 = p.Start
		}
	}
	t1 = t1.Add(time.Second)
	maxV := 1.0
	for _, p := range per {
		maxV = math.Max(maxV, math.Max(p.req, p.ok))
	}
	maxV = niceStep(maxV/4) * 4
	c := svgChart{W: chartW, H: chartH, Label: "requested and succeeded writes per second"}
	span := t1.Sub(t0).Seconds()
	plotW := float64(chartW - padLeft - padRight)
	top, bottom := float64(padTop), float64(chartH-padBottom)
	x := func(t time.Time) float64 { return padLeft + t.Sub(t0).Seconds()/span*plotW }
	y := func(v float64) float64 { return bottom - v/maxV*(bottom-top) }
	for i, p := range doc.Phases {
		if p.Type != "ramp" || p.Start.IsZero() || p.End.IsZero() {
			continue
		}
		x0, x1 := math.Max(x(p.Start), padLeft), math.Min(x(p.End), chartW-padRight)
		if x1 <= x0 {
			continue
		}
		cls := "band"
		if i%2 == 1 {
			cls = "band alt"
		}
		c.Rects = append(c.Rects, svgRect{X: px(x0), Y: px(top), W: px(x1 - x0), H: px(bottom - top), Class: cls, Title: p.Name + " (" + p.Status + ")"})
		c.Texts = append(c.Texts, svgText{X: px(x0 + 3), Y: px(top - 6), Text: p.Name, Class: "phase"})
	}
	for v := 0.0; v <= maxV+1e-9; v += maxV / 4 {
		c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(y(v)), X2: px(chartW - padRight), Y2: px(y(v)), Class: "grid"})
		c.Texts = append(c.Texts, svgText{X: px(padLeft - 4), Y: px(y(v) + 4), Anchor: "end", Text: trimFloat(v), Class: "axis"})
	}
	for s := t0; s.Before(t1); s = s.Add(time.Second) {
		p := per[s.Unix()]
		if p == nil {
			continue
		}
		xx := x(s.Add(time.Second / 2))
		c.Points = append(c.Points, svgPoint{X: px(xx), Y: px(y(p.req)), Class: "pmax"}, svgPoint{X: px(xx), Y: px(y(p.ok)), Class: "ok"})
	}
	c.Texts = append(c.Texts, svgText{X: px(padLeft + plotW/2), Y: px(chartH - 6), Anchor: "middle",
		Text: fmt.Sprintf("writes per second (grey: requested, blue: succeeded), %s since %s", time.Duration(span*float64(time.Second)).Round(time.Second),
			t0.UTC().Format(time.RFC3339)), Class: "axis"})
	c.Lines = append(c.Lines, svgLine{X1: px(padLeft), Y1: px(bottom), X2: px(chartW - padRight), Y2: px(bottom), Class: "axisline"})
	return c, true
}

// WriteLoadMarkdown writes the delivered-load table as a GitHub table, after a blank line (nothing without loads).
func WriteLoadMarkdown(w io.Writer, loads []result.LoadStep) error {
	if len(loads) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	right := []bool{false, false, true, true, true, true, true, true, true, true, true, true, true, false}
	return WriteMarkdownTable(w, loadHeader(), loadRows(loads), right)
}
