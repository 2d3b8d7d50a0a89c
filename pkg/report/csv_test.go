package report

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func TestWriteProbeStatsCSV(t *testing.T) {
	var b bytes.Buffer
	st := lowCountStats()
	if err := WriteProbeStatsCSV(&b, st); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "probe-stats.csv.golden", b.Bytes())

	recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("probe-stats.csv does not parse: %v", err)
	}
	seed := []string{"phase", "count", "min_ms", "p50_ms", "p95_ms", "max_ms"}
	for i, c := range seed {
		if recs[0][i] != c {
			t.Errorf("column %d is %q, want the seed's %q", i+1, recs[0][i], c)
		}
	}
	if len(recs) != len(st)+1 {
		t.Errorf("%d rows, want one per stats row (%d)", len(recs)-1, len(st))
	}
}

func TestWriteSummaryCSV(t *testing.T) {
	start := time.Date(2026, 3, 4, 3, 29, 23, 500_000_000, time.UTC)
	phases := []result.Phase{
		{Name: "baseline", Type: result.PhaseTypeProbe, Start: start, End: start.Add(22 * time.Second), Status: result.StatusPass},
		{Name: "ramp-step-1", Type: result.PhaseTypeRamp, Start: start.Add(22 * time.Second), End: start.Add(63*time.Second + 250*time.Millisecond),
			Status: result.StatusPass, UUID: "7a030ae6-5bd1-4c0e-9d43-1f5b8e0b7c11"},
		{Name: "ramp-step-2", Type: result.PhaseTypeRamp, Start: start.Add(64 * time.Second), End: start.Add(70 * time.Second),
			Status: result.StatusAborted, RC: 1, Error: `breaker: FailedScheduling "0/3 nodes are available", insufficient cpu`},
		{Name: "teardown", Type: result.PhaseTypeTeardown, Start: start.Add(70 * time.Second), End: start.Add(112 * time.Second), Status: result.StatusPass},
		// a phase that never ran (no times); the status column is written as given
		{Name: "recovery", Type: result.PhaseTypeRecovery, Status: "skipped"},
	}
	var b bytes.Buffer
	if err := WriteSummaryCSV(&b, phases); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "summary.csv.golden", b.Bytes())

	recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("summary.csv does not parse: %v", err)
	}
	if got := recs[3][7]; got != phases[2].Error {
		t.Errorf("error column %q, want %q", got, phases[2].Error)
	}
	if got := recs[1][1]; got != "n/a" {
		t.Errorf("uuid of a phase without one is %q, want n/a", got)
	}
}
