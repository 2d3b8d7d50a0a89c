package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// ProbeStatsCSVHeader is the header of probe-stats.csv: the seed's columns first, in the seed's order, then
// ours. The seed had one row per phase pooling every kind; that is our kind "all".
var ProbeStatsCSVHeader = []string{
	"phase", "count", "min_ms", "p50_ms", "p95_ms", "max_ms",
	"kind", "p90_ms", "p99_ms", "mean_ms", "errors", "error_pct", "low_count",
}

// SummaryCSVHeader is the header of summary.csv: the seed's columns, then error.
var SummaryCSVHeader = []string{
	"phase", "uuid", "exit_code", "start_epoch", "end_epoch", "elapsed_seconds", "status", "error",
}

// WriteProbeStatsCSV writes probe-stats.csv, one row per stats entry (phase x kind, kind "all" included).
// Latencies keep their microsecond precision; low_count lists the unsupported percentiles separated by
// ";" (e.g. "p95;p99"), empty when all are supported.
func WriteProbeStatsCSV(w io.Writer, stats []probe.Stats) error {
	rows := make([][]string, 0, len(stats))
	for _, s := range stats {
		rows = append(rows, []string{
			s.Phase, strconv.Itoa(s.Count), csvFloat(s.Min), csvFloat(s.P50), csvFloat(s.P95), csvFloat(s.Max),
			s.Kind, csvFloat(s.P90), csvFloat(s.P99), csvFloat(s.Mean), strconv.Itoa(s.Errors),
			csvFloat(s.ErrorPct), strings.Join(s.LowCount, ";"),
		})
	}
	return writeCSV(w, ProbeStatsCSVHeader, rows)
}

// WriteSummaryCSV writes summary.csv, one row per phase: uuid "n/a" when there is none (as the seed did),
// epochs in whole Unix seconds (empty when unset), elapsed_seconds with millisecond precision (empty when
// the phase has no start or end), exit_code = Phase.RC.
func WriteSummaryCSV(w io.Writer, phases []result.Phase) error {
	rows := make([][]string, 0, len(phases))
	for _, p := range phases {
		uuid := p.UUID
		if uuid == "" {
			uuid = "n/a"
		}
		var start, end, elapsed string
		if !p.Start.IsZero() {
			start = strconv.FormatInt(p.Start.Unix(), 10)
		}
		if !p.End.IsZero() {
			end = strconv.FormatInt(p.End.Unix(), 10)
		}
		if !p.Start.IsZero() && !p.End.IsZero() {
			elapsed = strconv.FormatFloat(p.Elapsed().Seconds(), 'f', 3, 64)
		}
		rows = append(rows, []string{p.Name, uuid, strconv.Itoa(p.RC), start, end, elapsed, p.Status, p.Error})
	}
	return writeCSV(w, SummaryCSVHeader, rows)
}

func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("failed to write csv: %w", err)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("failed to write csv: %w", err)
	}
	return nil
}

// csvFloat prints the shortest exact form: 901, 12.345.
func csvFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
