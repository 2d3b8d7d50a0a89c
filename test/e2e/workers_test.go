//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// workersDoc is what the worker tests read of run.json.
type workersDoc struct {
	Phases []struct{ Name, Status, Error string }
	Stats  []struct {
		Phase, Kind string
		Count       int
	}
	Loads []struct {
		Phase, Mode, Kind, Error string
		LoadFrom                 string `json:"loadFrom"`
		Objects                  int
		Delivery                 struct {
			Requested, Issued, Completed, Succeeded, Delivered int
			Ratio                                              float64
		}
		Verdict   struct{ Delivered bool }
		PerWorker []struct {
			Index           int
			Pod, Node       string
			Rate            float64
			Samples, Errors int
			Failure         string
			Delivery        struct {
				Requested, Issued, Completed, Succeeded, Delivered int
				Ratio                                              float64
			}
		} `json:"perWorker"`
	}
	Outcome struct {
		Result   string
		ExitCode int `json:"exit_code"`
	}
}

func readWorkers(t *testing.T, dir string) workersDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d workersDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// workerArgs run one short churn step (30 objects/s, 4 s lifetime: create, update, delete = 90 writes/s) from
// three worker pods on the real node.
func workerArgs(id string, window string) []string {
	return []string{"run", "--modes", "churn", "--churn-rate", "30", "--churn-lifetime", "4s", "--steps", "1", "--probes", "readyz,get",
		"--baseline", "2s", "--step-duration", window, "--recovery", "2s", "--load-from", "cluster", "--workers", "3",
		"--node-selector", realNode, "--run-id", id, "--output-dir", "out"}
}

// TestWorkersDeliverMerged: run --modes churn --load-from cluster --workers 3 delivers at least 0.95 of the requested
// writes; the merged account is the sum of the three workers' (requested, delivered, completed), the churn rows of
// the statistics hold exactly the samples the workers streamed back, each worker has its row (in run.json and the
// table), and nothing of the run is left.
func TestWorkersDeliverMerged(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	start := time.Now()
	r := pluginIn(t, dir, 3*time.Minute, append([]string{"--kubeconfig", kubeconfig}, workerArgs(id, "8s")...)...)
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run exit %d (want 0, or 2 for a latency SLO on this small machine)\nstderr:\n%s", r.code, r.stderr)
	}
	d := readWorkers(t, filepath.Join(dir, "out"))
	for _, p := range d.Phases {
		if p.Name == "ramp-step-1" && p.Status != "pass" {
			t.Errorf("ramp-step-1: %s %s", p.Status, p.Error)
		}
	}
	if len(d.Loads) != 1 {
		t.Fatalf("want one load, got %d\n%s", len(d.Loads), r.stderr)
	}
	l := d.Loads[0]
	if l.LoadFrom != "cluster" || len(l.PerWorker) != 3 {
		t.Fatalf("want the load from 3 cluster workers, got loadFrom %q with %d worker rows", l.LoadFrom, len(l.PerWorker))
	}
	if l.Delivery.Ratio < 0.95 || !l.Verdict.Delivered {
		t.Errorf("merged delivery %.3f (%d of %d writes), want >= 0.95", l.Delivery.Ratio, l.Delivery.Delivered, l.Delivery.Requested)
	}
	var req, del, comp, samples int
	nodes := map[string]bool{}
	for i, w := range l.PerWorker {
		if w.Index != i || w.Pod == "" || w.Failure != "" || w.Rate != 10 {
			t.Errorf("worker row %d: %+v", i, w)
		}
		if w.Delivery.Requested == 0 {
			t.Errorf("worker %d requested nothing", i)
		}
		req, del, comp, samples = req+w.Delivery.Requested, del+w.Delivery.Delivered, comp+w.Delivery.Completed, samples+w.Samples
		nodes[w.Node] = true
	}
	if req != l.Delivery.Requested || del != l.Delivery.Delivered || comp != l.Delivery.Completed {
		t.Errorf("merged requested/delivered/completed %d/%d/%d, workers' sums %d/%d/%d", l.Delivery.Requested, l.Delivery.Delivered,
			l.Delivery.Completed, req, del, comp)
	}
	rows := 0
	for _, s := range d.Stats {
		if s.Phase == "ramp-step-1" && strings.HasPrefix(s.Kind, "churn:") {
			rows += s.Count
		}
	}
	if rows != samples || rows < del {
		t.Errorf("the churn:* rows hold %d samples; the workers streamed %d and delivered %d writes", rows, samples, del)
	}
	for _, want := range []string{"churn configmap (3 workers)", "worker 1/3", "worker 2/3", "worker 3/3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the table must show %q:\n%s", want, r.stdout)
		}
	}
	assertNothingLabelled(t, id)
	t.Logf("%d of %d writes delivered (%.3f) by 3 workers on %d node(s); %d samples; run took %v", l.Delivery.Delivered,
		l.Delivery.Requested, l.Delivery.Ratio, len(nodes), samples, time.Since(start).Round(time.Second))
}

// TestWorkersSigintStopsLoad: a SIGINT in the middle of a worker step deletes the Job: no object of the run is
// created more than 2 s after it, no worker write was sent more than 2 s after it, and nothing is left.
func TestWorkersSigintStopsLoad(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	in := interruptLoaded(t, dir, 90*time.Second, 2*time.Minute, func() bool { return cw.countPrefix("ConfigMap", "pyrometer-churn-w") >= 60 },
		"the workers' load (60 objects)", workerArgs(id, "40s")...)
	if in.code == 0 {
		t.Errorf("an interrupted run must exit non-zero")
	}
	assertQuietAfter(t, cw, dir, in.sigint, 2*time.Second, 5*time.Second)
	assertNothingLabelled(t, id)
	t.Logf("exited %v after SIGINT; %d worker objects created", in.exited.Round(100*time.Millisecond), cw.countPrefix("ConfigMap", "pyrometer-churn-w"))
}

// TestWorkersFailingWorkerNamed: workers whose image cannot be pulled (the plugin's image rewritten to one that does
// not exist) fail the step, naming the worker and why; nothing is left.
func TestWorkersFailingWorkerNamed(t *testing.T) {
	v := plugin(t, time.Minute, "version", "-o", "json")
	var info struct {
		Client struct {
			ProbeImage string `json:"probeImage"`
		}
	}
	if err := json.Unmarshal([]byte(v.stdout), &info); err != nil || info.Client.ProbeImage == "" {
		t.Fatalf("version -o json: %v\n%s", err, v.stdout)
	}
	id := runID(t)
	dir := t.TempDir()
	args := append(workerArgs(id, "8s"), "--image-rewrite", info.Client.ProbeImage+"=localhost/pyrometer-no-such-image:missing")
	r := pluginIn(t, dir, 3*time.Minute, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	if r.code != 1 {
		t.Errorf("a step whose workers cannot start must fail the run (exit 1), got %d\n%s", r.code, r.stderr)
	}
	d := readWorkers(t, filepath.Join(dir, "out"))
	var step string
	for _, p := range d.Phases {
		if p.Name == "ramp-step-1" {
			step = p.Status + ": " + p.Error
		}
	}
	for _, want := range []string{"fail: load not delivered: worker ", " of 3 (pod ", "cannot pull image localhost/pyrometer-no-such-image:missing"} {
		if !strings.Contains(step, want) {
			t.Errorf("ramp-step-1 must say %q, got %q", want, step)
		}
	}
	if len(d.Loads) != 1 || len(d.Loads[0].PerWorker) != 3 || d.Loads[0].Verdict.Delivered {
		t.Errorf("run.json must record the load not delivered with its 3 worker rows: %+v", d.Loads)
	}
	assertNothingLabelled(t, id)
	t.Logf("ramp-step-1 %s", step)
}

// TestWorkersDeadWorkerNamed: a worker pod deleted in the middle of the step (as an eviction would) fails the step,
// naming that worker, instead of a smaller load passing for the requested one; nothing is left.
func TestWorkersDeadWorkerNamed(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	cmd, _, errb := startPlugin(t, dir, workerArgs(id, "20s")...)
	deadline := time.Now().Add(90 * time.Second)
	for cw.countPrefix("ConfigMap", "pyrometer-churn-w1-") < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("worker 2 did not create 20 objects within 90 s\n%s", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := adminClient(t)
	ns := "pyrometer-" + id + "-step-1"
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-completion-index=1"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("worker pod of index 1: %v (%d pods)", err, len(pods.Items))
	}
	victim := pods.Items[0].Name
	if err := c.CoreV1().Pods(ns).Delete(context.Background(), victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 2*time.Minute); code != 1 {
		t.Errorf("a step that lost a worker must fail the run (exit 1), got %d\n%s", code, errb.String())
	}
	d := readWorkers(t, filepath.Join(dir, "out"))
	var step string
	for _, p := range d.Phases {
		if p.Name == "ramp-step-1" {
			step = p.Status + ": " + p.Error
		}
	}
	for _, want := range []string{"fail: load not delivered: ", "worker 2 of 3 (pod " + victim + ")", "SIGTERM"} {
		if !strings.Contains(step, want) {
			t.Errorf("ramp-step-1 must say %q, got %q", want, step)
		}
	}
	assertNothingLabelled(t, id)
	t.Logf("ramp-step-1 %s", step)
}

// TestWorkersBadInput: bad --load-from, --workers and --max-workers are refused with one line naming the flag,
// a non-zero exit, and nothing created; a plan shows the workers' check.
func TestWorkersBadInput(t *testing.T) {
	before := countOurNamespaces(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--modes", "churn", "--load-from", "mars"}, `invalid --load-from "mars": allowed values are local, cluster, auto`},
		{[]string{"run", "--modes", "cpu", "--load-from", "cluster"}, "invalid --load-from cluster: needs mode churn or api"},
		{[]string{"run", "--modes", "churn", "--workers", "3"}, "invalid --workers 3: needs --load-from cluster"},
		{[]string{"run", "--modes", "churn", "--load-from", "cluster", "--workers", "51"}, "invalid --workers 51: above --max-workers 50"},
		{[]string{"run", "--modes", "churn", "--load-from", "cluster", "--workers", "-1"}, "invalid --workers -1: must be at least 1"},
		{[]string{"plan", "--modes", "api", "--load-from", "cluster", "--max-workers", "0"}, "invalid --max-workers 0: must be between 1 and 1000"},
		{[]string{"run", "--modes", "churn", "--workers-flowschema"}, "invalid --workers-flowschema: needs --load-from cluster"},
		{[]string{"knee", "--workers-flowschema", "--load-from", "auto"}, "invalid --workers-flowschema: needs --load-from cluster"},
	} {
		r := plugin(t, time.Minute, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant one line containing %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if after := countOurNamespaces(t); after > before {
		t.Errorf("bad input created namespaces: %d before, %d after", before, after)
	}
	r := plugin(t, time.Minute, "plan", "--modes", "churn", "--steps", "2", "--load-from", "cluster", "--workers", "4", "--node-selector", realNode)
	if !strings.Contains(r.stdout+r.stderr, "load-workers: 4 worker pods per step (8 over the run)") {
		t.Errorf("plan must show the workers' check:\n%s\n%s", r.stdout, r.stderr)
	}
}

// TestKneeWithWorkers: knee --load-from cluster --workers 2: every step's load comes from two worker pods (each
// step's account is the merged one, with a row per worker whose sums are the merged figures), the search ends
// (30 and 60 writes/s are far below this server's knee: above-max, or a knee when the machine is very busy), and
// nothing is left.
func TestKneeWithWorkers(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	r := pluginIn(t, dir, 88*time.Second, "--kubeconfig", kubeconfig, "knee", "--start-rate", "30", "--max-rate", "60",
		"--step-duration", "5s", "--baseline", "3s", "--precision", "50%", "--cooldown", "1s", "--probes", "readyz,get",
		"--load-from", "cluster", "--workers", "2", "--node-selector", realNode, "--run-id", id, "--output-dir", "out")
	if r.code != 0 && r.code != 2 {
		t.Fatalf("knee exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	d := readWorkers(t, filepath.Join(dir, "out"))
	if len(d.Loads) < 2 {
		t.Fatalf("want a load per knee step (at least 2), got %d\n%s", len(d.Loads), r.stderr)
	}
	for _, l := range d.Loads {
		if l.LoadFrom != "cluster" || len(l.PerWorker) != 2 {
			t.Errorf("%s: loadFrom %q with %d worker rows, want cluster with 2", l.Phase, l.LoadFrom, len(l.PerWorker))
			continue
		}
		var req, del int
		for _, w := range l.PerWorker {
			if w.Failure != "" || w.Delivery.Requested == 0 {
				t.Errorf("%s: worker row %+v", l.Phase, w)
			}
			req, del = req+w.Delivery.Requested, del+w.Delivery.Delivered
		}
		if req != l.Delivery.Requested || del != l.Delivery.Delivered {
			t.Errorf("%s: merged requested/delivered %d/%d, workers' sums %d/%d", l.Phase, l.Delivery.Requested, l.Delivery.Delivered, req, del)
		}
		if l.Delivery.Ratio < 0.95 {
			t.Errorf("%s: merged delivery %.3f of %d requested writes", l.Phase, l.Delivery.Ratio, l.Delivery.Requested)
		}
	}
	if !strings.Contains(r.stdout, "writes/s") {
		t.Errorf("knee's answer is missing:\n%s", r.stdout)
	}
	assertNothingLabelled(t, id)
	t.Logf("%s", r.stdout)
}

// TestWorkersFlowSchema: run --load-from cluster --workers 2 --workers-flowschema puts the workers' requests on a
// priority level of the run's own: every write sample the workers streamed back was served by it (the APF level of
// the response header), run.json records the FlowSchema, the level, what it copied (the level the workers fall into
// by the apiserver's configuration) and the seat share it took, and the apiserver's own count of the level's
// dispatched requests in the step covers the workers' writes; the plan showed the two objects; nothing labelled is
// left (the FlowSchema and the level included).
func TestWorkersFlowSchema(t *testing.T) {
	id := runID(t)
	name := "pyrometer-" + id + "-workers"
	args := []string{"--modes", "churn", "--churn-rate", "10", "--churn-lifetime", "2s", "--steps", "1", "--probes", "readyz,get",
		"--baseline", "2s", "--step-duration", "6s", "--recovery", "2s", "--load-from", "cluster", "--workers", "2", "--workers-flowschema",
		"--node-selector", realNode, "--run-id", id}
	p := plugin(t, time.Minute, append([]string{"plan"}, args...)...)
	if p.code != 0 || !strings.Contains(p.stdout+p.stderr, "workers-flowschema: creates FlowSchema "+name) ||
		!strings.Contains(p.stdout+p.stderr, "every other level's nominal seats shrink by ") {
		t.Errorf("plan (exit %d) must show the FlowSchema and the seat share:\n%s\n%s", p.code, p.stdout, p.stderr)
	}
	dir := t.TempDir()
	r := pluginIn(t, dir, 80*time.Second, append([]string{"--kubeconfig", kubeconfig, "run"}, append(args, "--output-dir", "out")...)...)
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Workers *struct {
			LoadFrom string `json:"loadFrom"`
			Workers  int
			APF      *struct {
				FlowSchema, PriorityLevel string
				MatchingPrecedence        int32 `json:"matchingPrecedence"`
				ServiceAccounts           int   `json:"serviceAccounts"`
				CopiedFrom                struct{ FlowSchema, PriorityLevel string }
				Spec                      struct {
					Shares int32 `json:"nominalConcurrencyShares"`
				}
				SharesSum    int32   `json:"sharesSumBefore"`
				OthersShrink float64 `json:"othersShrink"`
				Phases       []struct {
					Phase                string
					Dispatched, Rejected int64
				}
			} `json:"apf"`
		}
		Loads []struct {
			Phase    string
			Delivery struct{ Delivered, Succeeded int }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Workers == nil || d.Workers.APF == nil {
		t.Fatalf("run.json has no workers.apf record\n%s", r.stderr)
	}
	a := d.Workers.APF
	if d.Workers.LoadFrom != "cluster" || d.Workers.Workers != 2 || a.FlowSchema != name || a.PriorityLevel != name || a.ServiceAccounts != 1 ||
		a.MatchingPrecedence != 1000 {
		t.Errorf("workers record %+v, apf %+v", d.Workers, a)
	}
	// the local cluster runs the apiserver's suggested configuration: a ServiceAccount's requests go through
	// FlowSchema service-accounts to level workload-low
	if a.CopiedFrom.FlowSchema != "service-accounts" || a.CopiedFrom.PriorityLevel != "workload-low" || a.Spec.Shares <= 0 {
		t.Errorf("copied from %+v with %d shares, want service-accounts/workload-low", a.CopiedFrom, a.Spec.Shares)
	}
	// the sum of every level's shares now (the run's level is gone) is the sum before the run added its own
	pls, err := adminClient(t).FlowcontrolV1().PriorityLevelConfigurations().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sum int32
	for _, pl := range pls.Items {
		if l := pl.Spec.Limited; l != nil && l.NominalConcurrencyShares != nil {
			sum += *l.NominalConcurrencyShares
		}
		if e := pl.Spec.Exempt; e != nil && e.NominalConcurrencyShares != nil {
			sum += *e.NominalConcurrencyShares
		}
	}
	want := math.Round(float64(a.Spec.Shares)/float64(sum+a.Spec.Shares)*1e4) / 1e4
	if a.SharesSum != sum || a.OthersShrink != want {
		t.Errorf("sharesSumBefore %d, othersShrink %v; the levels' shares sum to %d, so want %v", a.SharesSum, a.OthersShrink, sum, want)
	}
	// every write sample of the workers (one with a response) was served by the run's level
	f, err := os.Open(filepath.Join(dir, "out", "probe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writes, ours := 0, 0
	other := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s struct {
			Phase, Kind, Source string
			Status              int
			PriorityLevel       string `json:"priority_level"`
		}
		if json.Unmarshal(sc.Bytes(), &s) != nil || s.Source != "churn" || !strings.HasPrefix(s.Kind, "churn:") || s.Status == 0 {
			continue
		}
		writes++
		if s.PriorityLevel == name {
			ours++
		} else {
			other[s.PriorityLevel]++
		}
	}
	var delivered int
	for _, l := range d.Loads {
		delivered += l.Delivery.Delivered
	}
	if writes == 0 || ours != writes || writes < delivered {
		t.Errorf("%d of %d worker write samples on level %s (others: %v); %d writes delivered", ours, writes, name, other, delivered)
	}
	var step *struct {
		Phase                string
		Dispatched, Rejected int64
	}
	for i := range a.Phases {
		switch a.Phases[i].Phase {
		case "ramp-step-1":
			step = &a.Phases[i]
		case "baseline": // the level exists, no worker yet: nothing else lands on it
			if a.Phases[i].Dispatched != 0 {
				t.Errorf("level %s dispatched %d requests in the baseline, before any worker ran", name, a.Phases[i].Dispatched)
			}
		}
	}
	if step == nil || step.Dispatched < int64(delivered) {
		t.Errorf("the apiserver's count of level %s in ramp-step-1: %+v, want at least the %d writes delivered", name, step, delivered)
	}
	assertNothingLabelled(t, id)
	t.Logf("copied %s/%s (%d shares of %d: others shrink %.1f%%); %d write samples on %s; apiserver: %+v", a.CopiedFrom.FlowSchema,
		a.CopiedFrom.PriorityLevel, a.Spec.Shares, a.SharesSum, 100*a.OthersShrink, writes, name, a.Phases)
}

// TestWorkersFlowSchemaCleanupAfterKill: a run with --workers-flowschema killed (SIGKILL: no teardown) once its
// FlowSchema and priority level exist leaves them behind; cleanup --run-id lists both (--dry-run) and deletes them
// with the rest of the run.
func TestWorkersFlowSchemaCleanupAfterKill(t *testing.T) {
	id := runID(t)
	name := "pyrometer-" + id + "-workers"
	c := adminClient(t)
	cmd, _, errb := startPlugin(t, t.TempDir(), "run", "--modes", "churn", "--churn-rate", "5", "--churn-lifetime", "2s", "--steps", "1",
		"--probes", "readyz", "--baseline", "20s", "--step-duration", "5s", "--recovery", "2s", "--load-from", "cluster", "--workers", "2",
		"--workers-flowschema", "--node-selector", realNode, "--run-id", id, "--output-dir", "out")
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, ferr := c.FlowcontrolV1().FlowSchemas().Get(context.Background(), name, metav1.GetOptions{})
		_, perr := c.FlowcontrolV1().PriorityLevelConfigurations().Get(context.Background(), name, metav1.GetOptions{})
		if ferr == nil && perr == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("flowschema and priority level %s not created within 60 s (%v, %v)\n%s", name, ferr, perr, errb.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = waitExit(t, cmd, time.Minute)
	dry := plugin(t, time.Minute, "cleanup", "--run-id", id, "--dry-run")
	for _, want := range []string{"FlowSchema", "PriorityLevelConfiguration", name} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("cleanup --dry-run must list %q:\n%s\n%s", want, dry.stdout, dry.stderr)
		}
	}
	r := plugin(t, 3*time.Minute, "cleanup", "--run-id", id)
	if r.code != 0 {
		t.Fatalf("cleanup exited %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	assertNothingLabelled(t, id)
}

// TestWorkersFlowSchemaSigint: a SIGINT while the workers write on the run's priority level ends the run with its
// FlowSchema and priority level deleted (the final cleanup's), nothing labelled left.
func TestWorkersFlowSchemaSigint(t *testing.T) {
	id := runID(t)
	cw := watchCreations(t, id)
	in := interruptLoaded(t, t.TempDir(), 90*time.Second, 2*time.Minute, func() bool { return cw.countPrefix("ConfigMap", "pyrometer-churn-w") >= 20 },
		"the workers' load (20 objects)", append(workerArgs(id, "40s"), "--workers-flowschema")...)
	cw.stop()
	if in.code == 0 {
		t.Errorf("an interrupted run must exit non-zero")
	}
	if !strings.Contains(in.stderr.String(), "--workers-flowschema: flowschema and prioritylevelconfiguration pyrometer-"+id+"-workers deleted") {
		t.Errorf("the run must say it deleted its FlowSchema and priority level:\n%s", in.stderr.String())
	}
	assertNothingLabelled(t, id)
	t.Logf("exited %v after SIGINT", in.exited.Round(100*time.Millisecond))
}
