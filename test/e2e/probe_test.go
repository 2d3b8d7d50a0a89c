//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type probeStats struct {
	Kind   string  `json:"kind"`
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
}

type probeResult struct {
	RunID      string       `json:"runID"`
	Server     string       `json:"server"`
	Kinds      []string     `json:"kinds"`
	Local      []probeStats `json:"local"`
	Cluster    []probeStats `json:"cluster"`
	ServerSide []struct {
		Verb  string `json:"verb"`
		Count int    `json:"count"`
	} `json:"serverSide"`
	Notes []string `json:"notes"`
}

var allKinds = []string{"readyz", "get", "list-namespace", "list-cluster", "mutate", "watch"}

func decodeProbe(t *testing.T, r result) probeResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("probe exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	var pr probeResult
	if err := json.Unmarshal([]byte(r.stdout), &pr); err != nil {
		t.Fatalf("probe -o json is not JSON (%v):\n%s", err, r.stdout)
	}
	return pr
}

func assertEveryKind(t *testing.T, rows []probeStats, what string) {
	t.Helper()
	got := map[string]probeStats{}
	for _, s := range rows {
		got[s.Kind] = s
	}
	for _, k := range allKinds {
		s, ok := got[k]
		if !ok || s.Count == 0 {
			t.Errorf("%s: no samples for kind %s: %+v", what, k, rows)
			continue
		}
		if s.Errors != 0 {
			t.Errorf("%s: kind %s has %d errors", what, k, s.Errors)
		}
		if s.P50 <= 0 || s.P50 > 5000 {
			t.Errorf("%s: kind %s p50 %v ms is not a plausible latency", what, k, s.P50)
		}
	}
}

// assertNothingLeft checks that no labelled object of the run remains (namespaces are awaited by the plugin).
func assertNothingLeft(t *testing.T, runID string) {
	t.Helper()
	if runID == "" {
		t.Fatal("no run id to check for leftovers")
	}
	c := adminClient(t)
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubectl-pyrometer,kubepyrometer.io/run-id=" + runID}
	var left []string
	nss, _ := c.CoreV1().Namespaces().List(ctx, sel)
	for _, n := range nss.Items {
		left = append(left, "namespace/"+n.Name)
	}
	crs, _ := c.RbacV1().ClusterRoles().List(ctx, sel)
	for _, o := range crs.Items {
		left = append(left, "clusterrole/"+o.Name)
	}
	crbs, _ := c.RbacV1().ClusterRoleBindings().List(ctx, sel)
	for _, o := range crbs.Items {
		left = append(left, "clusterrolebinding/"+o.Name)
	}
	roles, _ := c.RbacV1().Roles("").List(ctx, sel)
	for _, o := range roles.Items {
		left = append(left, "role/"+o.Namespace+"/"+o.Name)
	}
	rbs, _ := c.RbacV1().RoleBindings("").List(ctx, sel)
	for _, o := range rbs.Items {
		left = append(left, "rolebinding/"+o.Namespace+"/"+o.Name)
	}
	cms, _ := c.CoreV1().ConfigMaps("").List(ctx, sel)
	for _, o := range cms.Items {
		left = append(left, "configmap/"+o.Namespace+"/"+o.Name)
	}
	if len(left) > 0 {
		t.Errorf("run %s left objects behind: %v", runID, left)
	}
}

func TestProbeEveryKindLocal(t *testing.T) {
	dir := t.TempDir()
	r := plugin(t, 2*time.Minute, "probe", "--duration", "6s", "--interval", "500ms", "-o", "json", "--output-dir", dir)
	pr := decodeProbe(t, r)
	assertEveryKind(t, pr.Local, "local")
	if len(pr.ServerSide) == 0 {
		t.Errorf("cluster-admin may read /metrics: want server-side rows, notes: %v", pr.Notes)
	}
	// probe.jsonl: one sample per line, all local, open loop: 12 slots per kind in 6s at 500ms
	f, err := os.Open(filepath.Join(dir, "probe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	perKind := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s struct {
			TS, Kind, Verb, Source string
			Latency                float64 `json:"latency_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("probe.jsonl line %q: %v", sc.Text(), err)
		}
		if s.Source != "local" || s.TS == "" || s.Latency <= 0 {
			t.Errorf("bad sample: %s", sc.Text())
		}
		perKind[s.Kind+"/"+s.Verb]++
	}
	for _, k := range []string{"readyz/get", "get/get", "list-cluster/list", "mutate/create", "mutate/patch", "mutate/delete", "watch/watch"} {
		if perKind[k] != 12 {
			t.Errorf("%s: %d samples in probe.jsonl, want 12 (6s / 500ms, open loop)", k, perKind[k])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "probe-stats.csv")); err != nil {
		t.Error(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	// One chart per kind over time and one distribution per kind; no external reference.
	if n := strings.Count(string(page), "<svg"); n != 2*6 {
		t.Errorf("report.html has %d charts, want 12 (6 kinds x over time + distribution)", n)
	}
	rest := strings.ReplaceAll(string(page), pr.Server, "") // the server address is shown as text
	for _, bad := range []string{"http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(rest, bad) {
			t.Errorf("report.html contains %q: it must not refer to anything outside itself", bad)
		}
	}
	assertNothingLeft(t, pr.RunID)
}

func TestProbeInCluster(t *testing.T) {
	r := plugin(t, 4*time.Minute, "probe", "--duration", "8s", "--probe-from", "both", "-o", "json")
	pr := decodeProbe(t, r)
	assertEveryKind(t, pr.Local, "local")
	assertEveryKind(t, pr.Cluster, "in-cluster")
	assertNothingLeft(t, pr.RunID)
}

func TestProbeInClusterImageCannotBePulled(t *testing.T) {
	r := plugin(t, 4*time.Minute, "probe", "--duration", "3s", "--probes", "readyz", "--probe-from", "both",
		"--probe-image", "localhost:1/pyrometer/does-not-exist:v0", "-o", "json")
	pr := decodeProbe(t, r)
	if len(pr.Local) == 0 || len(pr.Cluster) != 0 {
		t.Fatalf("with both, a failed in-cluster probe must leave the local one: %+v", pr)
	}
	if !strings.Contains(r.stderr, "cannot pull image localhost:1/pyrometer/does-not-exist:v0") {
		t.Errorf("stderr must name the image that cannot be pulled:\n%s", r.stderr)
	}
	assertNothingLeft(t, pr.RunID)

	r = plugin(t, 4*time.Minute, "probe", "--duration", "3s", "--probes", "readyz", "--probe-from", "cluster",
		"--probe-image", "localhost:1/pyrometer/does-not-exist:v0")
	if r.code == 0 || !strings.Contains(r.stderr, "cannot pull image") {
		t.Fatalf("--probe-from cluster with a bad image must fail naming it: exit %d\n%s", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
}

// TestProbeWithoutMetricsAccess runs as an identity (--as) that may probe but not read /metrics.
func TestProbeWithoutMetricsAccess(t *testing.T) {
	user := "e2e-prober"
	bindUser(t, "e2e-probe-no-metrics", user, []rbacv1.PolicyRule{
		{NonResourceURLs: []string{"/readyz", "/version", "/api", "/api/*", "/apis", "/apis/*"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"create", "delete", "get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"}, Verbs: []string{"list"}},
	})
	r := plugin(t, 2*time.Minute, "--as", user, "probe", "--duration", "3s", "-o", "json")
	pr := decodeProbe(t, r)
	assertEveryKind(t, pr.Local, "local as "+user)
	if len(pr.ServerSide) != 0 || !strings.Contains(strings.Join(pr.Notes, "\n"), "GET /metrics is forbidden") {
		t.Errorf("want one note that /metrics is forbidden and no server rows; notes %v, rows %d", pr.Notes, len(pr.ServerSide))
	}
	assertNothingLeft(t, pr.RunID)

	// a kind the identity may not use: dropped with a note by default, refused when asked for explicitly
	r = plugin(t, 2*time.Minute, "--as", user, "probe", "--duration", "2s", "--list-namespace", "default", "--probes", "readyz,list-namespace")
	if r.code != 0 {
		t.Fatalf("list in default is allowed by the role: %s", r.stderr)
	}
}

func TestProbeBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "-5s"}, "invalid --duration"},
		{[]string{"--duration", "0s"}, "invalid --duration"},
		{[]string{"--probes", "readyz,bogus"}, `unknown probe kind "bogus"`},
		{[]string{"--duration", "2s", "--interval", "5s"}, "invalid --interval 5s: must not be longer than --duration 2s"},
		{[]string{"--rate", "5", "--interval", "1s"}, "--rate and --interval are mutually exclusive"},
		{[]string{"--rate", "-1"}, "invalid --rate"},
		{[]string{"--probe-from", "mars"}, `invalid --probe-from "mars": allowed values are local, cluster, both`},
		{[]string{"-o", "xml"}, `invalid --output "xml"`},
		{[]string{"--request-timeout", "soon"}, `invalid --request-timeout "soon"`},
		{[]string{"--duration", "forever"}, `invalid argument "forever" for "--duration"`},
	}
	before := countOurNamespaces(t)
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := plugin(t, time.Minute, append([]string{"probe"}, tc.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %q", r.code, r.stderr, tc.want)
			}
			assertOneErrorLine(t, r.stderr)
			if r.stdout != "" {
				t.Errorf("nothing on stdout for bad input, got %q", r.stdout)
			}
		})
	}
	if after := countOurNamespaces(t); after > before {
		t.Errorf("bad input created namespaces: %d before, %d after", before, after)
	}
}

// countOurNamespaces counts live (not terminating) namespaces labelled as ours.
func countOurNamespaces(t *testing.T) int {
	t.Helper()
	nss, err := adminClient(t).CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubectl-pyrometer"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// issue 12 item 18: the kinds are staggered across the interval (the i-th of n kinds i*interval/n later), and the
// probe reports its own scheduling lag, with a note when its p99 is above 10% of the interval.
func TestProbeStaggerAndLag(t *testing.T) {
	dir := t.TempDir()
	r := plugin(t, 2*time.Minute, "probe", "--duration", "3s", "--interval", "600ms", "-o", "json", "--output-dir", dir)
	pr := decodeProbe(t, r)
	var doc struct {
		Lag *struct {
			Count      int     `json:"count"`
			P99        float64 `json:"p99_ms"`
			IntervalMS float64 `json:"interval_ms"`
			Unfair     bool    `json:"unfair"`
		} `json:"lag"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "probe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if doc.Lag == nil || doc.Lag.Count != len(lines) || doc.Lag.IntervalMS != 600 {
		t.Fatalf("lag %+v, want one over the %d local samples at a 600 ms interval", doc.Lag, len(lines))
	}
	lagged := false
	for _, n := range pr.Notes {
		lagged = lagged || strings.Contains(n, "the probe's client lagged")
	}
	if doc.Lag.Unfair != (doc.Lag.P99 > 60) || lagged != doc.Lag.Unfair {
		t.Errorf("lag p99 %v ms unfair %v, note %v: want unfair and a note exactly when p99 > 60 ms", doc.Lag.P99, doc.Lag.Unfair, lagged)
	}
	first := map[string]time.Time{}
	for _, l := range lines {
		var s struct {
			TS   time.Time `json:"ts"`
			Kind string    `json:"kind"`
			Seq  int       `json:"seq"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		if s.Seq == 1 && (first[s.Kind].IsZero() || s.TS.Before(first[s.Kind])) {
			first[s.Kind] = s.TS
		}
	}
	if len(pr.Kinds) < 2 || len(first) != len(pr.Kinds) {
		t.Fatalf("kinds %v, first samples %v", pr.Kinds, first)
	}
	t0 := first[pr.Kinds[0]]
	for i, k := range pr.Kinds {
		want := time.Duration(i) * 600 * time.Millisecond / time.Duration(len(pr.Kinds))
		if got := first[k].Sub(t0); got != want {
			t.Errorf("%s (kind %d of %d) starts %v after %s, want %v", k, i, len(pr.Kinds), got, pr.Kinds[0], want)
		}
	}
	assertNothingLeft(t, pr.RunID)
}
