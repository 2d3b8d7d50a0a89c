package cmd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/config"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/interactive"
)

// completedRun parses args with run's flags and completes the options, without running.
func completedRun(t *testing.T, args ...string) (*RunOptions, *cobra.Command) {
	t.Helper()
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := newRunOptions(genericclioptions.NewConfigFlags(false), streams)
	o.catalogue = newCatalogue()
	cmd := &cobra.Command{Use: "run"}
	o.addRunFlags(cmd)
	builtin, err := o.catalogue.builtin()
	if err != nil {
		t.Fatal(err)
	}
	o.addModeFlags(cmd, builtin)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(cmd); err != nil {
		t.Fatal(err)
	}
	return o, cmd
}

// The answers become flags: generated mode flags (a --set of the same setting dropped), --set for the rest,
// --monitor, --image-rewrite (replacing earlier rewrites of the same image) and --image-pull-secret; the
// selection and image map are resolved again, and the printed configuration shows them as "interactive".
func TestAnswersBecomeFlags(t *testing.T) {
	o, cmd := completedRun(t, "--modes", "cpu,mem", "--set", "cpu.replicas=3", "--set", "mem.mb=16",
		"--image-rewrite", "docker.io/library/busybox:1.36.1=old/busybox:1", "--image-pull-secret", "old")
	if err := o.applyModes(&interactive.ModeChoices{Modes: []string{"cpu", "api"}, Edited: []interactive.Setting{{Mode: "cpu", Param: "replicas", Value: 4}},
		Monitor: true, MonitorInterval: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	o.applyImages(&interactive.ImageChoices{Rewrites: map[string]string{"docker.io/library/busybox:1.36.1": "new/busybox:1"}, PullSecrets: []string{"regcred"}})
	if err := o.resolve(cmd); err != nil {
		t.Fatal(err)
	}
	if got := o.selection.Settings["cpu"]["replicas"]; got != 4 {
		t.Errorf("cpu.replicas = %v, want 4 (the answer, not the --set)", got)
	}
	if len(o.selection.Modes) != 2 || o.selection.Modes[1].Name != "api" || !o.Monitor || o.MonitorInterval != 5*time.Second {
		t.Errorf("modes/monitor not applied: %v %v %v", o.Modes, o.Monitor, o.MonitorInterval)
	}
	if strings.Join(o.Set, " ") != "mem.mb=16" {
		t.Errorf("--set = %v, want only mem.mb=16 left", o.Set)
	}
	if o.imageFor("docker.io/library/busybox:1.36.1") != "new/busybox:1" || strings.Join(o.PullSecrets, ",") != "regcred" {
		t.Errorf("images: %v, secrets %v", o.ImageRewrites, o.PullSecrets)
	}
	out := config.Print(cmd.LocalNonPersistentFlags(), o.configOrigin)
	for _, want := range []string{`cpu-replicas: "4"  # interactive`, `modes: "cpu,api"  # interactive`, `monitor-interval: "5s"  # interactive`,
		`image-rewrite: ["docker.io/library/busybox:1.36.1=new/busybox:1"]  # interactive`, `image-pull-secret: ["regcred"]  # interactive`,
		`set: ["mem.mb=16"]  # interactive`} {
		if !strings.Contains(out, want) {
			t.Errorf("printed configuration lacks %q:\n%s", want, out)
		}
	}
}

func TestPromptsNeedATerminal(t *testing.T) {
	_, errOut, code := runCmd(t, "run", "-c")
	if code != 1 || !strings.Contains(errOut, "--modes") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

// Issue 13: the answers are applied as typed values (the selection, monitor, image map and pull secrets are set
// without the flags being parsed again); the flags only record them, and resolving the recorded flags gives the
// same run.
func TestAnswersAppliedWithoutReparsingFlags(t *testing.T) {
	o, cmd := completedRun(t, "--modes", "cpu,mem", "--cpu-replicas", "2", "--set", "cpu.replicas=3", "--set", "mem.mb=16",
		"--image-rewrite", "docker.io/library/busybox:1.36.1=old/busybox:1")
	if err := o.applyModes(&interactive.ModeChoices{Modes: []string{"cpu", "api"},
		Edited:  []interactive.Setting{{Mode: "cpu", Param: "replicas", Value: 4}, {Mode: "api", Param: "qps", Value: 75}},
		Monitor: true, MonitorInterval: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	o.applyImages(&interactive.ImageChoices{Rewrites: map[string]string{"docker.io/library/busybox:1.36.1": "new/busybox:1"}, PullSecrets: []string{"regcred"}})
	applied := fmt.Sprint(o.selection.Modes, o.selection.Settings, o.Monitor, o.MonitorInterval, o.imageMap, o.PullSecrets)
	if s := o.selection.Settings; s["cpu"]["replicas"] != 4 || s["api"]["qps"] != 75 || len(o.selection.Modes) != 2 || o.selection.Modes[1].Name != "api" {
		t.Errorf("selection not applied: %s", applied)
	}
	if o.imageFor("docker.io/library/busybox:1.36.1") != "new/busybox:1" || !o.Monitor || o.MonitorInterval != 5*time.Second {
		t.Errorf("images/monitor not applied: %s", applied)
	}
	// the summary shows the answers
	if sum := o.summary(); sum.Values["cpu"]["replicas"] != 4 || sum.Values["api"]["qps"] != 75 {
		t.Errorf("summary values %v", sum.Values)
	}
	if err := o.resolve(cmd); err != nil {
		t.Fatal(err)
	}
	if again := fmt.Sprint(o.selection.Modes, o.selection.Settings, o.Monitor, o.MonitorInterval, o.imageMap, o.PullSecrets); again != applied {
		t.Errorf("the recorded flags resolve to another run:\n%s\nwant\n%s", again, applied)
	}
}
