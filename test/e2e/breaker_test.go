//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type runDoc struct {
	Phases []struct {
		Name, Status, Error string
		Start, End          time.Time
	}
	Failures []struct{ Phase, Reason string }
	Outcome  struct{ Result string }
}

func readRun(t *testing.T, dir string) runDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d runDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBreakerStopsUnschedulableRamp: a plan over the real node's CPU, let through with --yes, is stopped by the
// breaker on FailedScheduling within 30 s, and nothing is left.
func TestBreakerStopsUnschedulableRamp(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	start := time.Now()
	r := pluginIn(t, dir, 6*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "cpu", "--cpu-replicas", "3", "--cpu-millicores", "1500",
		"--node-selector", realNode, "--image-map", localImages(t), "--steps", "2", "--baseline", "2s", "--step-duration", "5s",
		"--recovery", "2s", "--run-id", id, "--output-dir", "out", "--yes")
	if r.code != 1 {
		t.Fatalf("a ramp stopped by the breaker is a failed run (exit 1), got %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "WARNING") {
		t.Errorf("--yes on a blocked plan must print a prominent warning:\n%s", r.stderr)
	}
	d := readRun(t, filepath.Join(dir, "out"))
	var step1 *struct {
		Name, Status, Error string
		Start, End          time.Time
	}
	for i := range d.Phases {
		if d.Phases[i].Name == "ramp-step-1" {
			step1 = &d.Phases[i]
		}
	}
	if step1 == nil || step1.Status != "fail" || !strings.Contains(step1.Error, "breaker: pod ") || !strings.Contains(step1.Error, "unschedulable") {
		t.Fatalf("ramp-step-1 must fail on the breaker's unschedulable check: %+v", d.Phases)
	}
	// grace 15 s + check every 2 s: well within 30 s of the first unschedulable pod (created right at step start).
	// The step starts with its setup sub-phase (kube-burner creating the pod), where the breaker stopped it: the
	// setup ends with the failure and the step's window is empty.
	var setup1 *struct {
		Name, Status, Error string
		Start, End          time.Time
	}
	for i := range d.Phases {
		if d.Phases[i].Name == "ramp-step-1-setup" {
			setup1 = &d.Phases[i]
		}
	}
	if setup1 == nil || setup1.Status != "fail" || setup1.Error != step1.Error || setup1.End.After(step1.Start) {
		t.Fatalf("ramp-step-1-setup must end with the step's failure, before its (empty) window: %+v", d.Phases)
	}
	if took := step1.End.Sub(setup1.Start); took > 45*time.Second {
		t.Errorf("breaker took %v from step start (scheduling a pod takes a moment; want the stop within ~30 s of it)", took)
	}
	for _, p := range d.Phases {
		if p.Name == "ramp-step-2" {
			t.Errorf("the ramp must stop after the breaker tripped: %+v", d.Phases)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "failures.jsonl")); !strings.Contains(string(b), "unschedulable") {
		t.Errorf("failures.jsonl must record the reason:\n%s", b)
	}
	assertNothingLeft(t, id)
	t.Logf("whole run %v", time.Since(start))
}

func TestBreakerNamesUnpullableImage(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	images := filepath.Join(t.TempDir(), "images.txt")
	os.WriteFile(images, []byte("docker.io/library/busybox:1.36.1 = localhost:1/nowhere/busybox:none\n"), 0o600)
	r := pluginIn(t, dir, 6*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "cpu", "--node-selector", realNode,
		"--image-map", images, "--steps", "1", "--baseline", "2s", "--step-duration", "5s", "--recovery", "2s", "--run-id", id, "--output-dir", "out")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	d := readRun(t, filepath.Join(dir, "out"))
	found := false
	for _, f := range d.Failures {
		if strings.Contains(f.Reason, "cannot pull image localhost:1/nowhere/busybox:none") && strings.Contains(f.Reason, "--image-map") {
			found = true
		}
	}
	if !found {
		t.Errorf("failures must name the image and suggest --image-map: %+v", d.Failures)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "image-map.txt")); !strings.Contains(string(b), "docker.io/library/busybox:1.36.1 = localhost:1/nowhere/busybox:none") {
		t.Errorf("image-map.txt must record the rewrite:\n%s", b)
	}
	assertNothingLeft(t, id)
}
