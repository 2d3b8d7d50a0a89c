// Package cmd holds the cobra commands of kubectl-pyrometer. Each subcommand has an Options type with Complete,
// Validate and Run; the work itself lives in the other packages under pkg/.
package cmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
)

// NewCmdPyrometer returns the root command, "kubectl pyrometer". The mode catalogue is parsed only when a command
// that uses it is readied: Execute readies the one it runs; without that, run and plan lack their generated
// --<mode>-<parameter> flags.
func NewCmdPyrometer(streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdPyrometer(streams, newCatalogue())
}

func newCmdPyrometer(streams genericiooptions.IOStreams, cat *catalogue) *cobra.Command {
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
	root.AddCommand(NewCmdRun(cf, streams, cat))
	root.AddCommand(NewCmdPlan(cf, streams, cat))
	root.AddCommand(NewCmdKnee(cf, streams, cat))
	root.AddCommand(NewCmdProbe(cf, streams))
	root.AddCommand(NewCmdCleanup(cf, streams))
	root.AddCommand(NewCmdReport(cf, streams))
	root.AddCommand(NewCmdCompare(cf, streams))
	root.AddCommand(NewCmdBundle(streams))
	root.AddCommand(NewCmdCompletion(root, streams))
	root.AddCommand(NewCmdKubeBurner())
	root.AddCommand(NewCmdLoadWorker()) // the worker pods of run --load-from cluster (workers.go)
	return root
}

// Execute runs the command line (os.Args) with ctx and returns the process exit code (exitcode.Of). Errors are
// printed once, on ErrOut, as "error: ..." like kubectl does.
func Execute(ctx context.Context, streams genericiooptions.IOStreams) int {
	return execute(ctx, streams, newCatalogue(), os.Args[1:])
}

// execute runs args (the command line without the program's name) with the mode catalogue cat, which only the
// command that runs reads, and only when it uses it.
func execute(ctx context.Context, streams genericiooptions.IOStreams, cat *catalogue, args []string) int {
	root := newCmdPyrometer(streams, cat)
	cat.readyFor(root, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	}
	return exitcode.Of(err)
}
