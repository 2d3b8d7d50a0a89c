package cmd

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
)

// NewCmdKubeBurner returns the hidden "kubectl pyrometer __kube-burner": the kube-burner process that run starts
// for each batch of stress objects (see stress.Runner). It reads its request on stdin; not for people.
func NewCmdKubeBurner() *cobra.Command {
	return &cobra.Command{
		Use:                stress.ChildCommand,
		Short:              "Internal: runs kube-burner for run (request on stdin)",
		Hidden:             true,
		Args:               cobra.NoArgs,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, _ []string) error {
			if code := stress.ServeChild(os.Stdin, os.Stdout, os.Stderr); code != 0 {
				return &ExitError{Code: code, Err: errChild}
			}
			return nil
		},
	}
}

var errChild = errors.New("the kube-burner process failed (its result and logs went to the plugin)")
