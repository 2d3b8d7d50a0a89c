//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// terminal is the plugin running in a tmux session: a real terminal, driven as a person would (send-keys) and
// read as a person would (capture-pane).
type terminal struct {
	t       *testing.T
	session string
	rcFile  string
}

// startTerminal runs the plugin with args (after --kubeconfig) in a new 150x50 tmux session, in dir.
func startTerminal(t *testing.T, dir string, args ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is required (hack/setup.sh installs it)")
	}
	tm := &terminal{t: t, session: fmt.Sprintf("pyrometer-e2e-%d", time.Now().UnixNano()), rcFile: filepath.Join(dir, "rc")}
	quoted := []string{shellQuote(binary), "--kubeconfig", shellQuote(kubeconfig)}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	// The exit code goes to a file; the session stays open so that the screen can still be read.
	script := fmt.Sprintf("cd %s && %s; echo $? > %s; sleep 3600", shellQuote(dir), strings.Join(quoted, " "), shellQuote(tm.rcFile))
	cmd := exec.Command("tmux", "new-session", "-d", "-s", tm.session, "-x", "150", "-y", "50", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent/use-the-flag", "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screen of %s:\n%s", tm.session, tm.screen())
		}
		_ = exec.Command("tmux", "kill-session", "-t", tm.session).Run()
	})
	return tm
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// screen is the whole scrollback and screen, wrapped lines joined.
func (tm *terminal) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-J", "-t", tm.session, "-S", "-3000").Output()
	if err != nil {
		return fmt.Sprintf("(capture-pane failed: %v)", err)
	}
	return string(out)
}

// waitFor waits until the screen shows text.
func (tm *terminal) waitFor(text string, timeout time.Duration) {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(tm.screen(), text) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tm.t.Fatalf("the terminal did not show %q within %v", text, timeout)
}

// answer waits for a prompt, then types keys (tmux key names: Enter, C-u, C-c, or text).
func (tm *terminal) answer(prompt string, keys ...string) {
	tm.t.Helper()
	tm.waitFor(prompt, 30*time.Second)
	time.Sleep(300 * time.Millisecond) // as a person reads the prompt
	if out, err := exec.Command("tmux", append([]string{"send-keys", "-t", tm.session}, keys...)...).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// exitCode waits for the plugin to exit.
func (tm *terminal) exitCode(timeout time.Duration) int {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(tm.rcFile); err == nil && len(b) > 0 {
			rc, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				tm.t.Fatal(err)
			}
			return rc
		}
		time.Sleep(200 * time.Millisecond)
	}
	tm.t.Fatalf("the plugin did not exit within %v", timeout)
	return -1
}

// pullSecret creates a (dummy) docker-registry Secret in the kubeconfig's namespace (default) for the test.
func pullSecret(t *testing.T, name string) {
	t.Helper()
	c := adminClient(t)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"localhost":{"auth":"dTpw"}}}`)}}
	if _, err := c.CoreV1().Secrets("default").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Secrets("default").Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// TestInteractiveFullSession: run -i at a terminal, through every prompt, with invalid answers asked again with
// their reason; the summary and the safety plan before the final confirmation; the run itself with its
// sparklines; the answers in run.json; and --save-config reproducing the same plan without prompts.
func TestInteractiveFullSession(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	secret := "pull-" + id
	pullSecret(t, secret)
	saved := filepath.Join(dir, "saved.yaml")
	tm := startTerminal(t, dir, "run", "-i", "--run-id", id, "--output-dir", "out", "--steps", "1", "--baseline", "3s",
		"--step-duration", "3s", "--recovery", "3s", "--probes", "readyz,get", "--save-config", saved)

	tm.answer("Enable cpu contention?", "Enter") // preselected yes (cpu,mem are the default modes)
	tm.answer("Edit cpu settings for this run?", "y")
	tm.answer("cpu replicas:", "0", "Enter")
	tm.waitFor(`"0": must be between 1 and 1000; try again`, 10*time.Second)
	tm.answer("cpu replicas:", "C-u", "2", "Enter")
	tm.answer("cpu millicores:", "Enter") // keeps 50
	tm.answer("Enable mem contention?", "n")
	tm.answer("Enable disk contention?", "n")
	tm.answer("Enable network contention?", "n")
	tm.answer("Enable api contention?", "n")
	tm.answer("Enable churn contention?", "n")
	tm.answer("Enable density contention?", "n")
	tm.answer("Record the cluster monitor?", "n")
	tm.answer("Registry prefix for all images:", "Enter")
	tm.answer("Image for docker.io/library/busybox:1.36.1:", "localhost/busybox:local", "Enter")
	tm.answer("Image pull secrets:", "no-such-secret", "Enter")
	tm.waitFor("secret no-such-secret not found in namespace default", 10*time.Second)
	tm.answer("Image pull secrets:", "C-u", secret, "Enter")
	tm.waitFor("Start the run?", 60*time.Second)

	screen := tm.screen()
	for _, want := range []string{
		"cpu     = on   (replicas=2, millicores=50)", "mem     = off", "api     = off", "monitor = off",
		"docker.io/library/busybox:1.36.1 -> localhost/busybox:local", "Image pull secrets: " + secret,
		"SAFETY PLAN", "VERDICT: ALLOWED", "configuration saved to " + saved,
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("before the final confirmation the terminal lacks %q", want)
		}
	}
	if n := countRunNamespaces(t, id); n != 0 {
		t.Fatalf("%d namespaces of run %s exist before the final confirmation", n, id)
	}
	tm.answer("Start the run?", "Enter")
	if rc := tm.exitCode(6 * time.Minute); rc != 0 && rc != 2 {
		t.Fatalf("run exited %d", rc)
	}
	screen = tm.screen()
	if !strings.Contains(screen, "LATENCY OVER TIME") || !strings.Contains(screen, "| = start of baseline, ramp-step-1") {
		t.Error("no sparklines under the table on a terminal")
	}

	var doc struct {
		Settings    map[string]map[string]float64 `json:"settings"`
		Modes       []string                      `json:"modes"`
		Interactive struct {
			Modes struct {
				Modes  []string `json:"modes"`
				Edited []struct {
					Mode, Param string
					Value       float64
				} `json:"edited"`
			} `json:"modes"`
			Images struct {
				Rewrites    map[string]string `json:"rewrites"`
				PullSecrets []string          `json:"pullSecrets"`
			} `json:"images"`
			Confirmed bool `json:"confirmed"`
		} `json:"interactive"`
		Safety struct {
			Total struct {
				Pods, Namespaces int
			} `json:"total"`
		} `json:"safety"`
		Outcome struct{ Result string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	in := doc.Interactive
	if strings.Join(doc.Modes, ",") != "cpu" || doc.Settings["cpu"]["replicas"] != 2 || !in.Confirmed ||
		len(in.Modes.Edited) != 1 || in.Modes.Edited[0].Param != "replicas" || in.Modes.Edited[0].Value != 2 ||
		in.Images.Rewrites["docker.io/library/busybox:1.36.1"] != "localhost/busybox:local" ||
		strings.Join(in.Images.PullSecrets, ",") != secret {
		t.Errorf("run.json does not record the answers: %s", b)
	}
	imap, _ := os.ReadFile(filepath.Join(dir, "out", "image-map.txt"))
	if !strings.Contains(string(imap), "docker.io/library/busybox:1.36.1 = localhost/busybox:local") {
		t.Errorf("image-map.txt:\n%s", imap)
	}
	assertNothingLeft(t, id)

	// The saved configuration reproduces the same plan, without prompts.
	cfg, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`modes: "cpu"  # interactive`, `cpu-replicas: "2"  # interactive`, `image-pull-secret: ["` + secret + `"]`,
		`image-rewrite: ["docker.io/library/busybox:1.36.1=localhost/busybox:local"]`, `steps: "1"  # flag`, "# run-id:"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("saved configuration lacks %q:\n%s", want, cfg)
		}
	}
	r := plugin(t, 2*time.Minute, "plan", "--config", saved, "-o", "json")
	if r.code != 0 {
		t.Fatalf("plan --config %s: exit %d: %s", saved, r.code, r.stderr)
	}
	var p struct {
		Total struct {
			Pods, Namespaces int
		} `json:"total"`
		PerStep struct {
			CPUMillis int64 `json:"cpuMillis"`
		} `json:"perStep"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
	}
	if p.Total != doc.Safety.Total || p.Total.Pods != 2 {
		t.Errorf("the saved configuration plans %+v, the interactive run planned %+v (want 2 pods)", p.Total, doc.Safety.Total)
	}
}

// countRunNamespaces counts the namespaces labelled with run id.
func countRunNamespaces(t *testing.T, id string) int {
	t.Helper()
	nss, err := adminClient(t).CoreV1().Namespaces().List(context.Background(),
		metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id})
	if err != nil {
		t.Fatal(err)
	}
	return len(nss.Items)
}

// TestInteractiveCtrlC: Ctrl-C at a prompt, first while choosing modes, then at the final confirmation (after the
// cluster was read for the safety plan), exits 130 having created nothing.
func TestInteractiveCtrlC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		answer []string // prompts answered with Enter before the Ctrl-C
		at     string
	}{
		{"at a mode prompt", []string{"run", "-c"}, []string{"Enable cpu contention?"}, "Edit cpu settings for this run?"},
		{"at the final confirmation", []string{"run", "-r", "--image-map", "IMAGES"},
			[]string{"Registry prefix for all images:", "Image for docker.io/library/busybox:1.36.1:", "Image pull secrets:"}, "Start the run?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := runID(t)
			dir := t.TempDir()
			args := append([]string{}, tc.args...)
			for i, a := range args {
				if a == "IMAGES" {
					args[i] = localImages(t)
				}
			}
			tm := startTerminal(t, dir, append(args, "--run-id", id, "--output-dir", "out")...)
			for _, p := range tc.answer {
				tm.answer(p, "Enter")
			}
			tm.answer(tc.at, "C-c")
			if rc := tm.exitCode(time.Minute); rc != 130 {
				t.Errorf("exit %d, want 130", rc)
			}
			tm.waitFor("error: interrupted at a prompt: nothing was created", 5*time.Second)
			if n := countRunNamespaces(t, id); n != 0 {
				t.Errorf("%d namespaces of run %s exist", n, id)
			}
			assertNothingLeft(t, id)
		})
	}
}

// TestInteractiveNeedsTerminal: without a terminal the prompts are refused with one line naming the flags to use.
func TestInteractiveNeedsTerminal(t *testing.T) {
	before := countOurNamespaces(t)
	for _, flag := range []string{"-i", "-c", "-r"} {
		r := plugin(t, time.Minute, "run", flag)
		if r.code != 1 || !strings.Contains(r.stderr, "--modes") || !strings.Contains(r.stderr, "--image-pull-secret") {
			t.Errorf("run %s without a terminal: exit %d, stderr %q", flag, r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
	}
	if after := countOurNamespaces(t); after != before {
		t.Errorf("namespaces: %d before, %d after", before, after)
	}
}
