package cmd

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell string
		want  []string // every script must contain these
	}{
		{shell: "bash", want: []string{"kubectl-pyrometer", "__complete", "complete -o default -F __start_kubectl-pyrometer kubectl-pyrometer"}},
		{shell: "zsh", want: []string{"kubectl-pyrometer", "__complete", "#compdef kubectl-pyrometer"}},
		{shell: "fish", want: []string{"kubectl-pyrometer", "__complete", "complete -c kubectl-pyrometer"}},
	}
	for _, tc := range tests {
		t.Run(tc.shell, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			root := NewCmdPyrometer(streams)
			root.SetArgs([]string{"completion", tc.shell})
			if err := root.Execute(); err != nil {
				t.Fatalf("completion %s: %v", tc.shell, err)
			}
			if out.Len() == 0 {
				t.Fatalf("completion %s wrote an empty script", tc.shell)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("completion %s: script does not contain %q", tc.shell, w)
				}
			}
			if errOut.Len() != 0 {
				t.Errorf("completion %s wrote to stderr: %q", tc.shell, errOut.String())
			}
		})
	}
}

func TestCompletionHelpNamesKubectlPyrometer(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdPyrometer(streams)
	root.SetArgs([]string{"completion", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"kubectl pyrometer completion SHELL", "kubectl_complete-pyrometer", "source <(kubectl pyrometer completion bash)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("completion --help does not mention %q:\n%s", w, out.String())
		}
	}
}

func TestCompletionRejectsBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown shell", args: []string{"completion", "powershell"},
			want: `unsupported shell "powershell"; valid shells: bash, zsh, fish`},
		{name: "no shell", args: []string{"completion"},
			want: "expected exactly one shell, got 0 arguments; valid shells: bash, zsh, fish"},
		{name: "two shells", args: []string{"completion", "bash", "zsh"},
			want: "expected exactly one shell, got 2 arguments; valid shells: bash, zsh, fish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, _ := genericiooptions.NewTestIOStreams()
			root := NewCmdPyrometer(streams)
			root.SetArgs(tc.args)
			err := root.Execute()
			if err == nil {
				t.Fatalf("%v: expected an error", tc.args)
			}
			if err.Error() != tc.want {
				t.Errorf("%v: error = %q, want %q", tc.args, err.Error(), tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%v: error spans several lines: %q", tc.args, err.Error())
			}
			if out.Len() != 0 {
				t.Errorf("%v: wrote a script despite the error: %q", tc.args, out.String())
			}
		})
	}
}

// TestCompletionThroughComplete is what the kubectl_complete-pyrometer shim relies on: kubectl runs
// "kubectl_complete-pyrometer ARGS...", which runs "kubectl-pyrometer __complete ARGS...".
func TestCompletionThroughComplete(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdPyrometer(streams)
	root.SetArgs([]string{"__complete", "completion", ""})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"bash", "zsh", "fish", ":4"} // :4 = ShellCompDirectiveNoFileComp
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("__complete completion \"\" = %q, want %q", got, want)
	}
}
