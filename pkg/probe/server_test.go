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
		{Verb: "GET", Resource: "configmaps", Scope: "resource", Count: 100, P50: 5, P90: 25, P99: 47.5, P50Bucket: "<=5", P90Bucket: "<=25", P99Bucket: "<=50", Metric: m},
		// 10 in (100,200ms]: linear inside the bucket
		{Verb: "LIST", Resource: "configmaps", Scope: "namespace", Count: 10, P50: 150, P90: 190, P99: 199, P50Bucket: "<=200", P90Bucket: "<=200", P99Bucket: "<=200", Metric: m},
		// 2 in (50,100ms], 2 above 60s: a rank in +Inf reports the highest finite bound
		{Verb: "POST", Resource: "configmaps", Scope: "namespace", Count: 4, P50: 100, P90: 60000, P99: 60000, P50Bucket: "<=100", P90Bucket: ">60000", P99Bucket: ">60000", Metric: m},
		// one in core events, one in events.k8s.io: summed over group
		{Verb: "POST", Resource: "events", Scope: "namespace", Count: 2, P50: 15, P90: 23, P99: 24.8, P50Bucket: "<=25", P90Bucket: "<=25", P99Bucket: "<=25", Metric: m},
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
	want := []ServerStat{{Verb: "GET", Resource: "configmaps", Scope: "resource", Count: 100, P50: 37.5, P90: 47.5, P99: 49.75, P50Bucket: "<=50", P90Bucket: "<=50", P99Bucket: "<=50", Metric: m}}
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

func TestDiffServerCounterReset(t *testing.T) {
	hist := func(c1, c2, total int) string {
		return "# TYPE apiserver_request_duration_seconds histogram\n" +
			`apiserver_request_duration_seconds_bucket{verb="GET",resource="pods",subresource="",scope="resource",le="0.1"} ` + strconv.Itoa(c1) + "\n" +
			`apiserver_request_duration_seconds_bucket{verb="GET",resource="pods",subresource="",scope="resource",le="1"} ` + strconv.Itoa(c2) + "\n" +
			`apiserver_request_duration_seconds_bucket{verb="GET",resource="pods",subresource="",scope="resource",le="+Inf"} ` + strconv.Itoa(total) + "\n" +
			`apiserver_request_duration_seconds_count{verb="GET",resource="pods",subresource="",scope="resource"} ` + strconv.Itoa(total) + "\n"
	}
	before := mustParse(t, hist(900, 1000, 1000))
	after := mustParse(t, hist(0, 10, 10)) // restarted: 10 requests in (0.1, 1]
	got := DiffServer(before, after)
	want := []ServerStat{{Verb: "GET", Resource: "pods", Scope: "resource", Count: 10, P50: 550, P90: 910, P99: 991, P50Bucket: "<=1000", P90Bucket: "<=1000", P99Bucket: "<=1000", Metric: "apiserver_request_duration_seconds"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffServer after a reset =\n%+v\nwant\n%+v", got, want)
	}
	if got := DiffServer(after, after); len(got) != 0 {
		t.Errorf("DiffServer of identical snapshots = %+v, want no rows", got)
	}
	if got := DiffServer(nil, nil); got != nil {
		t.Errorf("DiffServer(nil, nil) = %+v, want nil", got)
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
