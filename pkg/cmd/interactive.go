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
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/interactive"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
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

// prompt asks the modes and settings (-c), then the images and pull secrets (-r), and applies the answers to the
// command's flags as if they had been given there (so --print-config and --save-config show them, and run.json
// records them). It creates nothing; with -r it reads the pull secrets to check they exist.
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
		if err := o.resolve(cmd); err != nil {
			return err
		}
	}
	if o.Interactive || o.AskImages {
		env, err := newProbeEnv(o.configFlags)
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
				_, err := env.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
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
		if err := o.resolve(cmd); err != nil {
			return err
		}
	}
	o.answers.SavedConfig = o.SaveConfig
	return nil
}

// setFlag sets a flag of the command as if given on the command line, its origin "interactive".
func (o *RunOptions) setFlag(name, value string) error {
	f := o.flags.Lookup(name)
	if f == nil {
		return fmt.Errorf("internal error: no flag --%s", name)
	}
	if err := f.Value.Set(value); err != nil {
		return fmt.Errorf("invalid --%s %q: %w", name, value, err)
	}
	f.Changed = true
	o.configOrigin[name] = interactiveOrigin
	return nil
}

// replaceList sets a list flag to exactly values.
func (o *RunOptions) replaceList(name string, values []string) {
	f := o.flags.Lookup(name)
	_ = f.Value.(pflag.SliceValue).Replace(values)
	f.Changed = true
	o.configOrigin[name] = interactiveOrigin
}

// applyModes writes the mode answers into the flags: --modes, the generated --<mode>-<parameter> flags (--set for
// modes of --plugins files), --monitor and --monitor-interval. A --set of a setting answered at the prompt is dropped.
func (o *RunOptions) applyModes(ch *interactive.ModeChoices) error {
	if err := o.setFlag("modes", strings.Join(ch.Modes, ",")); err != nil {
		return err
	}
	sets := append([]string(nil), o.Set...)
	for _, e := range ch.Edited {
		v := strconv.FormatFloat(e.Value, 'f', -1, 64)
		sets = slices.DeleteFunc(sets, func(s string) bool {
			ov, err := modes.ParseSet(s)
			return err == nil && ov.Mode == e.Mode && ov.Param == e.Param
		})
		name := e.Mode + "-" + e.Param
		if _, generated := o.modeFlags[name]; generated { // built-in modes only (a --plugins mode cannot reuse their names)
			if err := o.setFlag(name, v); err != nil {
				return err
			}
			continue
		}
		sets = append(sets, e.Mode+"."+e.Param+"="+v)
	}
	if !slices.Equal(sets, o.Set) {
		o.replaceList("set", sets)
	}
	if err := o.setFlag("monitor", strconv.FormatBool(ch.Monitor)); err != nil {
		return err
	}
	if ch.Monitor {
		return o.setFlag("monitor-interval", ch.MonitorInterval.String())
	}
	return nil
}

// applyImages writes the image answers into --image-rewrite (replacing earlier ones of the same images) and
// --image-pull-secret.
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
			rewrites = append(rewrites, img+"="+to)
		}
	}
	if !slices.Equal(rewrites, o.ImageRewrites) {
		o.replaceList("image-rewrite", rewrites)
	}
	if !slices.Equal(ch.PullSecrets, o.PullSecrets) {
		o.replaceList("image-pull-secret", ch.PullSecrets)
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
func (o *RunOptions) confirmAtTerminal(ctx context.Context, c *safetyCheck) (string, error) {
	if err := o.checkPermissions(c); err != nil {
		return "", err
	}
	t := o.terminal(ctx)
	fmt.Fprintln(o.ErrOut)
	o.summary().Write(o.ErrOut)
	fmt.Fprintln(o.ErrOut, ">>> Safety plan:")
	if err := c.plan.WriteText(o.ErrOut); err != nil {
		return "", err
	}
	title, def := "Start the run?", true
	if c.plan.Blocked {
		title, def = "The safety plan is BLOCKED ("+c.plan.Reason()+"). Start the run anyway?", false
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
	if c.plan.Blocked {
		o.warnBlocked(c.plan, "confirmed at the terminal")
		return "confirmed at the terminal", nil
	}
	return "", nil
}
