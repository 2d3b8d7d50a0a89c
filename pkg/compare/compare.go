// Package compare compares two finished runs or probes (two results directories with run.json and probe.jsonl): latency
// percentiles per phase and probe kind, whether the difference is statistically significant on the raw samples
// (MannWhitney), whether the error ratio rose significantly (stat.ErrorRatioTest), and what differs between the two runs' cluster and configuration.
package compare

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stat"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// Run is one loaded run directory.
type Run struct {
	Dir    string
	Result *result.Doc
	// Samples holds the local samples of probe.jsonl, streamed into per phase and kind latencies (4 bytes each:
	// a 24-hour run's file does not fit in memory as samples).
	Samples *probe.Aggregate
}

// Load reads dir/run.json and dir/probe.jsonl (of a run or of probe --output-dir). Errors are one line naming the
// file.
func Load(dir string) (*Run, error) {
	doc, err := result.Load(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Result: doc}
	if doc.Samples == nil {
		path := filepath.Join(dir, result.SamplesFile)
		_, err := os.Stat(path)
		if err == nil {
			err = fs.ErrNotExist
		}
		return nil, fmt.Errorf("failed to read %s: %w", path, result.PathError(err))
	}
	r.Samples = probe.NewAggregate()
	err = doc.Samples.Each(func(s probe.Sample) error {
		if probe.SourceOf(s) == probe.SourceLocal { // the in-cluster probe's samples are not compared
			r.Samples.Add(s)
		}
		return nil
	})
	if err != nil {
		// The sample file names path:line already ("dir/probe.jsonl:3: malformed line: ...").
		return nil, fmt.Errorf("failed to read %s", oneLine(err.Error()))
	}
	return r, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Report is the comparison of run A with run B.
type Report struct {
	A    RunInfo `json:"a"`
	B    RunInfo `json:"b"`
	Test string  `json:"test"`
	// ErrorTest names the test of the error ratios (ErrorTestName).
	ErrorTest string  `json:"errorTest"`
	Alpha     float64 `json:"alpha"`
	// Rows holds one row per phase and probe kind with local samples in both runs, in A's phase order.
	Rows []Row `json:"rows"`
	// Differences lists what differs between the runs' cluster fingerprint and configuration; empty when
	// the runs are comparable.
	Differences []Difference `json:"differences"`
	Comparable  bool         `json:"comparable"`
	// Knee compares the answers of two knee searches; nil unless both runs are knee searches.
	Knee *KneeChange `json:"knee,omitempty"`
}

// KneeChange is the knee of A and of B and the change of the knee in percent of A's (nil when A has none).
type KneeChange struct {
	A         KneeAnswer `json:"a"`
	B         KneeAnswer `json:"b"`
	ChangePct *float64   `json:"changePct"`
}

// KneeAnswer is one search's answer (the fields of run.json's knee section).
type KneeAnswer struct {
	Status      string  `json:"status"`
	Knee        float64 `json:"knee"`
	Sustainable float64 `json:"sustainable"`
	FailedAt    float64 `json:"failed_at,omitempty"`
	Criterion   string  `json:"criterion,omitempty"`
}

// RunInfo identifies a compared run.
type RunInfo struct {
	Dir   string `json:"dir"`
	RunID string `json:"runID"`
}

// Row compares one phase and probe kind. Counts and percentiles are of successful local samples (latency in
// ms, nearest rank); errors are counted apart and compared as an error ratio (errors / all requests, timeouts
// included). Changes are (B-A)/A in percent, nil when A's value is 0.
type Row struct {
	Phase        string             `json:"phase"`
	Kind         probe.Kind         `json:"kind"`
	CountA       int                `json:"countA"`
	CountB       int                `json:"countB"`
	ErrorsA      int                `json:"errorsA"`
	ErrorsB      int                `json:"errorsB"`
	P50A         float64            `json:"p50A"`
	P50B         float64            `json:"p50B"`
	P50ChangePct *float64           `json:"p50ChangePct,omitempty"`
	P99A         float64            `json:"p99A"`
	P99B         float64            `json:"p99B"`
	P99ChangePct *float64           `json:"p99ChangePct,omitempty"`
	Test         *MannWhitneyResult `json:"test,omitempty"` // nil with fewer than MinSamples on either side
	Significant  bool               `json:"significant"`    // Test.P < Alpha
	Note         string             `json:"note,omitempty"` // "too few samples"
	// ErrorPctA and ErrorPctB are the error ratios in percent; ErrorTest compares them (always present: an error
	// ratio is defined from one request on), ErrorSignificant is ErrorTest.P < Alpha.
	ErrorPctA        float64                `json:"errorPctA"`
	ErrorPctB        float64                `json:"errorPctB"`
	ErrorTest        *stat.ProportionResult `json:"errorTest,omitempty"`
	ErrorSignificant bool                   `json:"errorSignificant"`
}

// Difference is one fingerprint or configuration field that differs between the runs.
type Difference struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// Regression is a significant increase of p50, p99 or the error ratio.
type Regression struct {
	Phase     string     `json:"phase"`
	Kind      probe.Kind `json:"kind"`
	Quantile  string     `json:"quantile"` // "p50", "p99" or "errors" (A and B are then error ratios in percent)
	A         float64    `json:"a"`
	B         float64    `json:"b"`
	ChangePct float64    `json:"changePct"` // +Inf (JSON: omitted) when A's error ratio is 0
	P         float64    `json:"p"`
	// Method is the test of P: "Mann-Whitney", or stat.MethodFisher / stat.MethodZ for the error ratio.
	Method string `json:"method"`
	// AllFailed: B has samples of this phase and kind, all failed, where A had successes.
	AllFailed bool `json:"allFailed,omitempty"`
}

func (g Regression) String() string {
	switch {
	case g.AllFailed:
		return fmt.Sprintf("%s %s: every request failed in B (error ratio %.1f%% -> %.1f%%)", g.Phase, g.Kind, g.A, g.B)
	case g.Quantile == "errors" && math.IsInf(g.ChangePct, 1):
		return fmt.Sprintf("%s %s error ratio rose from 0%% to %.2f%% (%s p=%.3g)", g.Phase, g.Kind, g.B, g.Method, g.P)
	case g.Quantile == "errors":
		return fmt.Sprintf("%s %s error ratio rose %.1f%% (%.2f%% -> %.2f%%, %s p=%.3g)", g.Phase, g.Kind, g.ChangePct, g.A, g.B, g.Method, g.P)
	}
	return fmt.Sprintf("%s %s %s rose %.1f%% (%.3f -> %.3f ms, %s p=%.3g)",
		g.Phase, g.Kind, g.Quantile, g.ChangePct, g.A, g.B, g.Method, g.P)
}

// MarshalJSON keeps an infinite ChangePct (a rise from 0 errors) out of the JSON, which has no infinity.
func (g Regression) MarshalJSON() ([]byte, error) {
	type plain Regression
	out := struct {
		plain
		ChangePct *float64 `json:"changePct,omitempty"`
	}{plain: plain(g)}
	if !math.IsInf(g.ChangePct, 0) {
		out.ChangePct = &g.ChangePct
	}
	return json.Marshal(out)
}

// Compare compares a with b. alpha is the significance level of the Mann-Whitney test.
func Compare(a, b *Run, alpha float64) Report {
	rep := Report{A: RunInfo{Dir: a.Dir, RunID: a.Result.RunID}, B: RunInfo{Dir: b.Dir, RunID: b.Result.RunID},
		Test: TestName, ErrorTest: ErrorTestName, Alpha: alpha, Rows: []Row{}}
	// A knee search's n-th step ran at a rate of its own: its steps are compared rate by rate (phaseLabels).
	ga, gb := groupSamples(a.Samples, phaseLabels(a.Result)), groupSamples(b.Samples, phaseLabels(b.Result))
	setupA, setupB := hasSetup(a.Result), hasSetup(b.Result)
	for _, k := range orderKeys(a, ga, gb) {
		sa, inA := ga[k]
		sb, inB := gb[k]
		switch {
		case inA && inB:
			rep.Rows = append(rep.Rows, compareRow(k, sa, sb, alpha))
		case setupA != setupB && isSetup(a.Result, b.Result, k.phase):
			// a run of a version before setup sub-phases: one difference below, not one per kind
		case inA:
			rep.Differences = append(rep.Differences, Difference{Field: "samples " + k.phase + "/" + string(k.kind), A: "present", B: "none"})
		default:
			rep.Differences = append(rep.Differences, Difference{Field: "samples " + k.phase + "/" + string(k.kind), A: "none", B: "present"})
		}
	}
	if setupA != setupB {
		measured := map[bool]string{true: "measured (sub-phases <step>-setup)", false: "not measured (a version without setup sub-phases)"}
		rep.Differences = append(rep.Differences, Difference{Field: "ramp step setup", A: measured[setupA], B: measured[setupB]})
	}
	rep.Differences = append(configDiff(a.Result, b.Result), rep.Differences...)
	if ka, kb := a.Result.Knee, b.Result.Knee; ka != nil && kb != nil {
		rep.Knee = &KneeChange{A: kneeAnswer(ka.Result), B: kneeAnswer(kb.Result), ChangePct: changePct(ka.Knee, kb.Knee)}
	} else if ka != nil || kb != nil {
		rep.Differences = append([]Difference{{Field: "command", A: commandOf(a.Result), B: commandOf(b.Result)}}, rep.Differences...)
	}
	if rep.Differences == nil {
		rep.Differences = []Difference{}
	}
	rep.Comparable = len(rep.Differences) == 0
	return rep
}

// WorstRegression returns the worst regression, or nil: a kind with successes in A whose every request failed in
// B; else the largest significant (p < Alpha) rise of the error ratio by more than thresholdPct percent of A's
// ratio (any significant rise from 0); else the largest significant p50 or p99 increase above thresholdPct.
// Failures rank first: requests that fail are worse than requests that are slow.
func (r Report) WorstRegression(thresholdPct float64) *Regression {
	var worstErr, worstLat *Regression
	for _, row := range r.Rows {
		if row.CountA > 0 && row.CountB == 0 && row.ErrorsB > 0 {
			return &Regression{Phase: row.Phase, Kind: row.Kind, Quantile: "errors", A: row.ErrorPctA, B: row.ErrorPctB,
				ChangePct: errChange(row.ErrorPctA, row.ErrorPctB), P: row.ErrorTest.P, Method: row.ErrorTest.Method, AllFailed: true}
		}
		if row.ErrorSignificant && row.ErrorPctB > row.ErrorPctA {
			if c := errChange(row.ErrorPctA, row.ErrorPctB); c > thresholdPct && (worstErr == nil || c > worstErr.ChangePct) {
				worstErr = &Regression{Phase: row.Phase, Kind: row.Kind, Quantile: "errors", A: row.ErrorPctA, B: row.ErrorPctB,
					ChangePct: c, P: row.ErrorTest.P, Method: row.ErrorTest.Method}
			}
		}
		if !row.Significant || row.Test == nil {
			continue
		}
		for _, q := range []struct {
			name   string
			a, b   float64
			change *float64
		}{{"p50", row.P50A, row.P50B, row.P50ChangePct}, {"p99", row.P99A, row.P99B, row.P99ChangePct}} {
			if q.change == nil || *q.change <= thresholdPct {
				continue
			}
			if worstLat == nil || *q.change > worstLat.ChangePct {
				worstLat = &Regression{Phase: row.Phase, Kind: row.Kind, Quantile: q.name, A: q.a, B: q.b,
					ChangePct: *q.change, P: row.Test.P, Method: "Mann-Whitney"}
			}
		}
	}
	if worstErr != nil {
		return worstErr
	}
	return worstLat
}

// errChange is the relative change of an error ratio in percent, +Inf from 0.
func errChange(a, b float64) float64 {
	if a == 0 {
		if b > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return math.Round((b-a)/a*100*10) / 10
}

type key struct {
	phase string
	kind  probe.Kind
}

// group is one phase and kind of a run's local samples; its latencies are read when its row is compared.
type group struct {
	agg *probe.Aggregate
	key probe.GroupKey
}

// groupSamples groups the local samples by phase (renamed by labels when it has a label) and kind.
func groupSamples(agg *probe.Aggregate, labels map[string]string) map[key]*group {
	m := map[key]*group{}
	if agg == nil {
		return m
	}
	for _, k := range agg.Keys() {
		if k.Source == probe.SourceLocal {
			m[key{label(labels, k.Phase), k.Kind}] = &group{agg: agg, key: k}
		}
	}
	return m
}

func label(labels map[string]string, phase string) string {
	if l, ok := labels[phase]; ok {
		return l
	}
	return phase
}

// phaseLabels names a knee search's steps and cool-downs by the rate they ran at ("knee@283/s", "cooldown@283/s";
// the second step a search ran at the same rate, such as a bisection step and its confirmation, "knee@283/s#2"),
// so that two searches, whose n-th steps ran at different rates, are compared at the same rate; nil for a run.
func phaseLabels(doc *result.Doc) map[string]string {
	if doc.Knee == nil {
		return nil
	}
	m := map[string]string{}
	seen := map[string]int{}
	for _, st := range doc.Knee.Steps {
		r := knee.FormatRate(st.Rate)
		seen[r]++
		suffix := ""
		if seen[r] > 1 {
			suffix = "#" + strconv.Itoa(seen[r])
		}
		m[fmt.Sprintf("knee-step-%d", st.N)] = "knee@" + r + "/s" + suffix
		m[fmt.Sprintf("cooldown-%d", st.N)] = "cooldown@" + r + "/s" + suffix
	}
	return m
}

func kneeAnswer(k knee.Result) KneeAnswer {
	return KneeAnswer{Status: k.Status, Knee: k.Knee, Sustainable: k.Sustainable, FailedAt: k.FailedAt, Criterion: k.Criterion}
}

func commandOf(doc *result.Doc) string {
	switch {
	case doc.Knee != nil:
		return "knee"
	case doc.Command != "":
		return doc.Command
	}
	return "run"
}

// orderKeys returns the keys of ga and gb: phases in A's run.json order (then others by name), kinds by name.
func orderKeys(a *Run, ga, gb map[key]*group) []key {
	pos := map[string]int{}
	labels := phaseLabels(a.Result)
	for i, p := range a.Result.Phases {
		if _, ok := pos[label(labels, p.Name)]; !ok {
			pos[label(labels, p.Name)] = i
		}
	}
	var keys []key
	for _, m := range []map[key]*group{ga, gb} {
		for k := range m {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, iok := pos[keys[i].phase]
		pj, jok := pos[keys[j].phase]
		switch {
		case iok != jok:
			return iok
		case iok && pi != pj:
			return pi < pj
		case keys[i].phase != keys[j].phase:
			return keys[i].phase < keys[j].phase
		}
		return keys[i].kind < keys[j].kind
	})
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}

// side is one run's successful latencies (ascending) and error count of a row.
type side struct {
	ok     []float64
	errors int
}

func compareRow(k key, ga, gb *group, alpha float64) Row {
	var a, b side
	a.ok, a.errors = ga.agg.Successes(ga.key)
	b.ok, b.errors = gb.agg.Successes(gb.key)
	row := Row{Phase: k.phase, Kind: k.kind, CountA: len(a.ok), CountB: len(b.ok), ErrorsA: a.errors, ErrorsB: b.errors,
		P50A: probe.Percentile(a.ok, 0.50), P50B: probe.Percentile(b.ok, 0.50),
		P99A: probe.Percentile(a.ok, 0.99), P99B: probe.Percentile(b.ok, 0.99),
		ErrorPctA: errorPct(a), ErrorPctB: errorPct(b)}
	row.P50ChangePct = changePct(row.P50A, row.P50B)
	row.P99ChangePct = changePct(row.P99A, row.P99B)
	et := stat.ErrorRatioTest(a.errors, len(a.ok)+a.errors, b.errors, len(b.ok)+b.errors)
	row.ErrorTest = &et
	row.ErrorSignificant = et.P < alpha
	if len(a.ok) < MinSamples || len(b.ok) < MinSamples {
		row.Note = "too few samples"
		return row
	}
	res, err := MannWhitney(a.ok, b.ok)
	if err != nil { // not reachable: both sides have MinSamples
		row.Note = err.Error()
		return row
	}
	row.Test = &res
	row.Significant = res.P < alpha
	return row
}

func errorPct(g side) float64 {
	n := len(g.ok) + g.errors
	if n == 0 {
		return 0
	}
	return math.Round(100*float64(g.errors)/float64(n)*1000) / 1000
}

func changePct(a, b float64) *float64 {
	if a == 0 {
		return nil
	}
	v := math.Round((b-a)/a*100*10) / 10
	return &v
}

// ignoredFlags do not change what is measured.
var ignoredFlags = map[string]bool{"output": true, "output-dir": true, "run-id": true, "yes": true, "print-config": true}

func configDiff(a, b *result.Doc) []Difference {
	var d []Difference
	add := func(field, va, vb string) {
		if va != vb {
			d = append(d, Difference{Field: field, A: va, B: vb})
		}
	}
	add("plugin version", pluginVersion(a.Version), pluginVersion(b.Version))
	add("server", a.Server, b.Server)
	fa, fb := a.Fingerprint, b.Fingerprint
	add("kubernetes version", fa.ServerVersion, fb.ServerVersion)
	add("nodes", strconv.Itoa(fa.Nodes), strconv.Itoa(fb.Nodes))
	add("ready nodes", strconv.Itoa(fa.ReadyNodes), strconv.Itoa(fb.ReadyNodes))
	add("allocatable cpu", fa.AllocatableCPU, fb.AllocatableCPU)
	add("allocatable memory", fa.AllocatableMem, fb.AllocatableMem)
	add("fingerprint error", fa.Error, fb.Error)
	add("modes", modeList(a.Modes), modeList(b.Modes))
	for _, k := range unionKeys(flatten(a.Settings), flatten(b.Settings)) {
		add("setting "+k, orNone(flatten(a.Settings), k), orNone(flatten(b.Settings), k))
	}
	for _, k := range unionKeys(a.Flags, b.Flags) {
		if ignoredFlags[k] {
			continue
		}
		add("--"+k, orDefault(a.Flags, k), orDefault(b.Flags, k))
	}
	return d
}

func pluginVersion(v version.Info) string {
	if v == (version.Info{}) {
		return "(unknown)"
	}
	return v.Version
}

func modeList(m []string) string {
	s := append([]string(nil), m...)
	sort.Strings(s)
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ",")
}

func flatten(s map[string]map[string]float64) map[string]string {
	out := map[string]string{}
	for mode, params := range s {
		for p, v := range params {
			out[mode+"."+p] = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	return out
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func orNone(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "(none)"
}

// orDefault: run.json records only the flags that were set.
func orDefault(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "(default)"
}

// hasSetup says whether a run measured its ramp steps' setup as sub-phases (type setup; runs of older versions did
// not probe during a step's setup at all). Their windows are comparable either way: the step's phase is its window.
func hasSetup(doc *result.Doc) bool {
	for _, p := range doc.Phases {
		if p.Type == result.PhaseTypeSetup {
			return true
		}
	}
	return false
}

// isSetup says whether phase is a setup sub-phase of a or b.
func isSetup(a, b *result.Doc, phase string) bool {
	for _, doc := range []*result.Doc{a, b} {
		for _, p := range doc.Phases {
			if p.Name == phase && p.Type == result.PhaseTypeSetup {
				return true
			}
		}
	}
	return false
}
