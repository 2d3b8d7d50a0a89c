package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
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
				return exitcode.New(code, errChild)
			}
			return nil
		},
	}
}

var errChild = errors.New("the kube-burner process failed (its result and logs went to the plugin)")

// runGuarded runs r. The run recovers from panics in its phases itself (it tears down and writes its artifacts);
// a panic after that (results, artifacts) still ends in one error line with the cleanup command, exit code 1.
func runGuarded(ctx context.Context, r *run.Runner, runID string, errOut io.Writer) (res *result.Doc, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(errOut, "internal error (panic: %v)\n%s\nif anything of the run is left, remove it with:\n  kubectl pyrometer cleanup --run-id %s\n",
				p, debug.Stack(), runID)
			res, err = nil, fmt.Errorf("run %s: internal error: %v", runID, p)
		}
	}()
	return r.Run(ctx, version.Get())
}
