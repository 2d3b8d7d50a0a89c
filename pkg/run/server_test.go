package run

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// metricsPage is an apiserver's /metrics with one series, GET configmaps: fast requests <=5 ms, slow ones <=1 s,
// sum seconds, and its process start time.
func metricsPage(fast, slow int, sum, start float64) string {
	const l = `verb="GET",resource="configmaps",subresource="",scope="resource"`
	return "# TYPE apiserver_request_duration_seconds histogram\n" +
		fmt.Sprintf("apiserver_request_duration_seconds_bucket{%s,le=\"0.005\"} %d\n", l, fast) +
		fmt.Sprintf("apiserver_request_duration_seconds_bucket{%s,le=\"1\"} %d\n", l, fast+slow) +
		fmt.Sprintf("apiserver_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", l, fast+slow) +
		fmt.Sprintf("apiserver_request_duration_seconds_sum{%s} %g\n", l, sum) +
		fmt.Sprintf("apiserver_request_duration_seconds_count{%s} %d\n", l, fast+slow) +
		"# TYPE process_start_time_seconds gauge\n" + fmt.Sprintf("process_start_time_seconds %g\n", start)
}

// snapshotRunner is a Runner whose probe REST client reads the given /metrics pages in turn.
func snapshotRunner(t *testing.T, pages ...string) *Runner {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if r.URL.Path != "/metrics" || i >= len(pages) {
			http.Error(w, "no more pages", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(pages[i]))
	}))
	t.Cleanup(srv.Close)
	cs, err := kubernetes.NewForConfig(probe.DedicatedConfig(&rest.Config{Host: srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{cfg: Config{Probe: probe.Config{RequestTimeout: 5 * time.Second}}, env: Env{ProbeRC: cs.Discovery().RESTClient(), Log: io.Discard},
		res: &result.Doc{ServerSide: map[string][]probe.ServerStat{}}}
}

// The snapshots at the phase boundaries: each phase's rows are the difference from the snapshot at its start. When
// the apiserver process changed in between (another replica answered: another start time, every counter still
// up), that phase has no rows, and run.json says why (before: another process's histogram was subtracted from this
// one's, and the phase showed it).
func TestSnapshotDropsPhaseWhenServerProcessChanged(t *testing.T) {
	const a, b = 1700000000, 1700003600
	r := snapshotRunner(t,
		metricsPage(100, 0, 0.2, a),   // start
		metricsPage(150, 0, 0.3, a),   // end of baseline: 50 fast
		metricsPage(900, 40, 30, b),   // end of ramp-step-1: another replica answered
		metricsPage(960, 40, 30.1, b), // end of teardown: same replica, 60 fast
		metricsPage(10, 0, 0.02, b),   // end of recovery: counters went backwards (restart within the same second)
	)
	ctx := context.Background()
	s := r.snapshot(ctx, nil)
	for _, ph := range []string{"baseline", "ramp-step-1", "teardown", "recovery"} {
		s = r.snapshot(ctx, s, ph)
	}
	if got := r.res.ServerSide["baseline"]; len(got) != 1 || got[0].Count != 50 || got[0].Mean != 2 {
		t.Errorf("baseline rows = %+v, want 50 GET configmaps, mean 2 ms", got)
	}
	if got := r.res.ServerSide["teardown"]; len(got) != 1 || got[0].Count != 60 {
		t.Errorf("teardown rows = %+v, want 60 GET configmaps (the difference from the snapshot after ramp-step-1)", got)
	}
	for _, ph := range []string{"ramp-step-1", "recovery"} {
		if got, ok := r.res.ServerSide[ph]; ok {
			t.Errorf("%s rows = %+v, want none: the snapshots at its start and end came from different apiserver processes", ph, got)
		}
	}
	notes := strings.Join(r.res.Notes, "\n")
	for _, want := range []string{"server-side rows of ramp-step-1 dropped: the apiserver process changed", "server-side rows of recovery dropped:"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	raw, err := json.Marshal(r.res)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ServerSideNotes map[string]string `json:"serverSideNotes"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.ServerSideNotes["ramp-step-1"], "process_start_time_seconds") || !strings.Contains(doc.ServerSideNotes["recovery"], "went backwards") ||
		len(doc.ServerSideNotes) != 2 {
		t.Errorf("run.json serverSideNotes = %v, want ramp-step-1 (start time) and recovery (counters backwards)", doc.ServerSideNotes)
	}
}

// A failed snapshot: the phase ending at it says so; the next phase has no start and no rows.
func TestSnapshotFailureNoted(t *testing.T) {
	r := snapshotRunner(t, metricsPage(1, 0, 0.001, 5))
	s := r.snapshot(context.Background(), nil)
	s = r.snapshot(context.Background(), s, "baseline")
	if s != nil || len(r.res.ServerSide) != 0 || !strings.Contains(strings.Join(r.res.Notes, "\n"), "server-side rows of baseline dropped: the snapshot at its end failed") {
		t.Errorf("snapshot %v, rows %v, notes %v", s, r.res.ServerSide, r.res.Notes)
	}
	r.snapshot(context.Background(), s, "ramp-step-1")
	if len(r.res.ServerSide) != 0 || len(r.res.Notes) != 1 {
		t.Errorf("after a failed snapshot: rows %v, notes %v; want none and the one note", r.res.ServerSide, r.res.Notes)
	}
}
