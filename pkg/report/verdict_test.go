package report

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
			v := Verdicts(stats, "baseline")[1]
			if v.Level != tc.wantLevel || v.P50Ratio != tc.wantP50 || v.P99Ratio != tc.wantP99 {
				t.Errorf("level %q, ratios p50 %v p99 %v; want %q, %v, %v", v.Level, v.P50Ratio, v.P99Ratio, tc.wantLevel, tc.wantP50, tc.wantP99)
			}
		})
	}
}

func TestVerdictRatioIsRoundedBeforeClassification(t *testing.T) {
	// 2.46/2.05 is 1.2000000000000002 in float64: the displayed "1.20x" must be nominal.
	stats := []probe.Stats{row("baseline", "get", 2.05, 2.05), row("recovery", "get", 2.46, 2.05)}
	v := Verdicts(stats, "baseline")[1]
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
			"low-count p99 says it is the maximum",
			probe.Stats{Phase: "ramp-step-1", Kind: "readyz", Count: 12, P50: 5, P99: 1500, LowCount: []string{"p95", "p99"}},
			false, "p99 1500.0 ms > SLO 1000 ms (only 12 samples: p99 is their maximum)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Verdicts([]probe.Stats{tc.stats}, "")[0]
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

func TestVerdictOnlyErrorsIsNoData(t *testing.T) {
	// Fast failures (403 in 2 ms) must not pass the SLO nor look nominal.
	errorsOnly := probe.Stats{Phase: "ramp-step-2", Kind: "get", Count: 12, Errors: 12, ErrorPct: 100, P50: 2, P99: 2}
	stats := []probe.Stats{row("baseline", "get", 10, 20), errorsOnly}
	v := Verdicts(stats, "baseline")[1]
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
	v = Verdicts([]probe.Stats{empty}, "")[0]
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
	got := Verdicts(stats, "baseline")
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
		{"all pass", []Phase{ok("baseline"), ok("ramp-step-1"), {Name: "x", Status: StatusSkipped}}, []Verdict{pass}, false,
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
	// Shuffle the order: RecoveryTime sorts by TS.
	reversed := make([]probe.Sample, len(recovering))
	for i, s := range recovering {
		reversed[len(recovering)-1-i] = s
	}

	tests := []struct {
		name     string
		samples  []probe.Sample
		baseline float64
		window   time.Duration
		want     Recovery
	}{
		{"recovers after the 3rd window", reversed, 10, 5 * time.Second,
			Recovery{Recovered: true, AfterMS: 15000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 11}},
		{"1.2x counts as recovered", series(probe.KindGet, 0, 10, 12, ""), 10, 5 * time.Second,
			Recovery{Recovered: true, AfterMS: 5000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 12}},
		{"default window", series(probe.KindGet, 0, 10, 12, ""), 10, 0,
			Recovery{Recovered: true, AfterMS: 5000, WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 12}},
		{"never recovers", series(probe.KindGet, 0, 20, 12.1, ""), 10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, WindowP50MS: 12.1,
				Reason: "no 5s window had a p50 within 1.2x of the baseline p50 10.0 ms (best window: 12.1 ms)"}},
		{"only errors", series(probe.KindGet, 0, 20, 1, "timeout"), 10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, Reason: "no successful samples in the recovery phase"}},
		{"no samples", nil, 10, 5 * time.Second,
			Recovery{WindowMS: 5000, BaselineP50MS: 10, Reason: "no recovery samples"}},
		{"no baseline", recovering, 0, 5 * time.Second,
			Recovery{WindowMS: 5000, Reason: "the baseline has no successful samples to compare with"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RecoveryTime(tc.samples, tc.baseline, tc.window); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("RecoveryTime = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestRecoveryString(t *testing.T) {
	r := RecoveryTime(concat(series(probe.KindGet, 0, 5, 50, ""), series(probe.KindGet, 5, 5, 9.5, "")), 10, 5*time.Second)
	if got, want := r.String(), "recovered after 10s: p50 9.50 ms within 1.2x of the baseline p50 10.0 ms (5s windows)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r = RecoveryTime(nil, 10, time.Second)
	if got := r.String(); !strings.HasPrefix(got, "not recovered: ") {
		t.Errorf("String() = %q", got)
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
