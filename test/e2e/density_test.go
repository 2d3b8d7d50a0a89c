//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// densityImages maps the catalogue's images to those built into the local cluster (pause for density).
func densityImages(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "images.txt")
	if err := os.WriteFile(f, []byte("docker.io/library/busybox:1.36.1 = localhost/busybox:local\nregistry.k8s.io/pause:3.10 = localhost/pause:local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// podStartupDoc is run.json's part this file reads.
type podStartupDoc struct {
	Hollow *struct {
		Nodes   int
		Traffic *struct {
			Method string
			Note   string
			Phases []struct {
				Phase                                         string
				Seconds                                       float64
				LeaseRenewals, NodeUpdates, ServerLeaseWrites int
			}
			FlowSchemas []struct {
				Request, FlowSchema, PriorityLevel string
			}
			FlowSchemaNote string
		}
	}
	PodStartup *struct {
		Phases []struct {
			Phase            string
			ControlPlaneOnly bool
			SLO              string
			Scheduled        int
			ThroughputMean   float64
			ThroughputMax    float64
			Rows             []struct {
				Kind  string
				Count int
				P99   float64 `json:"p99_ms"`
			}
		}
	}
	Stats []struct {
		Kind, Phase string
		Count       int
	}
	Phases  []struct{ Name, Status, Error string }
	Outcome struct{ Reasons []string }
}

func readPodStartup(t *testing.T, dir string) podStartupDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d podStartupDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// hollowWatch polls the run's hollow nodes and density pods while the run runs: the most nodes seen at once, and
// the nodes the pods were bound to.
type hollowWatch struct {
	mu       sync.Mutex
	maxNodes int
	podNodes map[string]string // pod -> node
	stop     chan struct{}
	done     chan struct{}
}

func watchHollow(t *testing.T, id string) *hollowWatch {
	c := adminClient(t)
	hw := &hollowWatch{podNodes: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	sel := metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id}
	go func() {
		defer close(hw.done)
		for {
			select {
			case <-hw.stop:
				return
			case <-time.After(time.Second):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id + ",kubepyrometer.io/component=hollow-node"})
			pods, perr := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: sel.LabelSelector + ",kubepyrometer.io/mode=density"})
			cancel()
			hw.mu.Lock()
			if err == nil && len(nodes.Items) > hw.maxNodes {
				hw.maxNodes = len(nodes.Items)
			}
			if perr == nil {
				for _, p := range pods.Items {
					if p.Spec.NodeName != "" {
						hw.podNodes[p.Namespace+"/"+p.Name] = p.Spec.NodeName
					}
				}
			}
			hw.mu.Unlock()
		}
	}()
	t.Cleanup(hw.end)
	return hw
}

func (hw *hollowWatch) end() {
	select {
	case <-hw.stop:
	default:
		close(hw.stop)
	}
	<-hw.done
}

// assertNoHollowLeft: no node, lease, kwok deployment or pod of the run is left (besides assertNothingLeft's kinds).
func assertNoHollowLeft(t *testing.T, id string) {
	t.Helper()
	assertNothingLeft(t, id)
	c := adminClient(t)
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id}
	var left []string
	if l, err := c.CoreV1().Nodes().List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "node/"+o.Name)
		}
	}
	if l, err := c.CoordinationV1().Leases("kube-node-lease").List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "lease/"+o.Name)
		}
	}
	if l, err := c.AppsV1().Deployments("").List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "deployment/"+o.Namespace+"/"+o.Name)
		}
	}
	if l, err := c.CoreV1().Pods("").List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "pod/"+o.Namespace+"/"+o.Name)
		}
	}
	if l, err := c.CoreV1().ServiceAccounts("").List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "serviceaccount/"+o.Namespace+"/"+o.Name)
		}
	}
	if len(left) > 0 {
		t.Errorf("run %s left hollow objects behind: %v", id, left)
	}
}

// TestDensityOnHollowNodes: 50 hollow nodes appear, the density pods land only on them, each step has pod-startup
// rows of at least 200 samples labelled control-plane only, the scheduling throughput is reported, nothing is left.
func TestDensityOnHollowNodes(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	hw := watchHollow(t, id)
	r := pluginIn(t, dir, 10*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "density", "--hollow-nodes", "50", "--density-pods", "200", "--density-qps", "20",
		"--steps", "2", "--baseline", "3s", "--step-duration", "3s", "--recovery", "3s", "--image-map", densityImages(t),
		"--run-id", id, "--output-dir", "out")
	hw.end()
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run exited %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "every phase, the baseline included, measures with them") {
		t.Errorf("stderr must say the phases are measured with the hollow nodes:\n%s", r.stderr)
	}
	if hw.maxNodes != 50 {
		t.Errorf("hollow nodes seen at once: %d, want 50", hw.maxNodes)
	}
	if len(hw.podNodes) < 200 {
		t.Errorf("density pods seen bound: %d, want >= 200", len(hw.podNodes))
	}
	prefix := "pyrometer-hollow-" + id + "-"
	for p, n := range hw.podNodes {
		if !strings.HasPrefix(n, prefix) {
			t.Errorf("pod %s landed on %s, not on a hollow node of the run", p, n)
		}
	}
	d := readPodStartup(t, filepath.Join(dir, "out"))
	if d.Hollow == nil || d.Hollow.Nodes != 50 {
		t.Errorf("run.json hollow: %+v", d.Hollow)
	}
	if d.PodStartup == nil {
		t.Fatalf("run.json has no podStartup section\n%s", r.stdout)
	}
	// kwok's own traffic: 50 leases renewed every 10 s (all at once: the nodes were created together, so a short
	// phase may hold none), i.e. about 50 renewals per 10 s over the run; the apiserver counted about as many lease
	// writes (every client's; its phase boundaries are not whole seconds); the FlowSchema is named
	if tr := d.Hollow.Traffic; tr == nil || tr.Method == "" || len(tr.Phases) == 0 {
		t.Errorf("run.json hollow.traffic: %+v", d.Hollow.Traffic)
	} else {
		secs, renewals, server := 0.0, 0, 0
		for _, p := range tr.Phases {
			t.Logf("kwok traffic %s: %+v", p.Phase, p)
			secs, renewals, server = secs+p.Seconds, renewals+p.LeaseRenewals, server+p.ServerLeaseWrites
		}
		if want := 50 * (int(secs)/10 - 1); secs < 20 || renewals < want || server < renewals*8/10 {
			t.Errorf("%d lease renewals in %.0fs (want >= %d: 50 every 10 s), the apiserver counted %d lease writes", renewals, secs, want, server)
		}
		if len(tr.FlowSchemas) == 0 || tr.FlowSchemas[0].FlowSchema == "" || tr.FlowSchemas[0].PriorityLevel == "" {
			t.Errorf("kwok's FlowSchema not named: %+v %s", tr.FlowSchemas, tr.FlowSchemaNote)
		}
		if len(tr.FlowSchemas) > 0 && (!strings.Contains(r.stdout, "KWOK TRAFFIC") || !strings.Contains(r.stdout, "FlowSchema "+tr.FlowSchemas[0].FlowSchema)) {
			t.Errorf("terminal output lacks kwok's traffic and FlowSchema:\n%s", r.stdout)
		}
	}
	steps := map[string]bool{}
	for _, p := range d.PodStartup.Phases {
		steps[p.Phase] = true
		if !p.ControlPlaneOnly {
			t.Errorf("%s: pods on hollow nodes must be labelled control-plane only", p.Phase)
		}
		if p.Scheduled < 200 || p.ThroughputMax <= 0 || p.ThroughputMean <= 0 || p.ThroughputMax < p.ThroughputMean {
			t.Errorf("%s: scheduling throughput %d pods, mean %.2f/s, max %.2f/s", p.Phase, p.Scheduled, p.ThroughputMean, p.ThroughputMax)
		}
		kinds := map[string]int{}
		for _, row := range p.Rows {
			kinds[row.Kind] = row.Count
		}
		if kinds["pod-startup"] < 200 || kinds["pod-schedule"] < 1 {
			t.Errorf("%s: rows %v, want pod-startup >= 200 samples and pod-schedule", p.Phase, kinds)
		}
		if p.SLO != "pass" && p.SLO != "fail" {
			t.Errorf("%s: SLO %q", p.Phase, p.SLO)
		}
	}
	if !steps["ramp-step-1"] || !steps["ramp-step-2"] {
		t.Errorf("pod startup phases: %v, want both steps", steps)
	}
	inStats := 0
	for _, s := range d.Stats {
		if s.Kind == "pod-startup" && s.Count >= 200 {
			inStats++
		}
	}
	if inStats != 2 {
		t.Errorf("stats must hold a pod-startup row per step, found %d", inStats)
	}
	for _, want := range []string{"POD STARTUP", "control-plane only", "pod-startup", "pod-schedule", "SCHED/S"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, r.stdout)
		}
	}
	if i := strings.Index(r.stdout, "HOLLOW NODES"); i >= 0 {
		t.Logf("%s", r.stdout[i:])
	}
	// report.html has the pod startup section; each step's setup (kube-burner creating the 200 pods at 20/s and
	// waiting for them) was probed as its own sub-phase
	html, err := os.ReadFile(filepath.Join(dir, "out", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<h2 id="pod-startup">Pod startup</h2>`, "HOLLOW NODES: 50", "<td>pod-startup</td>", "control-plane only"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, step := range []string{"ramp-step-1-setup", "ramp-step-2-setup"} {
		n := 0
		for _, s := range d.Stats {
			if s.Phase == step && s.Kind == "all" {
				n = s.Count
			}
		}
		if n == 0 {
			t.Errorf("no probe samples in %s: the step's setup must be measured", step)
		}
	}
	assertNoHollowLeft(t, id)
}

// TestDensityInterruptRemovesHollowNodes: SIGINT during a step removes the hollow nodes, kwok and every pod.
func TestDensityInterruptRemovesHollowNodes(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cmd, _, errb := startPlugin(t, dir, "run", "--modes", "density", "--hollow-nodes", "20", "--density-pods", "40", "--density-qps", "20",
		"--steps", "3", "--baseline", "2s", "--step-duration", "2m", "--image-map", densityImages(t), "--run-id", id, "--output-dir", "out")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return len(runningStressPods(ctx, t, id)) >= 20, nil
	}); err != nil {
		t.Fatalf("no density pods running on the hollow nodes within 3 minutes:\n%s", errb.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 5*time.Minute); code == 0 {
		t.Errorf("an interrupted run must exit non-zero")
	}
	assertNoHollowLeft(t, id)
}

// TestDensityOnRealNode: density on the real node reports the SLI rows, not labelled control-plane only.
func TestDensityOnRealNode(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	r := pluginIn(t, dir, 6*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "density", "--density-pods", "5", "--density-qps", "5", "--density-on", "real",
		"--node-selector", realNode, "--steps", "1", "--baseline", "2s", "--step-duration", "3s", "--recovery", "2s",
		"--image-map", densityImages(t), "--run-id", id, "--output-dir", "out")
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run exited %d\n%s", r.code, r.stderr)
	}
	d := readPodStartup(t, filepath.Join(dir, "out"))
	if d.PodStartup == nil || len(d.PodStartup.Phases) != 1 {
		t.Fatalf("run.json podStartup: %+v", d.PodStartup)
	}
	p := d.PodStartup.Phases[0]
	if p.ControlPlaneOnly {
		t.Errorf("pods on the real node must not be labelled control-plane only")
	}
	n := 0
	for _, row := range p.Rows {
		if row.Kind == "pod-startup" {
			n = row.Count
		}
	}
	if n != 5 {
		t.Errorf("pod-startup samples %d, want 5: %+v", n, p.Rows)
	}
	if !strings.Contains(r.stdout, "POD STARTUP") || strings.Contains(r.stdout, "control-plane only") {
		t.Errorf("terminal output:\n%s", r.stdout)
	}
	if i := strings.Index(r.stdout, "POD STARTUP"); i >= 0 {
		t.Logf("%s", r.stdout[i:])
	}
	assertNoHollowLeft(t, id)
}

// TestDensityMaxPodsBreaker: a step over the hollow nodes' pod capacity is stopped by the breaker, named.
func TestDensityMaxPodsBreaker(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	r := pluginIn(t, dir, 8*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "density", "--hollow-nodes", "2", "--hollow-pods-per-node", "5",
		"--density-pods", "20", "--density-qps", "20", "--steps", "2", "--baseline", "2s", "--step-duration", "3s", "--recovery", "2s",
		"--image-map", densityImages(t), "--run-id", id, "--output-dir", "out", "--yes")
	if r.code != 1 {
		t.Fatalf("a ramp stopped by the breaker is a failed run (exit 1), got %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "hollow-pod-slots") {
		t.Errorf("the safety plan must show the hollow pod slots check:\n%s", r.stderr)
	}
	d := readPodStartup(t, filepath.Join(dir, "out"))
	found := false
	for _, p := range d.Phases {
		if p.Name == "ramp-step-1" && p.Status == "fail" && strings.Contains(p.Error, "breaker: maxPods exhausted") {
			found = true
		}
		if p.Name == "ramp-step-2" {
			t.Errorf("the ramp must stop after the breaker tripped")
		}
	}
	if !found {
		t.Errorf("ramp-step-1 must fail with the breaker naming maxPods exhausted: %+v", d.Phases)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "failures.jsonl")); !strings.Contains(string(b), "maxPods exhausted") {
		t.Errorf("failures.jsonl must name maxPods exhausted:\n%s", b)
	}
	if !strings.Contains(strings.Join(d.Outcome.Reasons, "\n"), "maxPods exhausted") {
		t.Errorf("the verdict (outcome reasons) must name maxPods exhausted: %q", d.Outcome.Reasons)
	}
	assertNoHollowLeft(t, id)
}

// TestDensityKilledThenCleanup: after SIGKILL the hollow nodes, leases and kwok are left; cleanup --run-id finds
// and removes them.
func TestDensityKilledThenCleanup(t *testing.T) {
	id := runID(t)
	cmd, _, errb := startPlugin(t, t.TempDir(), "run", "--modes", "density", "--hollow-nodes", "5", "--density-pods", "10", "--density-qps", "20",
		"--steps", "2", "--baseline", "2s", "--step-duration", "2m", "--image-map", densityImages(t), "--run-id", id, "--output-dir", "out")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return len(runningStressPods(ctx, t, id)) >= 5, nil
	}); err != nil {
		t.Fatalf("no density pods running on the hollow nodes within 3 minutes:\n%s", errb.String())
	}
	_ = cmd.Process.Kill()
	_ = waitExit(t, cmd, time.Minute)
	nodes, _ := adminClient(t).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id})
	if len(nodes.Items) != 5 {
		t.Fatalf("SIGKILL should have left the 5 hollow nodes behind, found %d", len(nodes.Items))
	}
	dry := plugin(t, time.Minute, "cleanup", "--run-id", id, "--dry-run")
	for _, want := range []string{"Node", "Lease", "Deployment", "ClusterRole"} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("cleanup --dry-run must list the hollow %s objects:\n%s", want, dry.stdout)
		}
	}
	r := plugin(t, 5*time.Minute, "cleanup", "--run-id", id)
	if r.code != 0 {
		t.Fatalf("cleanup exited %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	assertNoHollowLeft(t, id)
}
