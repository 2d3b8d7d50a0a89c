//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// churnDoc is what the churn tests read of run.json.
type churnDoc struct {
	Phases []struct{ Name, Status, Error string }
	Stats  []struct {
		Phase, Kind string
		Count       int
	}
	Loads []struct {
		Phase, Mode, Kind  string
		Rate               float64
		Workers            int
		ExpectedPopulation float64 `json:"expectedPopulation"`
		Objects            int
		Delivery           struct {
			Requested, Issued, Completed, Succeeded, Delivered int
			Ratio                                              float64
			LiveMax                                            int `json:"live_max"`
		}
		Verdict struct {
			Delivered     bool
			Limit, Reason string
		}
		Notifications struct {
			Add, Update, Delete struct{ Expected, Seen, Missed, Coalesced int }
		}
	}
	Outcome struct {
		Result   string
		ExitCode int `json:"exit_code"`
		Reasons  []string
	}
}

func readChurn(t *testing.T, dir string) churnDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d churnDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRunChurnDeliversWithPopulationAndNotifications: two steps of churn at 20/s with a 10 s lifetime: each step
// delivers at least 0.95 of the writes it requested (step 2 at 40/s), the population listed during the step is near
// rate x lifetime, every event type has notification rows and none was missed, and nothing is left after the run.
func TestRunChurnDeliversWithPopulationAndNotifications(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	c := adminClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	population := map[string]int{} // step namespace -> most churn objects listed at once
	go func() {
		for ctx.Err() == nil {
			for i := 1; i <= 2; i++ {
				ns := "pyrometer-" + id + "-step-" + string(rune('0'+i))
				cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubepyrometer.io/component=churn,kubepyrometer.io/run-id=" + id})
				if err == nil {
					mu.Lock()
					population[ns] = max(population[ns], len(cms.Items))
					mu.Unlock()
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	// 20 s windows: a 10 s lifetime reaches its steady population halfway through
	r := pluginIn(t, dir, 6*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "churn", "--churn-rate", "20",
		"--churn-lifetime", "10s", "--steps", "2", "--baseline", "3s", "--step-duration", "20s", "--recovery", "3s",
		"--interval", "500ms", "--run-id", id, "--output-dir", "out", "-o", "json")
	cancel()
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	d := readChurn(t, filepath.Join(dir, "out"))
	for _, p := range d.Phases {
		if strings.HasPrefix(p.Name, "ramp-step-") && p.Status != "pass" {
			t.Errorf("%s: %s: %s", p.Name, p.Status, p.Error)
		}
	}
	if len(d.Loads) != 2 {
		t.Fatalf("run.json loads: want one per step, got %+v", d.Loads)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, l := range d.Loads {
		step := i + 1
		want := float64(20 * step)
		if l.Phase != "ramp-step-"+string(rune('0'+step)) || l.Rate != want || l.Mode != "churn" || l.Kind != "configmap" {
			t.Errorf("load %d: %s %s %s at %v/s, want ramp-step-%d churn configmap at %v/s", i, l.Phase, l.Mode, l.Kind, l.Rate, step, want)
		}
		dl := l.Delivery
		if dl.Requested == 0 || float64(dl.Delivered)/float64(dl.Requested) < 0.95 || dl.Ratio < 0.95 || !l.Verdict.Delivered {
			t.Errorf("%s: delivered %d of %d requested (ratio %.3f), verdict %+v: want >= 0.95", l.Phase, dl.Delivered, dl.Requested, dl.Ratio, l.Verdict)
		}
		// Little's law: rate x lifetime objects alive in the second half of the window
		expect := want * 10
		ns := "pyrometer-" + id + "-step-" + string(rune('0'+step))
		if got := float64(population[ns]); got < 0.75*expect || got > 1.3*expect {
			t.Errorf("%s: at most %v churn objects listed at once in %s, want about %v (rate x lifetime)", l.Phase, got, ns, expect)
		}
		if l.ExpectedPopulation != expect {
			t.Errorf("%s: expectedPopulation %v, want %v", l.Phase, l.ExpectedPopulation, expect)
		}
		n := l.Notifications
		for _, e := range []struct {
			name string
			c    struct{ Expected, Seen, Missed, Coalesced int }
		}{{"add", n.Add}, {"update", n.Update}, {"delete", n.Delete}} {
			if e.c.Expected == 0 || e.c.Seen < e.c.Expected || e.c.Missed > 0 || e.c.Coalesced > 0 {
				t.Errorf("%s: notifications of %s: %+v (want every expected one seen, none missed)", l.Phase, e.name, e.c)
			}
		}
	}
	rows := map[string]int{}
	for _, s := range d.Stats {
		if s.Phase == "ramp-step-1" {
			rows[s.Kind] = s.Count
		}
	}
	for _, k := range []string{"churn:create", "churn:update", "churn:delete", "notify:add", "notify:update", "notify:delete"} {
		if rows[k] == 0 {
			t.Errorf("ramp-step-1 has no %s row: %v", k, rows)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "report.html")); !strings.Contains(string(b), "Delivered load") || !strings.Contains(string(b), "notify:add") {
		t.Error("report.html must show the delivered load and the notification rows")
	}
	if rr := pluginIn(t, dir, time.Minute, "report", "out"); !strings.Contains(rr.stdout, "DELIVERED LOAD") || !strings.Contains(rr.stdout, "delivered (") {
		t.Errorf("report out: the delivered-load table is missing:\n%s", rr.stdout)
	}
	assertNothingLabelled(t, id)
	cms, _ := c.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id})
	if len(cms.Items) != 0 {
		t.Errorf("%d ConfigMaps of the run left", len(cms.Items))
	}
	t.Logf("population seen: %v", population)
}

// TestRunChurnSigintCreatesNothingAfter: a SIGINT mid-step stops the churn within a second (no object created after
// it, seen by a watch opened before the cancel; no write sent after it, by the engine's own samples) and nothing is
// left.
func TestRunChurnSigintCreatesNothingAfter(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	in := interruptLoaded(t, dir, 2*time.Minute, 2*time.Minute, func() bool { return cw.countPrefix("ConfigMap", "pyrometer-churn-") >= 60 },
		"the churn", "run", "--modes", "churn", "--churn-rate", "20", "--churn-lifetime", "10s", "--steps", "1",
		"--baseline", "2s", "--step-duration", "2m", "--recovery", "2s", "--run-id", id, "--output-dir", "out")
	exited := in.exited
	if in.code == 0 {
		t.Errorf("an interrupted run must exit non-zero")
	}
	assertQuietAfter(t, cw, dir, in.sigint, time.Second, 10*time.Second)
	if exited > time.Minute {
		t.Errorf("the run took %v to exit after SIGINT", exited)
	}
	assertNothingLabelled(t, id)
	t.Logf("exited %v after SIGINT; %d configmaps created", exited.Round(100*time.Millisecond), cw.count("ConfigMap"))
}

// TestRunChurnImpossibleRateNotDelivered: 5000 objects/s against the local apiserver cannot be delivered: the step is
// "load not delivered" with the limit named (client or server), never a pass, and the run exits 1 (a phase failed).
func TestRunChurnImpossibleRateNotDelivered(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	r := pluginIn(t, dir, 5*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "churn", "--churn-rate", "5000",
		"--churn-lifetime", "1s", "--churn-updates", "0", "--churn-watchers", "0", "--max-write-rate", "10000",
		"--steps", "1", "--baseline", "2s", "--step-duration", "3s", "--recovery", "2s", "--run-id", id, "--output-dir", "out")
	if r.code != 1 {
		t.Errorf("a step whose load was not delivered fails the run: exit %d, want 1\n%s", r.code, r.stderr)
	}
	d := readChurn(t, filepath.Join(dir, "out"))
	if d.Outcome.Result == "pass" {
		t.Errorf("an undelivered load passed: %+v", d.Outcome)
	}
	step := false
	for _, p := range d.Phases {
		if p.Name == "ramp-step-1" {
			step = true
			if p.Status == "pass" || !strings.Contains(p.Error, "load not delivered") ||
				!(strings.Contains(p.Error, "the client was the limit") || strings.Contains(p.Error, "the server was the limit")) {
				t.Errorf("ramp-step-1: %s: %q; want a failure saying load not delivered and naming the limit", p.Status, p.Error)
			}
		}
	}
	if !step {
		t.Errorf("no ramp-step-1 phase: %+v", d.Phases)
	}
	if len(d.Loads) != 1 || d.Loads[0].Verdict.Delivered || (d.Loads[0].Verdict.Limit != "client" && d.Loads[0].Verdict.Limit != "server") ||
		d.Loads[0].Delivery.Ratio >= 0.95 {
		t.Errorf("loads: %+v", d.Loads)
	}
	if !strings.Contains(r.stdout, "load not delivered") {
		t.Errorf("the table must say load not delivered:\n%s", r.stdout)
	}
	assertNothingLabelled(t, id)
	cms, _ := adminClient(t).CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id})
	if len(cms.Items) != 0 {
		t.Errorf("%d ConfigMaps of the run left", len(cms.Items))
	}
	t.Logf("delivery: %+v verdict: %+v", d.Loads[0].Delivery, d.Loads[0].Verdict)
}

// TestRunChurnClosedLoop: --churn-workers runs the closed loop (sequential clients paced to the rate): the step
// records its workers, delivers the rate with writes and notifications measured, and nothing is left; too few
// workers are refused with one line naming the flag, before anything is created.
func TestRunChurnClosedLoop(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	bad := pluginIn(t, dir, time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "churn", "--churn-rate", "10",
		"--churn-lifetime", "2s", "--churn-workers", "5", "--run-id", id)
	if bad.code == 0 || !strings.Contains(bad.stderr, "invalid --churn-workers 5: a closed loop at 10 objects/s with objects living 2s needs at least 20 workers") {
		t.Errorf("too few workers: exit %d, stderr:\n%s", bad.code, bad.stderr)
	}
	assertNothingLabelled(t, id)
	r := pluginIn(t, dir, 4*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "churn", "--churn-rate", "10",
		"--churn-lifetime", "2s", "--churn-workers", "30", "--steps", "1", "--baseline", "3s", "--step-duration", "10s",
		"--recovery", "3s", "--interval", "500ms", "--run-id", id, "--output-dir", "out", "-o", "json")
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "closed loop of 30 workers") {
		t.Errorf("the progress must say the load is a closed loop:\n%s", r.stderr)
	}
	d := readChurn(t, filepath.Join(dir, "out"))
	if len(d.Loads) != 1 || d.Loads[0].Workers != 30 || d.Loads[0].Rate != 10 {
		t.Fatalf("run.json loads: want one closed loop of 30 workers at 10/s, got %+v", d.Loads)
	}
	l := d.Loads[0]
	if dl := l.Delivery; dl.Requested == 0 || dl.Ratio < 0.95 || !l.Verdict.Delivered {
		t.Errorf("closed loop delivered %d of %d requested (ratio %.3f), verdict %+v: want >= 0.95", dl.Delivered, dl.Requested, dl.Ratio, l.Verdict)
	}
	if n := l.Notifications.Add; n.Expected == 0 || n.Missed > 0 {
		t.Errorf("notifications of add: %+v", n)
	}
	assertNothingLabelled(t, id)
}
