package exitcode

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	plain := errors.New("invalid --steps 0: must be between 1 and 100")
	slo := New(SLOFailed, errors.New("run abcd1234: slo-failed: ramp-step-1/get: p99 1432.1 ms > SLO 1000 ms"))
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, OK},
		{"any error", plain, Failed},
		{"SLO failed", slo, SLOFailed},
		{"regression", New(Regression, errors.New("regression")), Regression},
		{"interrupted at a prompt", New(Interrupted, errors.New("interrupted at a prompt: nothing was created")), Interrupted},
		{"wrapped keeps its code", fmt.Errorf("run: %w", slo), SLOFailed},
		{"joined: the first code", errors.Join(plain, New(Regression, plain)), Regression},
		{"a child's code passes through", New(4, errors.New("the kube-burner process failed")), 4},
		{"New with OK is success", New(OK, plain), OK},
	}
	for _, tc := range cases {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("%s: Of(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
	if err := New(SLOFailed, plain); err.Error() != plain.Error() || !errors.Is(err, plain) {
		t.Errorf("an exit-code error must read and unwrap as its error: %q", err)
	}
}

// The README's "Exit codes" table documents exactly these codes.
func TestREADMEListsTheCodes(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Exit codes\n")
	if !ok {
		t.Fatal(`README.md has no "## Exit codes" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var got []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(sec, -1) {
		n, _ := strconv.Atoi(m[1])
		got = append(got, n)
	}
	if want := []int{OK, Failed, SLOFailed, Regression, Interrupted}; !slices.Equal(got, want) {
		t.Errorf("README exit codes %v, want %v", got, want)
	}
}
