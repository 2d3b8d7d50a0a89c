package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// t0 is when the samples of these tests start.
var t0 = time.Date(2026, 3, 4, 3, 29, 28, 0, time.UTC)

// samples returns n deterministic samples of one phase and kind, latencies spread around baseMS; every
// errEvery-th sample (when > 0) is a timeout at 5 s.
func samples(phase string, kind probe.Kind, n int, baseMS float64, errEvery int) []probe.Sample {
	out := make([]probe.Sample, n)
	for i := range out {
		s := probe.Sample{
			TS: t0.Add(time.Duration(i) * time.Second), Phase: phase, Kind: kind, Verb: "get",
			LatencyMS: baseMS * (1 + float64((i*37)%n)/float64(n)), Status: 200, Seq: int64(i + 1), Source: probe.SourceLocal,
		}
		s.LatencyMS = float64(int(s.LatencyMS*1000)) / 1000
		if errEvery > 0 && (i+1)%errEvery == 0 {
			s.LatencyMS, s.Status, s.Error = 5000, 0, "timeout after 5s: context deadline exceeded"
		}
		out[i] = s
	}
	return out
}

// phaseStats is what the run computes: probe.ByKind per phase, concatenated.
func phaseStats(phases ...[]probe.Sample) []probe.Stats {
	var out []probe.Stats
	for _, p := range phases {
		st := probe.ByKind(p)
		for i := range st {
			st[i].Phase = p[0].Phase // ByKind's pooled row keeps the phase; set it on every row anyway
		}
		out = append(out, st...)
	}
	return out
}

// lowCountStats: 12 samples per kind (p95 and p99 flagged), one phase with a single sample (p50 too).
func lowCountStats() []probe.Stats {
	return phaseStats(
		slices.Concat(samples("baseline", probe.KindReadyz, 12, 1.5, 0), samples("baseline", probe.KindGet, 12, 2.5, 0),
			samples("baseline", probe.KindListCluster, 12, 8, 0)),
		slices.Concat(samples("ramp-step-1", probe.KindReadyz, 12, 4, 0), samples("ramp-step-1", probe.KindGet, 12, 9, 6),
			samples("ramp-step-1", probe.KindListCluster, 12, 40, 0)),
		samples("recovery", probe.KindGet, 1, 3, 0),
	)
}

// fullStats: enough samples for every percentile.
func fullStats() []probe.Stats {
	return phaseStats(
		slices.Concat(samples("baseline", probe.KindGet, 120, 2.5, 0), samples("baseline", probe.KindMutate, 120, 6, 0)),
		slices.Concat(samples("ramp-step-1", probe.KindGet, 120, 14, 40), samples("ramp-step-1", probe.KindMutate, 120, 35, 0)),
	)
}

func TestWriteStatsTable(t *testing.T) {
	tests := []struct {
		name      string
		stats     []probe.Stats
		showPhase bool
		golden    string
		footnote  bool
	}{
		{"low counts flagged", lowCountStats(), true, "stats-lowcount.golden", true},
		{"enough samples", fullStats(), true, "stats-full.golden", false},
		{"without phase column", probe.ByKind(samples("probe", probe.KindGet, 120, 2.5, 0)), false, "stats-nophase.golden", false},
		{"no samples", []probe.Stats{{Phase: "probe", Kind: "all", LowCount: []string{"p50", "p90", "p95", "p99"}}}, true, "stats-empty.golden", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteStatsTable(&b, tc.stats, tc.showPhase); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if n := strings.Count(out, LowCountFootnote); n != map[bool]int{true: 1, false: 0}[tc.footnote] {
				t.Errorf("footnote printed %d times, want it %v", n, tc.footnote)
			}
			if !tc.footnote && strings.Contains(out, "*") {
				t.Errorf("a cell is flagged but no footnote expected:\n%s", out)
			}
			if strings.HasPrefix(strings.TrimSpace(out), "PHASE") != tc.showPhase {
				t.Errorf("PHASE column shown = %v, want %v:\n%s", !tc.showPhase, tc.showPhase, out)
			}
			assertGolden(t, tc.golden, b.Bytes())
		})
	}
}

func TestWriteStatsTableFlagsOnlyLowCountPercentiles(t *testing.T) {
	var b bytes.Buffer
	st := probe.ByKind(samples("probe", probe.KindGet, 12, 2.5, 0))[:1] // p95 and p99 flagged
	if err := WriteStatsTable(&b, st, false); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(strings.Split(b.String(), "\n")[1])
	// KIND COUNT ERRORS ERR% MIN P50 P90 P95 P99 MAX MEAN
	for i, flagged := range map[int]bool{5: false, 6: false, 7: true, 8: true, 9: false, 10: false} {
		if strings.HasSuffix(fields[i], "*") != flagged {
			t.Errorf("column %d = %q, flagged want %v (row %q)", i, fields[i], flagged, fields)
		}
	}
}

func TestWriteVerdictTable(t *testing.T) {
	stats := append(fullStats(), probe.Stats{Phase: "ramp-step-2", Kind: "get", Count: 12, Errors: 12, ErrorPct: 100, P50: 5000, P99: 5000,
		LowCount: []string{"p95", "p99"}})
	var b bytes.Buffer
	if err := WriteVerdictTable(&b, result.Verdicts(stats, "baseline", result.DefaultSLOErrorRate)); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "verdicts.golden", b.Bytes())

	b.Reset()
	if err := WriteVerdictMarkdown(&b, result.Verdicts(stats, "baseline", result.DefaultSLOErrorRate)); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "verdicts.md.golden", b.Bytes())
}

func TestWriteServerTable(t *testing.T) {
	const d = "apiserver_request_duration_seconds"
	stats := []probe.ServerStat{
		{Verb: "GET", Resource: "configmaps", Scope: "resource", Count: 120, Mean: 2.314, P50: 2.5, P90: 4.5, P99: 18.2, P50Bucket: "<=5", P90Bucket: "<=5", P99Bucket: "<=25", Metric: d},
		{Verb: "LIST", Resource: "nodes", Scope: "cluster", Count: 12, Mean: 11.042, P50: 12.5, P90: 45, P99: 98.9, P50Bucket: "<=25", P90Bucket: "<=50", P99Bucket: "<=100", Metric: d},
		{Verb: "PATCH", Resource: "pods", Subresource: "status", Scope: "namespace", Count: 3, Mean: 71234.5, P50: 60000, P90: 60000, P99: 60000, P50Bucket: ">60000", P90Bucket: ">60000", P99Bucket: ">60000", Metric: d},
	}
	var b bytes.Buffer
	if err := WriteServerTable(&b, stats); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "server.golden", b.Bytes())
	if !strings.HasSuffix(b.String(), "server-side, from apiserver_request_duration_seconds deltas: MEAN is exact (sum/count, ms); P50, P90, P99 are the histogram bucket (ms) holding that quantile\n") {
		t.Errorf("missing the server-side note:\n%s", b.String())
	}
	if !strings.Contains(b.String(), " MEAN ") || !strings.Contains(b.String(), " 2.31 ") {
		t.Errorf("want a MEAN column with the exact mean:\n%s", b.String())
	}

	// Rows from two histograms: a METRIC column says which.
	stats[1].Metric = "apiserver_request_sli_duration_seconds"
	b.Reset()
	if err := WriteServerTable(&b, stats); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "server-mixed.golden", b.Bytes())

	b.Reset()
	if err := WriteServerTable(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("no server stats wrote %q, %v; want nothing", b.String(), err)
	}
}

func TestWriteStatsMarkdown(t *testing.T) {
	for name, st := range map[string][]probe.Stats{"stats-lowcount.md.golden": lowCountStats(), "stats-full.md.golden": fullStats()} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteStatsMarkdown(&b, st); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			cols := strings.Count(lines[0], "|")
			for i, l := range lines[:len(st)+2] {
				if got := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); got != cols {
					t.Errorf("line %d has %d pipes, header %d: %q", i+1, got, cols, l)
				}
			}
			assertGolden(t, name, b.Bytes())
		})
	}
}

func TestEscapeMarkdown(t *testing.T) {
	if got, want := EscapeMarkdown("a|b*c_d\\e\nf"), `a\|b\*c\_d\\e f`; got != want {
		t.Errorf("EscapeMarkdown = %q, want %q", got, want)
	}
}

// A run.json written before the availability SLO has no count nor slo_error_pct: no "err<=0%" is made up.
func TestVerdictRowsOfAnOldRun(t *testing.T) {
	rows := verdictRows([]result.Verdict{{Phase: "baseline", Kind: "get", SLOThresholdMS: 1000, Pass: true},
		{Phase: "baseline", Kind: "all", Pass: true}})
	if rows[0][5] != "p99<=1s" || rows[1][5] != "-" {
		t.Errorf("SLO cells %q %q, want p99<=1s and -", rows[0][5], rows[1][5])
	}
}
