// Package cmd holds the cobra commands of kubectl-pyrometer. Each subcommand has an Options type with Complete,
// Validate and Run; the work itself lives in the other packages under pkg/.
package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// ExitError carries a specific exit code out of a command (for example "SLO failed" as opposed to "run failed").
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// NewCmdPyrometer returns the root command, "kubectl pyrometer".
func NewCmdPyrometer(streams genericiooptions.IOStreams) *cobra.Command {
	cf := genericclioptions.NewConfigFlags(true).WithWarningPrinter(streams)
	root := &cobra.Command{
		Use:   "kubectl-pyrometer",
		Short: "Measure how fast the Kubernetes control plane answers, and how much worse it gets under pressure",
		Long: `kubectl pyrometer measures Kubernetes API latency from the client's side, in-process and open loop,
reports percentiles per request kind, and measures how much worse latency gets while CPU, memory, disk, network
and API load is ramped up in steps, and how fast it recovers.

It honours the usual kubectl flags (--kubeconfig, --context, --namespace, --as, --token, ...).
Everything it creates is labelled app.kubernetes.io/managed-by=kubectl-pyrometer and removed at the end.`,
		Example: `  # 30 seconds of latency probes
  kubectl pyrometer probe

  # Baseline, 2 steps of CPU and API contention, teardown, recovery
  kubectl pyrometer run --modes cpu,api

  # Remove what a crashed run left (without --run-id: list the runs found, with age and owner)
  kubectl pyrometer cleanup --run-id 1a2b3c4d

  # Against another context
  kubectl pyrometer --context staging version`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl pyrometer"},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	cf.AddFlags(root.PersistentFlags())

	root.AddCommand(NewCmdVersion(cf, streams))
	root.AddCommand(NewCmdRun(cf, streams))
	root.AddCommand(NewCmdPlan(cf, streams))
	root.AddCommand(NewCmdProbe(cf, streams))
	root.AddCommand(NewCmdCleanup(cf, streams))
	root.AddCommand(NewCmdReport(cf, streams))
	root.AddCommand(NewCmdCompare(cf, streams))
	root.AddCommand(NewCmdBundle(streams))
	root.AddCommand(NewCmdCompletion(root, streams))
	root.AddCommand(NewCmdKubeBurner())
	return root
}

// Execute runs the root command with ctx and returns the process exit code. Errors are printed once, on ErrOut,
// as "error: ..." like kubectl does.
func Execute(ctx context.Context, streams genericiooptions.IOStreams) int {
	return executeRoot(ctx, NewCmdPyrometer(streams), streams)
}

func executeRoot(ctx context.Context, root *cobra.Command, streams genericiooptions.IOStreams) int {
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
