// Package interactive asks a person at a terminal how to set up a run: which stress modes, with which settings,
// whether to record the cluster monitor, where to pull the images from and with which pull secret. The questions
// are github.com/charmbracelet/huh (v1) prompts; the package never talks to the cluster (checks that need it are passed in).
package interactive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/huh"
)

// ErrAborted is returned when the person pressed Ctrl-C at a prompt, or the context ended.
var ErrAborted = errors.New("aborted at a prompt")

// Prompter asks one question at a time.
type Prompter interface {
	// Confirm asks a yes/no question; def is preselected.
	Confirm(title, description string, def bool) (bool, error)
	// Input asks for a line of text; an empty answer is returned as is (callers treat it as "keep").
	Input(title, description, placeholder string) (string, error)
	// Say prints a line between prompts (an answer's echo, a reason to ask again).
	Say(format string, args ...any)
}

// Terminal is the Prompter of a real terminal: In and Out are the terminal (stdin and stderr).
type Terminal struct {
	Ctx context.Context
	In  io.Reader
	Out io.Writer
	// Accessible asks line by line without redrawing the screen (screen readers, dumb terminals).
	Accessible bool
}

func (t *Terminal) run(f huh.Field) error {
	if err := t.Ctx.Err(); err != nil {
		return ErrAborted
	}
	form := huh.NewForm(huh.NewGroup(f)).WithInput(t.In).WithOutput(t.Out).WithShowHelp(false).
		WithAccessible(t.Accessible).WithTheme(huh.ThemeBase16())
	err := form.RunWithContext(t.Ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, huh.ErrUserAborted), t.Ctx.Err() != nil:
		return ErrAborted
	default:
		return fmt.Errorf("prompt failed: %w", err)
	}
}

// Confirm implements Prompter.
func (t *Terminal) Confirm(title, description string, def bool) (bool, error) {
	v := def
	c := huh.NewConfirm().Title(title).Affirmative("Yes").Negative("No").Value(&v)
	if description != "" {
		c.Description(description)
	}
	if err := t.run(c); err != nil {
		return false, err
	}
	answer := "no"
	if v {
		answer = "yes"
	}
	t.Say("%s %s", title, answer)
	return v, nil
}

// Input implements Prompter.
func (t *Terminal) Input(title, description, placeholder string) (string, error) {
	var v string
	in := huh.NewInput().Title(title).Placeholder(placeholder).Value(&v)
	if description != "" {
		in.Description(description)
	}
	if err := t.run(in); err != nil {
		return "", err
	}
	shown := strings.TrimSpace(v)
	switch {
	case shown == "" && placeholder == "":
		shown = "(none)"
	case shown == "":
		shown = placeholder + " (kept)"
	}
	t.Say("%s %s", title, shown)
	return strings.TrimSpace(v), nil
}

// Say implements Prompter.
func (t *Terminal) Say(format string, args ...any) {
	fmt.Fprintf(t.Out, format+"\n", args...)
}

// ask asks until check accepts the answer, saying why an answer was refused; an empty answer means def.
func ask(p Prompter, title, description, def string, check func(string) error) (string, error) {
	for {
		v, err := p.Input(title, description, def)
		if err != nil {
			return "", err
		}
		if v == "" {
			v = def
		}
		if err := check(v); err != nil {
			p.Say("  ✗ %q: %v; try again", v, err)
			continue
		}
		return v, nil
	}
}
