package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// SparkWidth is the number of columns of a terminal sparkline.
const SparkWidth = 60

var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// SparkErrorMark marks a column in which at least one request failed.
const SparkErrorMark = '×'

// WriteSparklines writes latency over time, one line per probe kind (in-cluster samples on their own line,
// "<kind>@cluster"): the run's time span is cut into width columns (fewer when no line has that many samples), each drawn as the slowest sample in it
// on a log scale from the kind's fastest to its slowest column; × marks a column in which a request failed,
// a blank one had no sample. When phases are given, a ruler line marks where each one starts.
func WriteSparklines(w io.Writer, samples []probe.Sample, phases []result.Phase, width int) error {
	return WriteSparklinesFrom(w, result.SampleSlice(samples), phases, width)
}

// WriteSparklinesFrom is WriteSparklines streaming its samples (two passes over src, memory per line and
// column, not per sample). Nothing is written when src fails.
func WriteSparklinesFrom(w io.Writer, src result.SampleSource, phases []result.Phase, width int) error {
	if src == nil || width < 2 {
		return nil
	}
	// Pass 1: the time span and the samples per line.
	var t0, t1 time.Time
	total := 0
	counts := map[string]int{}
	err := src.Each(func(s probe.Sample) error {
		if total == 0 || s.TS.Before(t0) {
			t0 = s.TS
		}
		if total == 0 || s.TS.After(t1) {
			t1 = s.TS
		}
		total++
		counts[sparkKey(s)]++
		return nil
	})
	if err != nil || total == 0 {
		return err
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Second
	}
	// No more columns than the busiest line has samples, so that a short run has no gaps between its samples.
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	width = max(min(width, most), 2)
	col := func(t time.Time) int {
		c := int(float64(t.Sub(t0)) / float64(span) * float64(width))
		return min(max(c, 0), width-1)
	}
	// Pass 2: per line and column the slowest sample and whether one failed.
	type line struct {
		worst        []float64
		failed, seen []bool
	}
	lines := map[string]*line{}
	for k := range counts {
		lines[k] = &line{worst: make([]float64, width), failed: make([]bool, width), seen: make([]bool, width)}
	}
	err = src.Each(func(s probe.Sample) error {
		l := lines[sparkKey(s)]
		if l == nil { // the source changed between the passes
			return nil
		}
		c := col(s.TS)
		l.seen[c] = true
		if s.Error != "" {
			l.failed[c] = true
		}
		l.worst[c] = math.Max(l.worst[c], s.LatencyMS)
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(lines))
	nameW := len("phases")
	for k := range lines {
		keys = append(keys, k)
		nameW = max(nameW, len(k))
	}
	sort.Slice(keys, func(i, j int) bool { return kindOrder(keys[i]) < kindOrder(keys[j]) })

	colDur := span / time.Duration(width)
	fmt.Fprintf(w, "LATENCY OVER TIME (%v: each column the slowest sample of %v, log scale; %c = a request failed)\n",
		span.Round(time.Second), roundDur(colDur), SparkErrorMark)
	for _, k := range keys {
		worst, failed, seen := lines[k].worst, lines[k].failed, lines[k].seen
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

// sparkKey is a sample's sparkline: its kind, "<kind>@cluster" for the in-cluster probe.
func sparkKey(s probe.Sample) string {
	k := string(s.Kind)
	if s.Source == probe.SourceCluster {
		k += "@cluster"
	}
	return k
}

// sparkLevel maps v into 0..len(sparkLevels)-1 on a log scale between lo and hi.
func sparkLevel(v, lo, hi float64) int {
	n := len(sparkLevels) - 1
	lo, hi, v = math.Max(lo, minLatency), math.Max(hi, minLatency), math.Max(v, minLatency)
	if hi/lo < 1.0001 {
		return 0
	}
	f := math.Log(v/lo) / math.Log(hi/lo)
	return min(max(int(math.Round(f*float64(n))), 0), n)
}

// kindOrder sorts the probe kinds in their documented order, in-cluster after local, unknown kinds last.
func kindOrder(key string) string {
	kind, cluster := strings.CutSuffix(key, "@cluster")
	i := len(probe.AllKinds)
	for j, k := range probe.AllKinds {
		if string(k) == kind {
			i = j
		}
	}
	c := "0"
	if cluster {
		c = "1"
	}
	return fmt.Sprintf("%s%03d%s", c, i, kind)
}

func fmtMS(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
