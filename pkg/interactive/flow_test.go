package interactive

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// script answers prompts in order; each answer names the prompt it expects (a prefix of its title), so a test
// fails at the first question asked out of order.
type script struct {
	t       *testing.T
	answers []answer
	said    []string
	asked   []string
}

type answer struct {
	title string
	value string // "y"/"n" for Confirm, text for Input, "^C" to abort
}

func (s *script) next(title string) (string, error) {
	s.t.Helper()
	s.asked = append(s.asked, title)
	if len(s.answers) == 0 {
		s.t.Fatalf("unexpected prompt %q (no answers left)", title)
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	if !strings.HasPrefix(title, a.title) {
		s.t.Fatalf("prompt %q, but the script expected %q", title, a.title)
	}
	if a.value == "^C" {
		return "", ErrAborted
	}
	return a.value, nil
}

func (s *script) Confirm(title, _ string, _ bool) (bool, error) {
	v, err := s.next(title)
	return v == "y", err
}

func (s *script) Input(title, _, _ string) (string, error) { return s.next(title) }

func (s *script) Say(format string, args ...any) {
	s.said = append(s.said, fmt.Sprintf(format, args...))
}

func catalog(t *testing.T) *modes.Catalog {
	t.Helper()
	cat, err := modes.LoadCatalog(pyrometer.Catalog, pyrometer.Templates)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func state(t *testing.T, cat *modes.Catalog) ModeState {
	sel, err := cat.Select(cat.Modes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ModeState{Enabled: []string{"cpu", "mem"}, Values: sel.Settings, MonitorInterval: 10 * time.Second}
}

func TestChooseModesEditsWithinBounds(t *testing.T) {
	cat := catalog(t)
	s := &script{t: t, answers: []answer{
		{"Enable cpu", "y"}, {"Edit cpu", "n"},
		{"Enable mem", "y"}, {"Edit mem", "y"},
		{"mem replicas", "0"},   // below min: asked again
		{"mem replicas", "1.5"}, // not a whole number: asked again
		{"mem replicas", "2"},
		{"mem mb", ""}, // Enter keeps 32
		{"Enable disk", "n"}, {"Enable network", "n"},
		{"Enable api", "y"}, {"Edit api", "n"},
		// churn: Enter keeps a duration, a size and a choice in their own form; a choice is set by its value
		{"Enable churn", "y"}, {"Edit churn", "y"}, {"churn rate", ""}, {"churn lifetime", ""}, {"churn updates", ""},
		{"churn size", ""}, {"churn kind", "pod"}, {"churn kind", "secret"}, {"churn arrival", ""}, {"churn watchers", ""},
		{"churn workers", ""}, {"Enable density", "n"},
		{"Record the cluster monitor", "y"}, {"Monitor interval", "fast"}, {"Monitor interval", "5"},
	}}
	ch, err := ChooseModes(s, cat, state(t, cat))
	if err != nil {
		t.Fatal(err)
	}
	want := &ModeChoices{Modes: []string{"cpu", "mem", "api", "churn"}, Edited: []Setting{{"mem", "replicas", 2}, {"churn", "kind", 1}},
		Monitor: true, MonitorInterval: 5 * time.Second}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("got %+v, want %+v", ch, want)
	}
	reasons := strings.Join(s.said, "\n")
	for _, r := range []string{`"0": must be between 1 and`, `"1.5": must be a whole number`, `"fast": must be a duration`,
		`"pod": must be one of configmap, secret`} {
		if !strings.Contains(reasons, r) {
			t.Errorf("no reason %q in:\n%s", r, reasons)
		}
	}
}

func TestChooseModesNeedsOne(t *testing.T) {
	cat := catalog(t)
	var answers []answer
	for _, m := range cat.Modes {
		answers = append(answers, answer{"Enable " + m.Name, "n"})
	}
	answers = append(answers, answer{"Enable cpu", "y"}, answer{"Edit cpu", "n"})
	for _, m := range cat.Modes[1:] {
		answers = append(answers, answer{"Enable " + m.Name, "n"})
	}
	answers = append(answers, answer{"Record", "n"})
	s := &script{t: t, answers: answers}
	ch, err := ChooseModes(s, cat, state(t, cat))
	if err != nil || !reflect.DeepEqual(ch.Modes, []string{"cpu"}) {
		t.Fatalf("%+v, %v", ch, err)
	}
	if !strings.Contains(strings.Join(s.said, "\n"), "no mode enabled") {
		t.Errorf("no reason given: %v", s.said)
	}
}

func TestChooseModesAbort(t *testing.T) {
	cat := catalog(t)
	s := &script{t: t, answers: []answer{{"Enable cpu", "y"}, {"Edit cpu", "^C"}}}
	if _, err := ChooseModes(s, cat, state(t, cat)); !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v, want ErrAborted", err)
	}
}

func TestChooseImages(t *testing.T) {
	const busybox = "docker.io/library/busybox:1.36.1"
	const probe = "ghcr.io/kubepyrometer/kubectl-pyrometer:v1"
	st := ImageState{Images: []string{busybox, probe}, Current: func(s string) string { return s }, Namespace: "default",
		SecretExists: func(n string) error {
			if n != "regcred" {
				return fmt.Errorf("secret %s not found in namespace default", n)
			}
			return nil
		}}
	s := &script{t: t, answers: []answer{
		{"Registry prefix", "bad ref"},
		{"Registry prefix", "registry.local:5000/mirror/"},
		{"Image for " + busybox, ""},                        // Enter: the prefix applied
		{"Image for " + probe, "localhost/pyrometer:local"}, // typed
		{"Image pull secrets", "nope"},
		{"Image pull secrets", "regcred"},
	}}
	ch, err := ChooseImages(s, st)
	if err != nil {
		t.Fatal(err)
	}
	want := &ImageChoices{Registry: "registry.local:5000/mirror", PullSecrets: []string{"regcred"}, Rewrites: map[string]string{
		busybox: "registry.local:5000/mirror/library/busybox:1.36.1", probe: "localhost/pyrometer:local"}}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("got %+v, want %+v", ch, want)
	}
	if said := strings.Join(s.said, "\n"); !strings.Contains(said, "secret nope not found") || !strings.Contains(said, "no spaces") {
		t.Errorf("reasons missing:\n%s", said)
	}
}

func TestChooseImagesKeepAndClear(t *testing.T) {
	st := ImageState{Images: []string{"busybox:1"}, Current: func(s string) string { return "mirror/busybox:1" },
		PullSecrets: []string{"old"}, Namespace: "ns"}
	s := &script{t: t, answers: []answer{{"Registry prefix", ""}, {"Image for busybox:1", ""}, {"Image pull secrets", "-"}}}
	ch, err := ChooseImages(s, st)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Registry != "" || ch.Rewrites["busybox:1"] != "mirror/busybox:1" || ch.PullSecrets != nil {
		t.Errorf("%+v", ch)
	}
}

func TestWithRegistry(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/busybox:1.36.1": "r.io/m/library/busybox:1.36.1",
		"busybox:1.36.1":                   "r.io/m/library/busybox:1.36.1",
		"bitnami/kubectl:1.35.2":           "r.io/m/bitnami/kubectl:1.35.2",
		"ghcr.io/a/b@sha256:00":            "r.io/m/a/b@sha256:00",
		"localhost:5000/x:1":               "r.io/m/x:1",
	} {
		if got := WithRegistry(in, "r.io/m"); got != want {
			t.Errorf("WithRegistry(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	cat := catalog(t)
	st := state(t, cat)
	var b strings.Builder
	Summary{Catalog: cat, Enabled: []string{"cpu", "api"}, Values: st.Values, Monitor: true, MonitorInterval: 5 * time.Second,
		Images: map[string]string{"a:1": "m/a:1", "b:1": "b:1"}, PullSecrets: []string{"regcred"}}.Write(&b)
	out := b.String()
	for _, want := range []string{"cpu     = on   (replicas=1, millicores=50)", "mem     = off", "monitor = on   (interval=5s)",
		"a:1 -> m/a:1", "    b:1\n", "pull secrets: regcred"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
