//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

const realNode = "kubepyrometer.io/real-node=true"

// localImages maps the catalogue's stress image to the one built into the local cluster.
func localImages(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "images.txt")
	if err := os.WriteFile(f, []byte("# local cluster: no registry\ndocker.io/library/busybox:1.36.1 = localhost/busybox:local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func runID(t *testing.T) string {
	return fmt.Sprintf("e2e%05d", time.Now().UnixNano()%100000)
}

// startPlugin starts the binary in the background.
func startPlugin(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	return cmd, &out, &errb
}

func waitExit(t *testing.T, cmd *exec.Cmd, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		t.Fatalf("plugin did not exit within %v", timeout)
		return -1
	}
}

// runningStressPods lists Running pods of the run.
func runningStressPods(ctx context.Context, t *testing.T, id string) []corev1.Pod {
	pods, err := adminClient(t).CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id})
	if err != nil {
		return nil
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			out = append(out, p)
		}
	}
	return out
}

func TestRunCPUMemAPI(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	c := adminClient(t)
	// watch the cluster while the run goes on: stress pods really run on the real node; the flood's objects exist
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seenPods := map[string]string{} // pod -> node
	maxFlood := 0
	go func() {
		for ctx.Err() == nil {
			for _, p := range runningStressPods(ctx, t, id) {
				mu.Lock()
				seenPods[p.Name] = p.Spec.NodeName
				mu.Unlock()
			}
			cms, err := c.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: "kubepyrometer.io/mode=api,kubepyrometer.io/run-id=" + id})
			if err == nil {
				mu.Lock()
				maxFlood = max(maxFlood, len(cms.Items))
				mu.Unlock()
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	r := pluginIn(t, dir, 10*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "cpu,mem,api", "--steps", "2",
		"--baseline", "4s", "--step-duration", "5s", "--recovery", "4s", "--interval", "500ms",
		"--api-iterations", "10", "--api-replicas", "2", "--cpu-millicores", "100",
		"--image-map", localImages(t), "--node-selector", realNode, "--run-id", id, "--output-dir", "out", "-o", "json")
	cancel()
	if r.code != 0 {
		t.Fatalf("run exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	// -o json: stdout is exactly one JSON document, kube-burner's logs went elsewhere
	var res struct {
		RunID  string
		Phases []struct{ Name, Status string }
		Stats  []struct {
			Phase, Kind string
			Count       int
		}
		Recovery *struct{ Recovered bool }
		Outcome  struct {
			Result   string
			ExitCode int `json:"exit_code"`
		}
		Teardown []struct{ Kind, Name, Status string }
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&res); err != nil || dec.More() {
		t.Fatalf("-o json must print exactly one JSON document (err %v):\n%s", err, r.stdout)
	}
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name+":"+p.Status)
	}
	// a data-plane step is two sub-phases, both measured: setup (kube-burner creating the load) and window
	if got := strings.Join(names, ","); got != "baseline:pass,ramp-step-1-setup:pass,ramp-step-1:pass,ramp-step-2-setup:pass,ramp-step-2:pass,teardown:pass,recovery:pass" {
		t.Errorf("phases: %s", got)
	}
	if res.Outcome.Result != "pass" || res.Recovery == nil {
		t.Errorf("outcome %+v recovery %+v", res.Outcome, res.Recovery)
	}
	perPhase := map[string]int{}
	for _, s := range res.Stats {
		if s.Kind == "all" {
			perPhase[s.Phase] = s.Count
		}
	}
	for _, p := range []string{"baseline", "ramp-step-1-setup", "ramp-step-1", "ramp-step-2-setup", "ramp-step-2", "recovery"} {
		if perPhase[p] == 0 {
			t.Errorf("no samples in phase %s", p)
		}
	}
	mu.Lock()
	onReal := 0
	for pod, node := range seenPods {
		if strings.HasPrefix(node, "kwok-") || node == "" {
			t.Errorf("stress pod %s ran on %q, not the real node", pod, node)
		} else {
			onReal++
		}
	}
	// cpu + mem, one each per step, cumulative: 4 pods
	if onReal < 4 {
		t.Errorf("saw %d stress pods Running on the real node, want 4 (cpu+mem x 2 steps): %v", onReal, seenPods)
	}
	if maxFlood == 0 {
		t.Error("never saw the API flood's ConfigMaps while the run went on")
	}
	mu.Unlock()
	// artifacts parse
	out := filepath.Join(dir, "out")
	for _, f := range []string{"run.json", "phases.jsonl", "probe.jsonl", "summary.csv", "probe-stats.csv", "failures.jsonl", "events.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("artifact %s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.csv"))
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) != 8 || strings.Join(rows[0][:7], ",") != "phase,uuid,exit_code,start_epoch,end_epoch,elapsed_seconds,status" {
		t.Errorf("summary.csv (seed columns first): %v %v", rows, err)
	}
	b, _ = os.ReadFile(filepath.Join(out, "probe-stats.csv"))
	if !strings.HasPrefix(string(b), "phase,count,min_ms,p50_ms,p95_ms,max_ms,") {
		t.Errorf("probe-stats.csv header: %q", strings.SplitN(string(b), "\n", 2)[0])
	}
	if b, _ := os.ReadFile(filepath.Join(out, "events.jsonl")); !strings.Contains(string(b), `"reason":"Started"`) {
		t.Errorf("events.jsonl should hold the stress pods' events")
	}
	assertNothingLeft(t, id)
	if left := runningStressPods(context.Background(), t, id); len(left) > 0 {
		t.Errorf("stress pods left: %d", len(left))
	}

	// The finished run re-rendered, compared with itself, and bundled.
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "src=") {
		t.Errorf("report.html: %v (self-contained, with charts)", err)
	}
	rr := pluginIn(t, dir, time.Minute, "report", "out")
	if rr.code != 0 || !strings.Contains(rr.stdout, "ramp-step-2") || !strings.Contains(rr.stdout, "Result: pass") {
		t.Errorf("report out: exit %d\n%s\n%s", rr.code, rr.stdout, rr.stderr)
	}
	rr = pluginIn(t, dir, time.Minute, "compare", "out", "out", "--fail-on-regression", "20%")
	if rr.code != 0 || !strings.Contains(rr.stdout, "baseline") {
		t.Errorf("a run compared with itself has no regression: exit %d\n%s\n%s", rr.code, rr.stdout, rr.stderr)
	}
	rr = pluginIn(t, dir, time.Minute, "bundle", "out", "--out", "b.tar.gz")
	if rr.code != 0 || !strings.Contains(rr.stdout, "run.json") {
		t.Errorf("bundle: exit %d\n%s\n%s", rr.code, rr.stdout, rr.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "run.json")); strings.Contains(string(b), `"kubeconfig"`) || strings.Contains(string(b), "client-key") {
		t.Error("run.json must not record kubectl connection flags")
	}
}

// waitForStress waits until a step namespace of the run has a Running stress pod.
func waitForStress(t *testing.T, id string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return len(runningStressPods(ctx, t, id)) > 0, nil
	})
	if err != nil {
		t.Fatalf("run %s: no stress pod Running within %v", id, timeout)
	}
}

func TestRunInterruptTearsDown(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cmd, _, errb := startPlugin(t, dir, "run", "--modes", "cpu,api", "--steps", "3", "--baseline", "2s", "--step-duration", "2m",
		"--api-iterations", "400", "--api-qps", "10", "--image-map", localImages(t), "--node-selector", realNode, "--run-id", id, "--output-dir", "out")
	waitForStress(t, id, 3*time.Minute)
	time.Sleep(2 * time.Second) // the flood is running now
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, 4*time.Minute)
	if code == 0 {
		t.Errorf("an interrupted run must exit non-zero")
	}
	assertNothingLeft(t, id)
	if !strings.Contains(errb.String(), "stopping and cleaning up") {
		t.Errorf("stderr should say Ctrl-C cleans up:\n%s", errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "run.json"))
	if err != nil || !strings.Contains(string(b), `"result": "failed"`) {
		t.Errorf("run.json of an interrupted run: %v\n%.400s", err, b)
	}
}

func TestRunKilledThenCleanup(t *testing.T) {
	id := runID(t)
	cmd, _, _ := startPlugin(t, t.TempDir(), "run", "--modes", "cpu,mem", "--steps", "2", "--baseline", "2s", "--step-duration", "2m",
		"--image-map", localImages(t), "--node-selector", realNode, "--run-id", id, "--output-dir", "out")
	waitForStress(t, id, 3*time.Minute)
	_ = cmd.Process.Kill()
	_ = waitExit(t, cmd, time.Minute)
	c := adminClient(t)
	nss, _ := c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id})
	if len(nss.Items) == 0 {
		t.Fatal("SIGKILL should have left the run's namespaces behind (nothing to clean up?)")
	}
	r := plugin(t, 5*time.Minute, "cleanup", "--run-id", id, "-o", "json")
	if r.code != 0 {
		t.Fatalf("cleanup exited %d: %s", r.code, r.stderr)
	}
	assertNothingLeft(t, id)
	r = plugin(t, time.Minute, "cleanup", "--run-id", id)
	if r.code != 0 || !strings.Contains(r.stderr, "nothing to clean up") {
		t.Errorf("cleanup twice: exit %d %s", r.code, r.stderr)
	}
}
