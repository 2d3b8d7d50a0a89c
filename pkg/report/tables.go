package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// LowCountFootnote follows a stats table in which a percentile is flagged with "*".
var LowCountFootnote = fmt.Sprintf("* fewer samples than needed for that percentile (p50 needs %d, p90 %d, p95 %d, p99 %d); "+
	"increase --duration or lower --interval", probe.MinSamplesP50, probe.MinSamplesP90, probe.MinSamplesP95, probe.MinSamplesP99)

// ServerNote follows the server-side table; %s is the metric(s) the figures came from.
const ServerNote = "server-side, from %s deltas: MEAN is exact (sum/count, ms); P50, P90, P99 are the histogram bucket (ms) holding that quantile"

// formatRatio prints a ratio to the baseline as "1.21x", "-" when there is none.
func formatRatio(r float64) string {
	if r <= 0 {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statsHeader and statsRows build the stats table shared by the terminal and Markdown outputs. flagged
// reports whether any cell carries the low-count "*".
func statsHeader(showPhase bool) []string {
	h := []string{"KIND", "COUNT", "ERRORS", "ERR%", "MIN", "P50", "P90", "P95", "P99", "MAX", "MEAN"}
	if showPhase {
		h = append([]string{"PHASE"}, h...)
	}
	return h
}

func statsRows(stats []probe.Stats, showPhase bool) (rows [][]string, flagged bool) {
	for _, s := range stats {
		row := []string{s.Kind, strconv.Itoa(s.Count), strconv.Itoa(s.Errors)}
		if s.Count == 0 {
			row = append(row, "-", "-", "-", "-", "-", "-", "-", "-")
		} else {
			pct := func(name string, v float64) string {
				if slices.Contains(s.LowCount, name) {
					flagged = true
					return result.FormatMS(v) + "*"
				}
				return result.FormatMS(v)
			}
			row = append(row, strconv.FormatFloat(s.ErrorPct, 'f', 1, 64), result.FormatMS(s.Min),
				pct("p50", s.P50), pct("p90", s.P90), pct("p95", s.P95), pct("p99", s.P99),
				result.FormatMS(s.Max), result.FormatMS(s.Mean))
		}
		if showPhase {
			row = append([]string{orDash(s.Phase)}, row...)
		}
		rows = append(rows, row)
	}
	return rows, flagged
}

// WriteStatsTable writes one row per stats entry: [PHASE] KIND COUNT ERRORS ERR% MIN P50 P90 P95 P99 MAX
// MEAN, latencies in ms formatted by FormatMS, "-" for a row without samples. A percentile its sample count
// cannot support (probe.Stats.LowCount) carries a trailing "*", explained once by LowCountFootnote under
// the table when any cell is flagged.
func WriteStatsTable(w io.Writer, stats []probe.Stats, showPhase bool) error {
	rows, flagged := statsRows(stats, showPhase)
	if err := renderTable(w, statsHeader(showPhase), rows); err != nil {
		return err
	}
	if flagged {
		if _, err := fmt.Fprintln(w, LowCountFootnote); err != nil {
			return err
		}
	}
	return nil
}

// WriteStatsMarkdown writes the stats as a GitHub table with the PHASE column and the table's formatting,
// then a line stating the unit and method (and the low-count footnote when needed).
func WriteStatsMarkdown(w io.Writer, stats []probe.Stats) error {
	rows, flagged := statsRows(stats, true)
	h := statsHeader(true)
	right := make([]bool, len(h))
	for i := 2; i < len(h); i++ {
		right[i] = true
	}
	if err := WriteMarkdownTable(w, h, rows, right); err != nil {
		return err
	}
	note := "\nLatencies in ms, percentiles by nearest rank; failed requests count at their elapsed time.\n"
	if flagged {
		note += "\n" + EscapeMarkdown(LowCountFootnote) + "\n"
	}
	_, err := io.WriteString(w, note)
	return err
}

func verdictHeader() []string {
	return []string{"PHASE", "KIND", "P50", "P99", "ERR%", "SLO", "P50-RATIO", "P99-RATIO", "LEVEL", "RESULT", "REASON"}
}

func verdictRows(verdicts []result.Verdict) [][]string {
	rows := make([][]string, 0, len(verdicts))
	for _, v := range verdicts {
		var slo []string
		if v.SLOThresholdMS > 0 {
			slo = append(slo, "p99<="+msDuration(v.SLOThresholdMS))
		}
		if v.Count > 0 || v.SLOErrorPct > 0 { // a run.json from before the availability SLO has neither
			slo = append(slo, "err<="+trimFloat(v.SLOErrorPct)+"%")
		}
		res := result.StatusPass
		if !v.Pass {
			res = result.StatusFail
		}
		p99 := result.FormatMS(v.P99MS)
		if v.P99LowCount && v.Count > 0 {
			p99 += "*"
		}
		reason := v.Reason
		if v.Note != "" {
			reason = strings.TrimPrefix(reason+"; "+v.Note, "; ")
		}
		rows = append(rows, []string{
			orDash(v.Phase), v.Kind, result.FormatMS(v.P50MS), p99, strconv.FormatFloat(v.ErrorPct, 'f', 1, 64), orDash(strings.Join(slo, " ")),
			formatRatio(v.P50Ratio), formatRatio(v.P99Ratio), orDash(v.Level), res, reason,
		})
	}
	return rows
}

// WriteVerdictTable writes one row per verdict: PHASE KIND P50 P99 ERR% SLO P50-RATIO P99-RATIO LEVEL RESULT
// REASON, with the SLO as "p99<=1s err<=1%" ("err<=1%" for the pooled row), ratios as "1.21x" ("-" when not
// compared), a p99 of fewer than probe.MinSamplesP99 samples marked "*", and REASON holding the reason of a
// failure and the note on what too few samples left unjudged.
func WriteVerdictTable(w io.Writer, verdicts []result.Verdict) error {
	return renderTable(w, verdictHeader(), verdictRows(verdicts))
}

// WriteVerdictMarkdown writes the verdicts as a GitHub table with the columns of WriteVerdictTable.
func WriteVerdictMarkdown(w io.Writer, verdicts []result.Verdict) error {
	right := []bool{false, false, true, true, true, false, true, true, false, false, false}
	return WriteMarkdownTable(w, verdictHeader(), verdictRows(verdicts), right)
}

// serverTable builds the server-side table of one phase: VERB RESOURCE SUBRESOURCE SCOPE COUNT MEAN P50 P90 P99,
// plus METRIC when the rows come from different histograms, and the note naming the metric(s).
func serverTable(stats []probe.ServerStat) (header []string, rows [][]string, note string) {
	var metrics []string
	for _, s := range stats {
		if s.Metric != "" && !slices.Contains(metrics, s.Metric) {
			metrics = append(metrics, s.Metric)
		}
	}
	header = []string{"VERB", "RESOURCE", "SUBRESOURCE", "SCOPE", "COUNT", "MEAN", "P50", "P90", "P99"}
	mixed := len(metrics) > 1
	if mixed {
		header = append(header, "METRIC")
	}
	rows = make([][]string, 0, len(stats))
	for _, s := range stats {
		row := []string{s.Verb, s.Resource, orDash(s.Subresource), orDash(s.Scope), strconv.FormatInt(s.Count, 10),
			result.FormatMS(s.Mean), orDash(s.P50Bucket), orDash(s.P90Bucket), orDash(s.P99Bucket)}
		if mixed {
			row = append(row, orDash(s.Metric))
		}
		rows = append(rows, row)
	}
	if len(metrics) == 0 {
		metrics = []string{"the apiserver's request duration histogram"}
	}
	return header, rows, fmt.Sprintf(ServerNote, strings.Join(metrics, ", "))
}

// WriteServerTable writes server-side latencies (probe.DiffServer of one phase): VERB RESOURCE SUBRESOURCE
// SCOPE COUNT MEAN P50 P90 P99 (and METRIC when rows come from different histograms), then a note naming the
// metric. It writes nothing for no rows, so the caller decides whether to say that the server had nothing to
// report (or why its rows were dropped).
func WriteServerTable(w io.Writer, stats []probe.ServerStat) error {
	if len(stats) == 0 {
		return nil
	}
	header, rows, note := serverTable(stats)
	if err := renderTable(w, header, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, note)
	return err
}

func renderTable(w io.Writer, header []string, rows [][]string) error {
	t := NewTable(w, header...)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return fmt.Errorf("failed to add a table row: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("failed to render table: %w", err)
	}
	return nil
}

func msDuration(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).String()
}

// trimFloat prints a float without trailing zeros: 1000, 1.2.
func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
