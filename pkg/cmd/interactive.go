package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/interactive"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
)

// Answers is what a person answered at the prompts of run -i/-c/-r; run.json records it as "interactive".
type Answers struct {
	Modes  *interactive.ModeChoices  `json:"modes,omitempty"`
	Images *interactive.ImageChoices `json:"images,omitempty"`
	// Confirmed: the final confirmation was answered yes (a blocked plan: "start anyway").
	Confirmed   bool   `json:"confirmed"`
	SavedConfig string `json:"savedConfig,omitempty"`
}

// interactiveOrigin is the origin --print-config/--save-config show for a value chosen at a prompt.
const interactiveOrigin = "interactive"

// asks reports whether any prompt was asked for (-i, -c, -r).
func (o *RunOptions) asks() bool { return o.Interactive || o.AskModes || o.AskImages }

// checkTerminal refuses the prompts when stdin or stderr is not a terminal, naming the flags to use instead.
func (o *RunOptions) checkTerminal() error {
	if !o.asks() || o.isInteractive() {
		return nil
	}
	return errors.New("-i/--interactive, -c/--interactive-modes and -r/--interactive-images ask at a terminal, and stdin or stderr " +
		"is not one; choose with flags instead: --modes, --<mode>-<parameter> or --set MODE.PARAMETER=VALUE, --monitor, " +
		"--image-map FILE or --image-rewrite ORIGINAL=REPLACEMENT, --image-pull-secret NAME (or all of them in --config FILE)")
}

func (o *RunOptions) terminal(ctx context.Context) *interactive.Terminal {
	return &interactive.Terminal{Ctx: ctx, In: o.In, Out: o.ErrOut, Accessible: os.Getenv("ACCESSIBLE") != ""}
}

// abortedAtPrompt is the error of Ctrl-C at a prompt: nothing was created, exit 130 as for an interrupt.
func abortedAtPrompt() error {
	return exitcode.New(exitcode.Interrupted, errors.New("interrupted at a prompt: nothing was created"))
}

// prompt asks the modes and settings (-c), then the images and pull secrets (-r), and applies the answers (the
// selection, monitor, image map and pull secrets); the command's flags record them as if they had been given there
// (so --print-config and --save-config show them, and run.json records them). It creates nothing; with -r it reads
// the pull secrets to check they exist.
func (o *RunOptions) prompt(ctx context.Context, cmd *cobra.Command) error {
	t := o.terminal(ctx)
	o.answers = &Answers{}
	if o.Interactive || o.AskModes {
		all, err := o.catalog.Select(o.catalog.Modes, o.overridesSeen)
		if err != nil {
			return err
		}
		var enabled []string
		for _, m := range o.selection.Modes {
			enabled = append(enabled, m.Name)
		}
		t.Say(">>> Contention mode selection (Enter accepts the preselected answer; Ctrl-C quits, nothing created)")
		ch, err := interactive.ChooseModes(t, o.catalog, interactive.ModeState{Enabled: enabled, Values: all.Settings,
			Monitor: o.Monitor, MonitorInterval: o.MonitorInterval})
		if errors.Is(err, interactive.ErrAborted) {
			return abortedAtPrompt()
		}
		if err != nil {
			return err
		}
		o.answers.Modes = ch
		if err := o.applyModes(ch); err != nil {
			return err
		}
	}
	if o.Interactive || o.AskImages {
		env, err := run.Connect(o.configFlags, o.RunID)
		if err != nil {
			return err
		}
		ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("failed to resolve the current namespace: %w", err)
		}
		t.Say(">>> Registry redirect (Enter keeps the value shown; Ctrl-C quits, nothing created)")
		ch, err := interactive.ChooseImages(t, interactive.ImageState{Images: o.images(), Current: o.imageFor, PullSecrets: o.PullSecrets,
			Namespace: ns, SecretExists: func(name string) error {
				_, err := env.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
				switch {
				case err == nil:
					return nil
				case apierrors.IsNotFound(err):
					return fmt.Errorf("secret %s not found in namespace %s (create it first, e.g. kubectl create secret docker-registry)", name, ns)
				case apierrors.IsForbidden(err):
					return fmt.Errorf("this identity may not read secret %s in namespace %s, and the run must copy it", name, ns)
				default:
					return fmt.Errorf("failed to check secret %s in namespace %s: %v", name, ns, err)
				}
			}})
		if errors.Is(err, interactive.ErrAborted) {
			return abortedAtPrompt()
		}
		if err != nil {
			return err
		}
		o.answers.Images = ch
		o.applyImages(ch)
	}
	o.seeFlags(cmd)
	o.answers.SavedConfig = o.SaveConfig
	return nil
}

// record marks the flag name as set at a prompt, its bound field already holding the answer: --print-config and
// --save-config show it with origin "interactive", and run.json records it among the flags.
func (o *RunOptions) record(name string) {
	o.flags.Lookup(name).Changed = true
	o.configOrigin[name] = interactiveOrigin
}

// applyModes applies the mode answers as typed values: the selection is made from the chosen modes and the
// settings, the edited ones as modes.Override winning over a flag or --set of the same setting, and the monitor is
// set. The flags record the answers: --modes, the generated --<mode>-<parameter> flags (--set for modes of
// --plugins files; a --set of an answered setting is dropped), --monitor and --monitor-interval.
func (o *RunOptions) applyModes(ch *interactive.ModeChoices) error {
	chosen := make([]*modes.Mode, 0, len(ch.Modes))
	for _, name := range ch.Modes {
		m := o.catalog.Mode(name)
		if m == nil {
			return fmt.Errorf("internal error: mode %q was answered but is not in the catalogue", name)
		}
		chosen = append(chosen, m)
	}
	answered := func(mode, param string) bool {
		return slices.ContainsFunc(ch.Edited, func(e interactive.Setting) bool { return e.Mode == mode && e.Param == param })
	}
	overrides := slices.DeleteFunc(slices.Clone(o.overridesSeen), func(ov modes.Override) bool { return answered(ov.Mode, ov.Param) })
	sets := slices.DeleteFunc(slices.Clone(o.Set), func(s string) bool {
		ov, err := modes.ParseSet(s)
		return err == nil && answered(ov.Mode, ov.Param)
	})
	var generated []string
	for _, e := range ch.Edited {
		v := strconv.FormatFloat(e.Value, 'f', -1, 64) // exact: Select reads back e.Value
		name := e.Mode + "-" + e.Param
		ov, ok := o.modeFlags[name] // built-in modes only (a --plugins mode cannot reuse their names)
		if !ok {
			ov = &modes.Override{Mode: e.Mode, Param: e.Param, Origin: "--set " + e.Mode + "." + e.Param}
			sets = append(sets, e.Mode+"."+e.Param+"="+v)
		} else {
			generated = append(generated, name)
		}
		ov.Value = v
		overrides = append(overrides, *ov)
	}
	sel, err := o.catalog.Select(chosen, overrides)
	if err != nil {
		return err
	}
	o.selection, o.overridesSeen = sel, overrides
	o.Monitor = ch.Monitor
	if ch.Monitor {
		o.MonitorInterval = ch.MonitorInterval
	}
	// the record
	o.Modes = strings.Join(ch.Modes, ",")
	o.record("modes")
	for _, name := range generated {
		o.record(name)
	}
	if !slices.Equal(sets, o.Set) {
		o.Set = sets
		o.record("set")
	}
	o.record("monitor")
	if ch.Monitor {
		o.record("monitor-interval")
	}
	return nil
}

// applyImages applies the image answers as typed values: each answered image is rewritten as answered (over
// --image-map and an earlier --image-rewrite of it), and the pull secrets are the answered ones. The flags record
// them: --image-rewrite (an earlier rewrite of an answered image replaced) and --image-pull-secret.
func (o *RunOptions) applyImages(ch *interactive.ImageChoices) {
	var rewrites []string
	for _, r := range o.ImageRewrites {
		from, _, _ := strings.Cut(r, "=")
		if _, answered := ch.Rewrites[strings.TrimSpace(from)]; !answered {
			rewrites = append(rewrites, r)
		}
	}
	for _, img := range o.images() {
		if to, ok := ch.Rewrites[img]; ok {
			if o.imageMap == nil {
				o.imageMap = modes.ImageMap{}
			}
			o.imageMap[img] = to
			rewrites = append(rewrites, img+"="+to)
		}
	}
	if !slices.Equal(rewrites, o.ImageRewrites) {
		o.ImageRewrites = rewrites
		o.record("image-rewrite")
	}
	if !slices.Equal(ch.PullSecrets, o.PullSecrets) {
		o.PullSecrets = ch.PullSecrets
		o.record("image-pull-secret")
	}
}

// summary is the chosen configuration as the final confirmation shows it.
func (o *RunOptions) summary() interactive.Summary {
	all, err := o.catalog.Select(o.catalog.Modes, o.overridesSeen)
	values := map[string]map[string]float64{}
	if err == nil {
		values = all.Settings
	}
	var enabled []string
	for _, m := range o.selection.Modes {
		enabled = append(enabled, m.Name)
	}
	images := map[string]string{}
	for _, img := range o.images() {
		images[img] = o.imageFor(img)
	}
	return interactive.Summary{Catalog: o.catalog, Enabled: enabled, Values: values, Monitor: o.Monitor,
		MonitorInterval: o.MonitorInterval, Images: images, PullSecrets: o.PullSecrets}
}

// confirmAtTerminal shows what was chosen and the safety plan, then asks the final confirmation (a blocked plan
// is asked "start anyway?", preselected No). Missing permissions refuse the run before asking. It returns how a
// blocked plan was let through, as admit does.
func (o *RunOptions) confirmAtTerminal(ctx context.Context, c *safety.Result) (string, error) {
	if err := o.checkPermissions(c); err != nil {
		return "", err
	}
	t := o.terminal(ctx)
	fmt.Fprintln(o.ErrOut)
	o.summary().Write(o.ErrOut)
	fmt.Fprintln(o.ErrOut, ">>> Safety plan:")
	if err := c.Plan.WriteText(o.ErrOut); err != nil {
		return "", err
	}
	title, def := "Start the run?", true
	if c.Plan.Blocked {
		title, def = "The safety plan is BLOCKED ("+c.Plan.Reason()+"). Start the run anyway?", false
	}
	ok, err := t.Confirm(title, "run "+o.RunID+": everything it creates is removed at the end and on Ctrl-C", def)
	if errors.Is(err, interactive.ErrAborted) {
		return "", abortedAtPrompt()
	}
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errors.New("not started: declined at the final confirmation; nothing was created")
	}
	if o.answers == nil {
		o.answers = &Answers{}
	}
	o.answers.Confirmed = true
	if c.Plan.Blocked {
		o.warnBlocked(c.Plan, "confirmed at the terminal")
		return "confirmed at the terminal", nil
	}
	return "", nil
}
