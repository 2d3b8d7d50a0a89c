package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/golden"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func TestSparklines(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var samples []probe.Sample
	for i := range 40 {
		lat := 2.0
		if i >= 15 && i < 25 {
			lat = 200 // a slow stretch in the middle
		}
		s := probe.Sample{TS: t0.Add(time.Duration(i) * time.Second), Kind: probe.KindGet, LatencyMS: lat, Status: 200}
		if i == 30 {
			s.Status, s.Error = 0, "timeout"
		}
		samples = append(samples, s)
		samples = append(samples, probe.Sample{TS: s.TS, Kind: probe.KindReadyz, LatencyMS: 1, Status: 200, Source: probe.SourceCluster})
	}
	phases := []result.Phase{
		{Name: "baseline", Start: t0, End: t0.Add(15 * time.Second)},
		{Name: "ramp-step-1", Start: t0.Add(15 * time.Second), End: t0.Add(25 * time.Second)},
		{Name: "recovery", Start: t0.Add(25 * time.Second), End: t0.Add(40 * time.Second)},
	}
	var b bytes.Buffer
	if err := WriteSparklines(&b, samples, phases, 40); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "sparklines.golden", b.Bytes())
	lines := strings.Split(b.String(), "\n")
	get := []rune(lines[1])
	// Column i holds second i: fast before 15 s, slowest level inside, × at 30 s, local kinds before @cluster.
	if !strings.HasPrefix(lines[1], "get ") || !strings.HasPrefix(lines[2], "readyz@cluster") {
		t.Fatalf("unexpected order:\n%s", b.String())
	}
	off := len([]rune("readyz@cluster "))
	if get[off+0] != '▁' || get[off+20] != '█' || get[off+30] != SparkErrorMark {
		t.Errorf("get line does not show the slow stretch and the failure: %q", lines[1])
	}
	if !strings.Contains(lines[1], "2.0 .. 200 ms") {
		t.Errorf("scale missing: %q", lines[1])
	}
}

func TestSparkLevel(t *testing.T) {
	for _, c := range []struct {
		v, lo, hi float64
		want      int
	}{{1, 1, 1, 0}, {1, 1, 100, 0}, {100, 1, 100, 7}, {10, 1, 100, 4}, {0, 1, 100, 0}} {
		if got := sparkLevel(c.v, c.lo, c.hi); got != c.want {
			t.Errorf("sparkLevel(%v, %v, %v) = %d, want %d", c.v, c.lo, c.hi, got, c.want)
		}
	}
}

func TestSparklinesEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSparklines(&b, nil, nil, 40); err != nil || b.Len() != 0 {
		t.Fatalf("no samples must write nothing, got %q, %v", b.String(), err)
	}
}
