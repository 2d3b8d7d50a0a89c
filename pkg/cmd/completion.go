package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// completionShells are the shells "kubectl pyrometer completion" writes scripts for.
var completionShells = []string{"bash", "zsh", "fish"}

// CompletionOptions holds the argument of "kubectl pyrometer completion".
type CompletionOptions struct {
	Shell string

	root *cobra.Command // the command tree to complete
	genericiooptions.IOStreams
}

// NewCmdCompletion returns "kubectl pyrometer completion SHELL", which prints the completion script of root.
func NewCmdCompletion(root *cobra.Command, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CompletionOptions{root: root, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "completion SHELL",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `Print the shell completion script for bash, zsh or fish.

The script completes the kubectl-pyrometer binary when it is called by that
name. For "kubectl pyrometer <TAB>", kubectl's own completion (kubectl 1.26 or
newer) looks for an executable named kubectl_complete-pyrometer on PATH and
runs it; that script only has to run "kubectl-pyrometer __complete" with its
arguments. The release archives ship it: copy it into a directory on PATH.`,
		Example: `  # bash: load completion in the current shell (add the line to ~/.bashrc to keep it)
  source <(kubectl pyrometer completion bash)

  # zsh: write it where zsh looks for completion functions
  kubectl pyrometer completion zsh > "${fpath[1]}/_kubectl-pyrometer"

  # fish
  kubectl pyrometer completion fish > ~/.config/fish/completions/kubectl-pyrometer.fish`,
		ValidArgs:             completionShells,
		DisableFlagsInUseLine: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("expected exactly one shell, got %d arguments; valid shells: %s",
					len(args), strings.Join(completionShells, ", "))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			o.Shell = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	return cmd
}

// Validate checks that the shell is one we can write a script for.
func (o *CompletionOptions) Validate() error {
	for _, s := range completionShells {
		if o.Shell == s {
			return nil
		}
	}
	return fmt.Errorf("unsupported shell %q; valid shells: %s", o.Shell, strings.Join(completionShells, ", "))
}

// Run writes the completion script to Out.
func (o *CompletionOptions) Run() error {
	switch o.Shell {
	case "bash":
		return o.root.GenBashCompletionV2(o.Out, true)
	case "zsh":
		return o.root.GenZshCompletion(o.Out)
	default: // fish; Validate let nothing else through
		return o.root.GenFishCompletion(o.Out, true)
	}
}
