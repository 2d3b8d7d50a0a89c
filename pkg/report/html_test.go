package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// syntheticRun builds a run of baseline, ramp-step-1 and recovery with get and list-cluster samples, some
// of them errors, and the run document the run would write for it.
func syntheticRun() (*result.Doc, []probe.Sample) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var all []probe.Sample
	var phases []result.Phase
	var stats []probe.Stats
	at := start
	for i, ph := range []struct {
		name, typ string
		base      float64
	}{{"baseline", result.PhaseTypeProbe, 5}, {"ramp-step-1", result.PhaseTypeRamp, 80}, {"recovery", result.PhaseTypeRecovery, 6}} {
		var ps []probe.Sample
		for _, k := range []probe.Kind{probe.KindGet, probe.KindListCluster} {
			for n := range 120 {
				s := probe.Sample{TS: at.Add(time.Duration(n) * 250 * time.Millisecond), Phase: ph.name, Kind: k, Verb: "get",
					LatencyMS: ph.base * (1 + float64(n%7)/3), Status: 200, Seq: int64(n + 1), Source: probe.SourceLocal}
				if i == 1 && n%20 == 0 {
					s.LatencyMS, s.Status, s.Error = 5000, 0, "timeout <b>after</b> 5s"
				}
				ps = append(ps, s)
			}
		}
		for _, st := range probe.ByKind(ps) {
			st.Phase = ph.name
			stats = append(stats, st)
		}
		phases = append(phases, result.Phase{Name: ph.name, Type: ph.typ, Start: at, End: at.Add(30 * time.Second), Status: result.StatusPass})
		all = append(all, ps...)
		at = at.Add(31 * time.Second)
	}
	verdicts := result.Verdicts(stats, "baseline", result.DefaultSLOErrorRate)
	rec := result.RecoveryTime(all[len(all)-240:], result.RecoveryBaseline{P50MS: 5, Count: 240}, result.DefaultRecoveryWindow)
	doc := &result.Doc{
		Version: version.Info{Version: "v0.1.0"}, RunID: "r-<script>alert(1)</script>", Server: "https://10.0.0.1:6443",
		Start: start, End: at, Flags: map[string]string{"steps": "1", "modes": "api"}, Modes: []string{"api"},
		Settings:    map[string]map[string]float64{"api": {"qps": 20}},
		Safety:      json.RawMessage(`{"maxObjects":100,"namespaces":["pyrometer-x"]}`),
		Fingerprint: result.Fingerprint{ServerVersion: "v1.31.0", Nodes: 3, ReadyNodes: 3, AllocatableCPU: "12", AllocatableMem: "48Gi"},
		Phases:      phases, Stats: stats, Verdicts: verdicts, Recovery: &rec,
		ServerSide: map[string][]probe.ServerStat{"ramp-step-1": {{Verb: "GET", Resource: "configmaps", Scope: "resource",
			Count: 120, Mean: 61.25, P50Bucket: "<=50", P90Bucket: "<=100", P99Bucket: "<=250", Metric: "apiserver_request_sli_duration_seconds"}}},
		ServerSideNotes: map[string]string{"recovery": "the apiserver process changed between the snapshots"},
		Outcome:         result.Decide(phases, verdicts, false),
		Failures:        []result.Failure{{Time: start, Phase: "ramp-step-1", Reason: "kube-burner said <no>"}},
	}
	return doc, all
}

func TestWriteHTML(t *testing.T) {
	doc, samples := syntheticRun()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, doc, samples); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	out := buf.String()
	root, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	var h2 []string
	svgs := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h2":
				if n.FirstChild != nil {
					h2 = append(h2, n.FirstChild.Data)
				}
			case "svg":
				svgs++
			case "script", "link", "img", "iframe", "object", "embed":
				t.Errorf("report.html has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				if a.Key == "src" || (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) {
					t.Errorf("<%s %s=%q>: external reference", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if strings.Join(h2, "|") != strings.Join(HTMLSections, "|") {
		t.Errorf("sections = %q, want %q", h2, HTMLSections)
	}
	// Two kinds: a timeline and a distribution chart each.
	if svgs != 4 {
		t.Errorf("got %d <svg> charts, want 4", svgs)
	}
	// The only URL is the server address from run.json, shown as text; nothing else may look like one.
	rest := strings.ReplaceAll(out, "https://10.0.0.1:6443", "")
	for _, bad := range []string{"http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(rest, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	for _, want := range []string{
		"baseline", "ramp-step-1", "recovery", // phase bands and tables
		`class="err"`, "SLO p99 ≤ 1 s", "SLO p99 ≤ 30 s", // errors marked, both SLOs drawn
		"v1.31.0", "48Gi", "pyrometer-x", "--steps", "qps", "&lt;=250", "kube-burner said &lt;no&gt;",
		"<h3>recovery</h3><p class=\"muted\">None.</p><p class=\"note\">no server-side rows: the apiserver process changed between the snapshots</p>",
		"<td>61.2</td>", // the exact mean beside the buckets
		"r-&lt;script&gt;alert(1)&lt;/script&gt;", "recovered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") || strings.Contains(out, "<b>after</b>") {
		t.Error("report.html has unescaped input")
	}
}

func TestWriteHTMLWithoutSamples(t *testing.T) {
	doc, _ := syntheticRun()
	b, _ := json.Marshal(doc)
	var d result.Doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, &d, nil); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if got := strings.Count(buf.String(), "<svg"); got != 2 {
		t.Errorf("got %d charts without samples, want the 2 distributions", got)
	}
	if !strings.Contains(buf.String(), "No samples") {
		t.Error("missing the no-samples note")
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, &result.Doc{}, nil); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if _, err := html.Parse(&buf); err != nil {
		t.Fatal(err)
	}
}
