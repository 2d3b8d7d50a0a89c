package result

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// row is a stats row with enough samples for every percentile.
func row(phase, kind string, p50, p99 float64) probe.Stats {
	return probe.Stats{Phase: phase, Kind: kind, Count: 100, Min: p50 / 2, P50: p50, P90: p99, P95: p99, P99: p99, Max: p99, Mean: p50}
}

func TestVerdictLevelBoundaries(t *testing.T) {
	tests := []struct {
		name      string
		p50, p99  float64 // baseline is p50 100, p99 200
		wantLevel string
		wantP50   float64
		wantP99   float64
	}{
		{"equal is nominal", 100, 200, LevelNominal, 1, 1},
		{"faster is nominal", 50, 100, LevelNominal, 0.5, 0.5},
		{"p50 1.2x is nominal", 120, 200, LevelNominal, 1.2, 1},
		{"p50 1.21x is elevated", 121, 200, LevelElevated, 1.21, 1},
		{"p50 2x is elevated", 200, 200, LevelElevated, 2, 1},
		{"p50 2.01x is degraded", 201, 200, LevelDegraded, 2.01, 1},
		{"p50 5x is degraded", 500, 200, LevelDegraded, 5, 1},
		{"p50 5.01x is critical", 501, 200, LevelCritical, 5.01, 1},
		{"p99 1.21x is elevated though p50 is nominal", 100, 242, LevelElevated, 1, 1.21},
		{"p99 5.01x is critical though p50 is elevated", 150, 1002, LevelCritical, 1.5, 5.01},
		{"p50 better, p99 worse: the worse decides", 50, 1000, LevelDegraded, 0.5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := []probe.Stats{row("baseline", "get", 100, 200), row("ramp-step-1", "get", tc.p50, tc.p99)}
			v := Verdicts(stats, "baseline", DefaultSLOErrorRate)[1]
			if v.Level != tc.wantLevel || v.P50Ratio != tc.wantP50 || v.P99Ratio != tc.wantP99 {
				t.Errorf("level %q, ratios p50 %v p99 %v; want %q, %v, %v", v.Level, v.P50Ratio, v.P99Ratio, tc.wantLevel, tc.wantP50, tc.wantP99)
			}
		})
	}
}

func TestVerdictRatioIsRoundedBeforeClassification(t *testing.T) {
	// 2.46/2.05 is 1.2000000000000002 in float64: the displayed "1.20x" must be nominal.
	stats := []probe.Stats{row("baseline", "get", 2.05, 2.05), row("recovery", "get", 2.46, 2.05)}
	v := Verdicts(stats, "baseline", DefaultSLOErrorRate)[1]
	if v.P50Ratio != 1.2 || v.Level != LevelNominal {
		t.Errorf("p50 ratio %v level %q, want 1.2 nominal", v.P50Ratio, v.Level)
	}
}

func TestSLOThresholdPerKind(t *testing.T) {
	want := map[string]float64{
		"readyz": 1000, "get": 1000, "mutate": 1000, "watch": 1000,
		"list-namespace": 30000, "list-cluster": 30000,
		"all": 0, "unknown": 0,
	}
	for kind, ms := range want {
		if got := SLOThresholdMS(kind); got != ms {
			t.Errorf("SLOThresholdMS(%q) = %v, want %v", kind, got, ms)
		}
	}
	for _, k := range probe.AllKinds {
		if SLOThresholdMS(string(k)) == 0 {
			t.Errorf("probe kind %q has no SLO", k)
		}
	}
}

func TestVerdictSLO(t *testing.T) {
	tests := []struct {
		name       string
		stats      probe.Stats
		wantPass   bool
		wantReason string
	}{
		{"get p99 at the SLO passes", row("ramp-step-1", "get", 10, 1000), true, ""},
		{"get p99 over the SLO fails", row("ramp-step-1", "get", 10, 1432.1), false, "p99 1432.1 ms > SLO 1000 ms"},
		{"mutate p99 over the SLO fails", row("ramp-step-1", "mutate", 10, 1000.5), false, "p99 1000.5 ms > SLO 1000 ms"},
		{"watch p99 over the SLO fails", row("ramp-step-1", "watch", 10, 2000), false, "p99 2000.0 ms > SLO 1000 ms"},
		{"list-cluster p99 of 29s passes", row("ramp-step-1", "list-cluster", 10, 29000), true, ""},
		{"list-namespace p99 over 30s fails", row("ramp-step-1", "list-namespace", 10, 30500), false, "p99 30500.0 ms > SLO 30000 ms"},
		{"all has no SLO", row("ramp-step-1", "all", 10, 50000), true, ""},
		{
			// issue 12 item 19: the p99 of 12 samples is their maximum, noise: judged on the p90 instead
			"low count: the max over the SLO does not fail, and the note says the p99 was not judged",
			probe.Stats{Phase: "ramp-step-1", Kind: "readyz", Count: 12, P50: 5, P90: 6, P95: 1500, P99: 1500, Max: 1500, LowCount: []string{"p95", "p99"}},
			true, "",
		},
		{
			"low count: a supported percentile over the SLO fails",
			probe.Stats{Phase: "ramp-step-1", Kind: "readyz", Count: 12, P50: 5, P90: 1200, P95: 1500, P99: 1500, Max: 1500, LowCount: []string{"p95", "p99"}},
			false, "p90 1200.0 ms > SLO 1000 ms, so the p99 is too (only 12 samples: no p99)",
		},
		{
			"40% fast errors fail the availability SLO though the latency is fine",
			probe.Stats{Phase: "ramp-step-1", Kind: "get", Count: 100, Errors: 40, ErrorPct: 40, P50: 2, P90: 3, P95: 3, P99: 4, Max: 5},
			false, "40.0% errors (40 of 100) > SLO 1%",
		},
		{
			"1% errors is within the SLO",
			probe.Stats{Phase: "ramp-step-1", Kind: "get", Count: 100, Errors: 1, ErrorPct: 1, P50: 2, P90: 3, P95: 3, P99: 4, Max: 5},
			true, "",
		},
		{
			"errors and latency both reported",
			probe.Stats{Phase: "ramp-step-1", Kind: "get", Count: 200, Errors: 3, ErrorPct: 1.5, P50: 2, P90: 3, P95: 3, P99: 10000, Max: 10000},
			false, "1.5% errors (3 of 200) > SLO 1%; p99 10000.0 ms > SLO 1000 ms",
		},
		{
			"the pooled row is judged on errors too",
			probe.Stats{Phase: "ramp-step-1", Kind: "all", Count: 600, Errors: 40, ErrorPct: 6.667, P50: 2, P99: 4},
			false, "6.7% errors (40 of 600) > SLO 1%",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Verdicts([]probe.Stats{tc.stats}, "", DefaultSLOErrorRate)[0]
			if v.Pass != tc.wantPass || v.SLOPass != tc.wantPass || v.Reason != tc.wantReason {
				t.Errorf("pass %v slo_pass %v reason %q; want %v, %q", v.Pass, v.SLOPass, v.Reason, tc.wantPass, tc.wantReason)
			}
			if v.SLOThresholdMS != SLOThresholdMS(tc.stats.Kind) {
				t.Errorf("slo threshold %v for kind %q", v.SLOThresholdMS, tc.stats.Kind)
			}
			if v.Level != "" {
				t.Errorf("level %q without a baseline, want empty", v.Level)
			}
		})
	}
}

func TestVerdictLowCountNote(t *testing.T) {
	st := probe.Stats{Phase: "ramp-step-1", Kind: "readyz", Count: 12, P50: 5, P90: 6, P95: 1500, P99: 1500, Max: 1500}
	v := Verdicts([]probe.Stats{st}, "", DefaultSLOErrorRate)[0]
	if v.SLOQuantile != "p90" || !v.P99LowCount {
		t.Errorf("slo quantile %q low count %v, want p90 true", v.SLOQuantile, v.P99LowCount)
	}
	if want := "p99 SLO not judged: 12 samples (p99 needs 100); p90 within it, max 1500.0 ms above it"; v.Note != want {
		t.Errorf("note %q\nwant %q", v.Note, want)
	}
	st.Max, st.P95, st.P99 = 8, 8, 8
	if v := Verdicts([]probe.Stats{st}, "", DefaultSLOErrorRate)[0]; v.Note != "" || !v.Pass {
		t.Errorf("every sample within the SLO: note %q pass %v, want no note and a pass", v.Note, v.Pass)
	}
	one := probe.Stats{Phase: "ramp-step-1", Kind: "get", Count: 1, P50: 5000, P99: 5000, Max: 5000}
	if v := Verdicts([]probe.Stats{one}, "", DefaultSLOErrorRate)[0]; !v.Pass || v.SLOQuantile != "" || v.Note != "latency SLO not judged: 1 sample (a percentile needs 2)" {
		t.Errorf("one sample: pass %v quantile %q note %q", v.Pass, v.SLOQuantile, v.Note)
	}
}

// issue 12 item 19: with 10 samples per kind the p99 is the maximum; a p99 ratio of 2.41x from it labelled
// list-cluster "degraded". The level must come from the p50 then.
func TestVerdictLevelIgnoresUnsupportedP99(t *testing.T) {
	few := func(phase string, p50, max float64) probe.Stats {
		return probe.Stats{Phase: phase, Kind: "list-cluster", Count: 10, P50: p50, P90: max, P95: max, P99: max, Max: max,
			LowCount: []string{"p95", "p99"}}
	}
	v := Verdicts([]probe.Stats{few("baseline", 10, 20), few("ramp-step-1", 10.5, 48.2)}, "baseline", DefaultSLOErrorRate)[1]
	if v.Level != LevelNominal || v.P99Ratio != 0 || v.P50Ratio != 1.05 {
		t.Errorf("level %q ratios p50 %v p99 %v; want nominal from the p50 alone (1.05), no p99 ratio", v.Level, v.P50Ratio, v.P99Ratio)
	}
	if want := "level from p50 only: 10 samples here, 10 in the baseline (a p99 ratio needs 100 each)"; v.Note != want {
		t.Errorf("note %q\nwant %q", v.Note, want)
	}
	// enough samples on one side only: still no p99 ratio
	v = Verdicts([]probe.Stats{row("baseline", "list-cluster", 10, 20), few("ramp-step-1", 10.5, 48.2)}, "baseline", DefaultSLOErrorRate)[1]
	if v.Level != LevelNominal || v.P99Ratio != 0 {
		t.Errorf("one side short: level %q p99 ratio %v", v.Level, v.P99Ratio)
	}
	// a single sample: no level at all
	one := probe.Stats{Phase: "ramp-step-1", Kind: "list-cluster", Count: 1, P50: 50, P99: 50, Max: 50}
	v = Verdicts([]probe.Stats{row("baseline", "list-cluster", 10, 20), one}, "baseline", DefaultSLOErrorRate)[1]
	if v.Level != LevelTooFewSamples || v.P50Ratio != 0 {
		t.Errorf("one sample: level %q p50 ratio %v", v.Level, v.P50Ratio)
	}
}

// issue 12 item 5: every phase is judged on its error ratio, the baseline and recovery included.
func TestVerdictErrorRateInEveryPhase(t *testing.T) {
	bad := func(phase string) probe.Stats {
		return probe.Stats{Phase: phase, Kind: "readyz", Count: 100, Errors: 40, ErrorPct: 40, P50: 1, P90: 2, P95: 2, P99: 3, Max: 3}
	}
	stats := []probe.Stats{bad("baseline"), bad("ramp-step-1"), bad("recovery")}
	for _, v := range Verdicts(stats, "baseline", DefaultSLOErrorRate) {
		if v.Pass || v.SLOPass || v.Reason != "40.0% errors (40 of 100) > SLO 1%" || v.ErrorPct != 40 || v.SLOErrorPct != 1 {
			t.Errorf("%s: pass %v reason %q error_pct %v slo %v", v.Phase, v.Pass, v.Reason, v.ErrorPct, v.SLOErrorPct)
		}
	}
	if v := Verdicts(stats, "baseline", 0.5)[1]; !v.Pass {
		t.Errorf("with a 50%% SLO 40%% errors pass; got %q", v.Reason)
	}
	out := Decide([]Phase{{Name: "baseline", Status: StatusPass}}, Verdicts(stats, "baseline", DefaultSLOErrorRate), false)
	if out.ExitCode != ExitSLOFailed || len(out.Reasons) != 3 {
		t.Errorf("outcome %+v, want slo-failed with 3 reasons", out)
	}
}

func TestVerdictOnlyErrorsIsNoData(t *testing.T) {
	// Fast failures (403 in 2 ms) must not pass the SLO nor look nominal.
	errorsOnly := probe.Stats{Phase: "ramp-step-2", Kind: "get", Count: 12, Errors: 12, ErrorPct: 100, P50: 2, P99: 2}
	stats := []probe.Stats{row("baseline", "get", 10, 20), errorsOnly}
	v := Verdicts(stats, "baseline", DefaultSLOErrorRate)[1]
	if v.Level != LevelNoData || v.Pass || v.SLOPass {
		t.Errorf("level %q pass %v slo_pass %v; want no-data, false, false", v.Level, v.Pass, v.SLOPass)
	}
	if v.P50Ratio != 0 || v.P99Ratio != 0 {
		t.Errorf("ratios %v %v for a phase without successes, want 0", v.P50Ratio, v.P99Ratio)
	}
	if v.Reason != "no successful samples (12 errors)" {
		t.Errorf("reason %q", v.Reason)
	}

	empty := probe.ByKind(nil)[0]
	empty.Phase = "probe"
	v = Verdicts([]probe.Stats{empty}, "", DefaultSLOErrorRate)[0]
	if v.Pass || v.Level != LevelNoData || v.Reason != "no samples" {
		t.Errorf("empty phase: pass %v level %q reason %q", v.Pass, v.Level, v.Reason)
	}
}

func TestVerdictBaselineRows(t *testing.T) {
	stats := []probe.Stats{
		row("baseline", "get", 10, 20),
		{Phase: "baseline", Kind: "mutate", Count: 5, Errors: 5, P50: 3, P99: 3},
		row("baseline", "all", 10, 20),
		row("ramp-step-1", "get", 15, 30),
		row("ramp-step-1", "mutate", 15, 30),
		row("ramp-step-1", "watch", 15, 30), // not probed in the baseline
		row("ramp-step-1", "all", 15, 30),
	}
	got := Verdicts(stats, "baseline", DefaultSLOErrorRate)
	want := []struct {
		level    string
		p50, p99 float64
		pass     bool
	}{
		{LevelBaseline, 1, 1, true},
		{LevelNoData, 0, 0, false},
		{LevelBaseline, 1, 1, true},
		{LevelElevated, 1.5, 1.5, true},
		{LevelNoBaseline, 0, 0, true},
		{LevelNoBaseline, 0, 0, true},
		{LevelElevated, 1.5, 1.5, true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Phase != stats[i].Phase || g.Kind != stats[i].Kind {
			t.Errorf("verdict %d is %s/%s, want the order of stats", i, g.Phase, g.Kind)
		}
		if g.Level != w.level || g.P50Ratio != w.p50 || g.P99Ratio != w.p99 || g.Pass != w.pass {
			t.Errorf("%s/%s: level %q ratios %v %v pass %v; want %q %v %v %v",
				g.Phase, g.Kind, g.Level, g.P50Ratio, g.P99Ratio, g.Pass, w.level, w.p50, w.p99, w.pass)
		}
	}
}

func TestDecide(t *testing.T) {
	pass := Verdict{Phase: "baseline", Kind: "get", Pass: true, SLOPass: true}
	sloFail := Verdict{Phase: "ramp-step-1", Kind: "get", Reason: "p99 1432.1 ms > SLO 1000 ms"}
	noData := Verdict{Phase: "ramp-step-2", Kind: "all", Reason: "no successful samples (12 errors)"}
	ok := func(name string) Phase { return Phase{Name: name, Status: StatusPass} }
	tests := []struct {
		name        string
		phases      []Phase
		verdicts    []Verdict
		interrupted bool
		want        Outcome
	}{
		{"all pass", []Phase{ok("baseline"), ok("ramp-step-1"), {Name: "x", Status: "skipped"}}, []Verdict{pass}, false,
			Outcome{Result: ResultPass, ExitCode: 0}},
		{"slo failed", []Phase{ok("baseline"), ok("ramp-step-1")}, []Verdict{pass, sloFail}, false,
			Outcome{Result: ResultSLOFailed, ExitCode: 2, Reasons: []string{"ramp-step-1/get: p99 1432.1 ms > SLO 1000 ms"}}},
		{"a phase without successes fails the slo", []Phase{ok("ramp-step-2")}, []Verdict{pass, noData}, false,
			Outcome{Result: ResultSLOFailed, ExitCode: 2, Reasons: []string{"ramp-step-2/all: no successful samples (12 errors)"}}},
		{"failed phase", []Phase{ok("baseline"), {Name: "teardown", Status: StatusFail, RC: 1, Error: "namespace stuck"}}, []Verdict{pass}, false,
			Outcome{Result: ResultFailed, ExitCode: 1, Reasons: []string{"phase teardown: fail (rc 1): namespace stuck"}}},
		{"aborted phase", []Phase{{Name: "ramp-step-2", Status: StatusAborted, RC: 1}}, []Verdict{pass}, false,
			Outcome{Result: ResultFailed, ExitCode: 1, Reasons: []string{"phase ramp-step-2: aborted (rc 1)"}}},
		{"non-zero rc with status pass", []Phase{{Name: "teardown", Status: StatusPass, RC: 3}}, []Verdict{pass}, false,
			Outcome{Result: ResultFailed, ExitCode: 1, Reasons: []string{"phase teardown: fail (rc 3)"}}},
		{"interrupted wins over slo", []Phase{ok("baseline")}, []Verdict{pass, sloFail}, true,
			Outcome{Result: ResultFailed, ExitCode: 1, Reasons: []string{"run interrupted", "ramp-step-1/get: p99 1432.1 ms > SLO 1000 ms"}}},
		{"nothing measured", []Phase{ok("baseline")}, nil, false,
			Outcome{Result: ResultFailed, ExitCode: 1, Reasons: []string{"no latency was measured"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.phases, tc.verdicts, tc.interrupted); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

var t0 = time.Date(2026, 3, 4, 3, 29, 28, 0, time.UTC)

// series returns one sample per second from t0 + from seconds, with the given latency.
func series(kind probe.Kind, from, n int, latencyMS float64, errText string) []probe.Sample {
	out := make([]probe.Sample, n)
	for i := range out {
		out[i] = probe.Sample{
			TS: t0.Add(time.Duration(from+i) * time.Second), Phase: "recovery", Kind: kind,
			LatencyMS: latencyMS, Error: errText, Seq: int64(from + i + 1),
		}
	}
	return out
}

func concat(parts ...[]probe.Sample) []probe.Sample {
	var out []probe.Sample
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestRecoveryTime(t *testing.T) {
	// Windows of 5 s from t0: [0,5) 50 ms, [5,10) 30 ms with fast errors that must not count, [10,15)
	// 11 ms (1.1x of 10 ms), then back up: the first qualifying window ends 15 s after the start.
	recovering := concat(
		series(probe.KindGet, 0, 5, 50, ""),
		series(probe.KindGet, 5, 5, 30, ""),
		series(probe.KindReadyz, 5, 5, 1, "connection refused"),
		series(probe.KindGet, 10, 5, 11, ""),
		series(probe.KindGet, 15, 5, 40, ""),
	)
	// 10 s of 20 samples/s: 19 of 20 time out (at 10 s), one fast success (9 ms) each second.
	timeouts := concat(many(probe.KindGet, 0, 10, 1, 9, ""), many(probe.KindReadyz, 0, 10, 19, 10000, "timeout after 10s"))
	// Shuffle the order: RecoveryTime sorts by TS.
	reversed := make([]probe.Sample, len(recovering))
	for i, s := range recovering {
		reversed[len(recovering)-1-i] = s
	}

	b10 := RecoveryBaseline{P50MS: 10, Count: 100}
	tests := []struct {
		name     string
		samples  []probe.Sample
		baseline RecoveryBaseline
		window   time.Duration
		want     Recovery
	}{
		{"recovers after the 3rd window", reversed, b10, 5 * time.Second,
			Recovery{Recovered: true, AfterMS: 15000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 11}},
		{"1.2x counts as recovered", series(probe.KindGet, 0, 10, 12, ""), b10, 5 * time.Second,
			Recovery{Recovered: true, AfterMS: 5000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 12}},
		{"default window", series(probe.KindGet, 0, 10, 12, ""), b10, 0,
			Recovery{Recovered: true, AfterMS: 5000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 12}},
		{"never recovers", series(probe.KindGet, 0, 20, 12.1, ""), b10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 12.1,
				Reason: "no 5s window had a p50 within 1.2x of the baseline p50 10.0 ms and an error ratio no worse than the baseline's 0% (best window: p50 12.1 ms, 0% errors)"}},
		{"only errors", series(probe.KindGet, 0, 20, 1, "timeout"), b10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, Reason: "no successful samples in the recovery phase"}},
		{"no samples", nil, b10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, Reason: "no recovery samples"}},
		{"no baseline", recovering, RecoveryBaseline{}, 5 * time.Second,
			Recovery{WindowMS: 5000, Reason: "the baseline has no successful samples to compare with"}},
		// issue 12 item 6: 95% timeouts with a few fast answers is not recovered
		{"timeouts with a few fast successes are not recovered", timeouts, b10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 9, WindowErrorPct: 95,
				Reason: "no 5s window had a p50 within 1.2x of the baseline p50 10.0 ms and an error ratio no worse than the baseline's 0% (best window: p50 9.00 ms, 95% errors); 2 windows had the p50 back but significantly more errors than the baseline"}},
		{"as many errors as the baseline is recovered", series(probe.KindGet, 0, 10, 9, ""), RecoveryBaseline{P50MS: 10, Count: 100, Errors: 5}, 5 * time.Second,
			Recovery{Recovered: true, AfterMS: 5000, WindowMS: 5000, BaselineP50MS: 10, BaselineErrorPct: 5, WindowP50MS: 9}},
		{"one error in a window is no significant rise", concat(many(probe.KindGet, 0, 5, 20, 9, ""), many(probe.KindReadyz, 0, 1, 1, 10000, "timeout")), b10, 5 * time.Second,
			Recovery{Recovered: true, AfterMS: 5000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 9, WindowErrorPct: 0.99}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RecoveryTime(tc.samples, tc.baseline, tc.window); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("RecoveryTime = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// many returns perSecond samples in each second of [from, from+n).
func many(kind probe.Kind, from, n, perSecond int, latencyMS float64, errText string) []probe.Sample {
	var out []probe.Sample
	for i := range n * perSecond {
		s := series(kind, from+i/perSecond, 1, latencyMS, errText)[0]
		s.TS = s.TS.Add(time.Duration(i%perSecond) * time.Second / time.Duration(perSecond))
		out = append(out, s)
	}
	return out
}

func TestRecoveryString(t *testing.T) {
	r := RecoveryTime(concat(series(probe.KindGet, 0, 5, 50, ""), series(probe.KindGet, 5, 5, 9.5, "")), RecoveryBaseline{P50MS: 10, Count: 10}, 5*time.Second)
	if got, want := r.String(), "recovered after 10s: p50 9.50 ms within 1.2x of the baseline p50 10.0 ms, 0% errors (baseline 0%) (5s windows)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r = RecoveryTime(nil, RecoveryBaseline{P50MS: 10}, time.Second)
	if got := r.String(); !strings.HasPrefix(got, "not recovered: ") {
		t.Errorf("String() = %q", got)
	}
}

func TestNewRecoveryBaseline(t *testing.T) {
	b := NewRecoveryBaseline(concat(series(probe.KindGet, 0, 3, 10, ""), series(probe.KindGet, 3, 1, 1, "timeout")))
	if b != (RecoveryBaseline{P50MS: 10, Count: 4, Errors: 1}) {
		t.Errorf("NewRecoveryBaseline = %+v", b)
	}
}

func TestBaselineP50IgnoresErrors(t *testing.T) {
	samples := concat(series(probe.KindGet, 0, 3, 10, ""), series(probe.KindGet, 3, 10, 1, "forbidden"))
	if got := BaselineP50(samples); got != 10 {
		t.Errorf("BaselineP50 = %v, want 10 (errors left out)", got)
	}
	if got := BaselineP50(series(probe.KindGet, 0, 3, 1, "forbidden")); got != 0 {
		t.Errorf("BaselineP50 of errors only = %v, want 0", got)
	}
}
