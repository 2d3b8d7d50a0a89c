package probe

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustParse(t *testing.T, text string) *ServerSnapshot {
	t.Helper()
	s, err := parseServerMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parseServerMetrics: %v", err)
	}
	return s
}

// restClientFor returns the REST client a caller would use: Discovery().RESTClient() of a clientset
// built from DedicatedConfig.
func restClientFor(t *testing.T, url string) rest.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(DedicatedConfig(&rest.Config{Host: url}))
	if err != nil {
		t.Fatal(err)
	}
	return cs.Discovery().RESTClient()
}

// withoutFamilies drops every line about the named metric families.
func withoutFamilies(text string, names ...string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		drop := false
		for _, n := range names {
			if strings.HasPrefix(metricNameOf(line), n) {
				drop = true
			}
		}
		if !drop {
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestSnapshotAndDiffServer(t *testing.T) {
	pages := []string{readFixture(t, "metrics-before.txt"), readFixture(t, "metrics-after.txt")}
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(pages[served.Add(1)-1]))
	}))
	defer srv.Close()
	rc := restClientFor(t, srv.URL)

	before, err := SnapshotServer(context.Background(), rc)
	if err != nil {
		t.Fatalf("SnapshotServer(before): %v", err)
	}
	after, err := SnapshotServer(context.Background(), rc)
	if err != nil {
		t.Fatalf("SnapshotServer(after): %v", err)
	}
	if after.Metric != "apiserver_request_sli_duration_seconds" {
		t.Errorf("Metric = %q, want the SLI histogram preferred over _slo_ and apiserver_request_duration_seconds", after.Metric)
	}
	if after.ProcessStartTime != 1712345678.89 {
		t.Errorf("ProcessStartTime = %v, want 1712345678.89", after.ProcessStartTime)
	}
	const m = "apiserver_request_sli_duration_seconds"
	want := []ServerStat{
		// 50 in (0,5ms], 40 in (5,25ms], 10 in (25,50ms]
		{Verb: "GET", Resource: "configmaps", Scope: "resource", Count: 100, Mean: 12, P50: 5, P90: 25, P99: 47.5, P50Bucket: "<=5", P90Bucket: "<=25", P99Bucket: "<=50", Metric: m},
		// 10 in (100,200ms]: linear inside the bucket
		{Verb: "LIST", Resource: "configmaps", Scope: "namespace", Count: 10, Mean: 150, P50: 150, P90: 190, P99: 199, P50Bucket: "<=200", P90Bucket: "<=200", P99Bucket: "<=200", Metric: m},
		// 2 in (50,100ms], 2 above 60s: a rank in +Inf reports the highest finite bound
		{Verb: "POST", Resource: "configmaps", Scope: "namespace", Count: 4, Mean: 32537.5, P50: 100, P90: 60000, P99: 60000, P50Bucket: "<=100", P90Bucket: ">60000", P99Bucket: ">60000", Metric: m},
		// one in core events, one in events.k8s.io: summed over group
		{Verb: "POST", Resource: "events", Scope: "namespace", Count: 2, Mean: 15, P50: 15, P90: 23, P99: 24.8, P50Bucket: "<=25", P90Bucket: "<=25", P99Bucket: "<=25", Metric: m},
	}
	if got := DiffServer(before, after); !reflect.DeepEqual(got, want) {
		t.Errorf("DiffServer =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDiffServerFallbackMetricSkipsWatch(t *testing.T) {
	strip := []string{"apiserver_request_sli_duration_seconds", "apiserver_request_slo_duration_seconds"}
	before := mustParse(t, withoutFamilies(readFixture(t, "metrics-before.txt"), strip...))
	after := mustParse(t, withoutFamilies(readFixture(t, "metrics-after.txt"), strip...))
	const m = "apiserver_request_duration_seconds"
	if after.Metric != m {
		t.Fatalf("Metric = %q, want %q when no SLI/SLO histogram exists", after.Metric, m)
	}
	// WATCH configmaps also gained 3 observations, but a watch's duration is not a latency.
	want := []ServerStat{{Verb: "GET", Resource: "configmaps", Scope: "resource", Count: 100, Mean: 10, P50: 37.5, P90: 47.5, P99: 49.75, P50Bucket: "<=50", P90Bucket: "<=50", P99Bucket: "<=50", Metric: m}}
	if got := DiffServer(before, after); !reflect.DeepEqual(got, want) {
		t.Errorf("DiffServer =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDiffServerSLOFallback(t *testing.T) {
	after := mustParse(t, withoutFamilies(readFixture(t, "metrics-after.txt"), "apiserver_request_sli_duration_seconds"))
	if after.Metric != "apiserver_request_slo_duration_seconds" {
		t.Errorf("Metric = %q, want the SLO histogram when there is no SLI one", after.Metric)
	}
}

// histText is one apiserver_request_duration_seconds series GET pods: c1 requests <=100ms, c2 <=1s, total
// requests, sum seconds; with a process start time when start > 0.
func histText(c1, c2, total int, sum float64, start float64) string {
	s := "# TYPE apiserver_request_duration_seconds histogram\n" +
		`apiserver_request_duration_seconds_bucket{verb="GET",resource="pods",subresource="",scope="resource",le="0.1"} ` + strconv.Itoa(c1) + "\n" +
		`apiserver_request_duration_seconds_bucket{verb="GET",resource="pods",subresource="",scope="resource",le="1"} ` + strconv.Itoa(c2) + "\n" +
		`apiserver_request_duration_seconds_bucket{verb="GET",resource="pods",subresource="",scope="resource",le="+Inf"} ` + strconv.Itoa(total) + "\n" +
		`apiserver_request_duration_seconds_sum{verb="GET",resource="pods",subresource="",scope="resource"} ` + strconv.FormatFloat(sum, 'f', -1, 64) + "\n" +
		`apiserver_request_duration_seconds_count{verb="GET",resource="pods",subresource="",scope="resource"} ` + strconv.Itoa(total) + "\n"
	if start > 0 {
		s += "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds " + strconv.FormatFloat(start, 'f', -1, 64) + "\n"
	}
	return s
}

// A restart between two snapshots (counters went backwards) or another replica answering (another process start
// time) is not one process's traffic: no rows (before, a reset series was taken whole from after: another
// process's lifetime), and ServerChanged says why.
func TestDiffServerProcessChanged(t *testing.T) {
	for name, tc := range map[string]struct {
		before, after string
		why           string
	}{
		"counters went backwards": {histText(900, 1000, 1000, 90, 0), histText(0, 10, 10, 5, 0), "went backwards"},
		"bucket went backwards":   {histText(900, 1000, 1000, 90, 0), histText(800, 1000, 1100, 95, 0), "went backwards"},
		// more requests than before, all counters up: only the start time shows it is another process
		"another replica": {histText(10, 20, 20, 1, 1712345678.5), histText(100, 200, 200, 9, 1712349999.25), "process_start_time_seconds 2024-04-05T19:34:38Z, then 2024-04-05T20:46:39Z"},
		// without a start time to tell, a series gone is a reset
		"series vanished": {histText(1, 2, 2, 0.1, 0) + strings.ReplaceAll(strings.SplitN(histText(1, 2, 2, 0.1, 0), "\n", 2)[1], `"pods"`, `"nodes"`), histText(1, 2, 3, 0.2, 0), "disappeared"},
	} {
		t.Run(name, func(t *testing.T) {
			before, after := mustParse(t, tc.before), mustParse(t, tc.after)
			if got := DiffServer(before, after); got != nil {
				t.Errorf("DiffServer = %+v, want no rows when the server process changed", got)
			}
			if why := ServerChanged(before, after); !strings.Contains(why, tc.why) {
				t.Errorf("ServerChanged = %q, want it to contain %q", why, tc.why)
			}
		})
	}
	// the same process (same start time) may drop a series; the others' differences stand
	vanished := mustParse(t, histText(1, 2, 2, 0.1, 7)+strings.ReplaceAll(strings.SplitN(histText(1, 2, 2, 0.1, 0), "\n", 2)[1], `"pods"`, `"nodes"`))
	if why := ServerChanged(vanished, mustParse(t, histText(1, 2, 3, 0.2, 7))); why != "" {
		t.Errorf("ServerChanged with one series gone but the same start time = %q, want \"\"", why)
	}
	same := mustParse(t, histText(0, 10, 10, 5, 7))
	if why := ServerChanged(same, mustParse(t, histText(5, 20, 21, 9.5, 7))); why != "" {
		t.Errorf("ServerChanged of one process's growing counters = %q, want \"\"", why)
	}
	want := []ServerStat{{Verb: "GET", Resource: "pods", Scope: "resource", Count: 11, Mean: 409.091, P50: 190, P90: 982, P99: 1000,
		P50Bucket: "<=1000", P90Bucket: "<=1000", P99Bucket: ">1000", Metric: "apiserver_request_duration_seconds"}}
	if got := DiffServer(same, mustParse(t, histText(5, 20, 21, 9.5, 7))); !reflect.DeepEqual(got, want) {
		t.Errorf("DiffServer =\n%+v\nwant\n%+v", got, want)
	}
	if got := DiffServer(same, same); len(got) != 0 {
		t.Errorf("DiffServer of identical snapshots = %+v, want no rows", got)
	}
	if got := DiffServer(nil, same); got != nil {
		t.Errorf("DiffServer(nil, after) = %+v, want nil: without a start there is no window (not the whole lifetime)", got)
	}
	if got := DiffServer(nil, nil); got != nil {
		t.Errorf("DiffServer(nil, nil) = %+v, want nil", got)
	}
}

// v134Text is a series of a v1.34 apiserver: both histograms with their real bucket layouts (the SLI one starts at
// 50 ms, apiserver_request_duration_seconds at 5 ms), observations in seconds.
func v134Text(obs ...float64) string {
	layouts := map[string][]float64{
		"apiserver_request_sli_duration_seconds": {0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		"apiserver_request_duration_seconds":     {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
	}
	var b strings.Builder
	for _, name := range []string{"apiserver_request_sli_duration_seconds", "apiserver_request_duration_seconds"} {
		b.WriteString("# TYPE " + name + " histogram\n")
		const l = `component="apiserver",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"`
		sum := 0.0
		for _, o := range obs {
			sum += o
		}
		for _, le := range layouts[name] {
			n := 0
			for _, o := range obs {
				if o <= le {
					n++
				}
			}
			b.WriteString(name + "_bucket{" + l + `,le="` + strconv.FormatFloat(le, 'f', -1, 64) + `"} ` + strconv.Itoa(n) + "\n")
		}
		b.WriteString(name + "_bucket{" + l + `,le="+Inf"} ` + strconv.Itoa(len(obs)) + "\n")
		b.WriteString(name + "_sum{" + l + "} " + strconv.FormatFloat(sum, 'f', -1, 64) + "\n")
		b.WriteString(name + "_count{" + l + "} " + strconv.Itoa(len(obs)) + "\n")
	}
	return b.String() + "process_start_time_seconds 1.7e9\n"
}

// On a v1.34 apiserver the SLI histogram's first bucket is 50 ms, so a healthy server read "<=50" on every row;
// the rows now come from the finer apiserver_request_duration_seconds and carry the exact mean.
func TestDiffServerFinerBucketsAndMean(t *testing.T) {
	before := mustParse(t, v134Text(0.002, 0.003))
	after := mustParse(t, v134Text(0.002, 0.003, 0.0021, 0.0032, 0.0041, 0.0029, 0.012, 0.0019, 0.0023, 0.0026, 0.0038, 0.0044))
	if after.Metric != "apiserver_request_duration_seconds" {
		t.Errorf("Metric = %q, want the histogram with the finest buckets", after.Metric)
	}
	got := DiffServer(before, after)
	want := []ServerStat{{Verb: "GET", Resource: "configmaps", Scope: "resource", Count: 10, Mean: 3.93, P50: 2.778, P90: 5, P99: 23,
		P50Bucket: "<=5", P90Bucket: "<=5", P99Bucket: "<=25", Metric: "apiserver_request_duration_seconds"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffServer =\n%+v\nwant\n%+v", got, want)
	}
	// Without the finer histogram (a server exposing only the SLI one), rows say so.
	only := func(text string) *ServerSnapshot {
		return mustParse(t, withoutFamilies(text, "apiserver_request_duration_seconds"))
	}
	got = DiffServer(only(v134Text(0.002)), only(v134Text(0.002, 0.003, 0.004)))
	if len(got) != 1 || got[0].Metric != "apiserver_request_sli_duration_seconds" || got[0].P50Bucket != "<=50" || got[0].Mean != 3.5 {
		t.Errorf("SLI only: %+v, want one row from the SLI histogram, bucket <=50, mean 3.5", got)
	}
}

func TestSnapshotServerErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			// What kube-apiserver answers an identity without get on the /metrics non-resource URL.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
				`"message":"forbidden: User \"alice\" cannot get path \"/metrics\"","reason":"Forbidden","details":{},"code":403}`))
		case "/empty/metrics":
			_, _ = w.Write([]byte("# TYPE up gauge\nup 1\n"))
		}
	}))
	defer srv.Close()

	_, err := SnapshotServer(context.Background(), restClientFor(t, srv.URL))
	if !apierrors.IsForbidden(err) {
		t.Errorf("SnapshotServer on a 403: error %v does not satisfy apierrors.IsForbidden", err)
	}
	_, err = SnapshotServer(context.Background(), restClientFor(t, srv.URL+"/empty"))
	if err == nil || !strings.Contains(err.Error(), "no apiserver request duration histogram") {
		t.Errorf("SnapshotServer without histograms: error = %v, want it to say no histogram was found", err)
	}
}

func TestBucketOf(t *testing.T) {
	b := []bucket{{upper: 0.05, count: 90}, {upper: 0.1, count: 99}, {upper: 1, count: 100}, {upper: math.Inf(1), count: 100}}
	for q, want := range map[float64]string{0.5: "<=50", 0.9: "<=50", 0.95: "<=100", 0.995: "<=1000"} {
		if got := bucketOf(q, b); got != want {
			t.Errorf("q=%v: %q, want %q", q, got, want)
		}
	}
	over := []bucket{{upper: 0.05, count: 1}, {upper: math.Inf(1), count: 10}}
	if got := bucketOf(0.99, over); got != ">50" {
		t.Errorf("past the last bound: %q", got)
	}
}

// metrics-v1.34.txt is the GET/LIST configmaps part of a real v1.34.4 apiserver's /metrics (the local cluster):
// apiserver_request_duration_seconds starts at 5 ms, apiserver_request_sli_duration_seconds at 50 ms, and there is no
// _slo_ histogram any more. Rows come from the finer one, with its exact mean.
func TestDiffServerRealV134(t *testing.T) {
	page := readFixture(t, "metrics-v1.34.txt")
	after := mustParse(t, page)
	if after.Metric != "apiserver_request_duration_seconds" || after.ProcessStartTime <= 0 {
		t.Fatalf("Metric %q, start %v: want apiserver_request_duration_seconds and a process start time", after.Metric, after.ProcessStartTime)
	}
	// the same process at its start: every counter 0
	var zero strings.Builder
	for _, line := range strings.SplitAfter(page, "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, processStartMetric) {
			line = line[:i] + " 0\n"
		}
		zero.WriteString(line)
	}
	rows := DiffServer(mustParse(t, zero.String()), after)
	if len(rows) != 3 {
		t.Fatalf("rows %+v, want GET and LIST (namespace, cluster) configmaps", rows)
	}
	get := rows[1]
	if get.Verb != "GET" || get.Count != 5 || get.Metric != "apiserver_request_duration_seconds" || get.P50Bucket != "<=5" ||
		get.Mean != 2.247 {
		t.Errorf("GET configmaps %+v: want 5 requests from apiserver_request_duration_seconds, p50 <=5 ms (the SLI histogram says <=50), mean 2.247 ms", get)
	}
}

// TestAPFCounts: the dispatched and rejected counters of a priority level, summed over flow schemas and reasons,
// between two snapshots of one process; a level without series counts 0; no APF counter at all, or another
// process, gives none.
func TestAPFCounts(t *testing.T) {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	text := func(d1, d2, r1, start float64) string {
		return histText(1, 1, 1, 0.01, start) +
			"# TYPE apiserver_flowcontrol_dispatched_requests_total counter\n" +
			"apiserver_flowcontrol_dispatched_requests_total{flow_schema=\"a\",priority_level=\"pl\"} " + num(d1) + "\n" +
			"apiserver_flowcontrol_dispatched_requests_total{flow_schema=\"b\",priority_level=\"pl\"} " + num(d2) + "\n" +
			"apiserver_flowcontrol_dispatched_requests_total{flow_schema=\"c\",priority_level=\"other\"} 1000\n" +
			"# TYPE apiserver_flowcontrol_rejected_requests_total counter\n" +
			"apiserver_flowcontrol_rejected_requests_total{flow_schema=\"a\",priority_level=\"pl\",reason=\"queue-full\"} " + num(r1) + "\n" +
			"apiserver_flowcontrol_rejected_requests_total{flow_schema=\"a\",priority_level=\"pl\",reason=\"time-out\"} 2\n"
	}
	before, after := mustParse(t, text(10, 5, 1, 100)), mustParse(t, text(40, 25, 4, 100))
	d, r, ok := APFCounts(before, after, "pl")
	if !ok || d != 50 || r != 3 {
		t.Errorf("APFCounts = %d, %d, %v; want 50 dispatched, 3 rejected", d, r, ok)
	}
	if d, r, ok := APFCounts(before, after, "absent"); !ok || d != 0 || r != 0 {
		t.Errorf("a level without series (no request yet): %d, %d, %v; want 0, 0", d, r, ok)
	}
	if _, _, ok := APFCounts(mustParse(t, histText(1, 1, 1, 0.01, 100)), mustParse(t, histText(2, 2, 2, 0.02, 100)), "pl"); ok {
		t.Error("a server without APF counters: want no counts")
	}
	if _, _, ok := APFCounts(before, mustParse(t, text(40, 25, 4, 200)), "pl"); ok {
		t.Error("another apiserver process: want no counts")
	}
}
