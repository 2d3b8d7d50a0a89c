package cmd

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
)

// NewCmdBundle returns "kubectl pyrometer bundle DIR".
func NewCmdBundle(streams genericiooptions.IOStreams) *cobra.Command {
	var out, output string
	cmd := &cobra.Command{
		Use:   "bundle DIR",
		Short: "Pack a run's artifacts into a .tar.gz to attach to a ticket",
		Long: `Pack a run directory's artifacts (run.json, probe.jsonl, phases.jsonl, summary.csv, probe-stats.csv,
failures.jsonl, events.jsonl, monitor.jsonl, safety-plan.txt, image-map.txt, kube-burner.log, report.html) into
one .tar.gz, and list what it holds. Nothing else in the directory is taken, and a file whose content looks like a
credential is left out (the reason names the form: kubeconfig client-key-data/client-certificate-data, PEM private
keys, Bearer tokens, token or password keys with a value in YAML, JSON or env form, --token=/--password= flags,
registry auth), so the bundle never carries kubeconfigs, tokens or Secrets' data.`,
		Example: `  kubectl pyrometer bundle pyrometer-runs/20260301-101500-1a2b3c4d
  kubectl pyrometer bundle ./run --out /tmp/ticket-1234.tar.gz`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("bundle needs exactly one argument: the run directory")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if err := listFormats.validate(&output); err != nil {
				return err
			}
			dir := args[0]
			if out == "" {
				out = filepath.Join(dir, "pyrometer-"+filepath.Base(filepath.Clean(dir))+".tar.gz")
			}
			entries, err := report.WriteBundle(dir, out)
			if err != nil {
				return err
			}
			if output != "table" {
				return report.Write(streams.Out, output, map[string]any{"bundle": out, "entries": entries})
			}
			t := report.NewTable(streams.Out, "FILE", "BYTES", "IN BUNDLE", "REASON")
			for _, e := range entries {
				in := "yes"
				if !e.Included {
					in = "no"
				}
				if err := t.Append([]string{e.Name, fmt.Sprint(e.Size), in, e.Reason}); err != nil {
					return err
				}
			}
			if err := t.Render(); err != nil {
				return err
			}
			fmt.Fprintf(streams.ErrOut, "bundle: %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "Bundle file (default DIR/pyrometer-<dir name>.tar.gz).")
	listFormats.addFlag(cmd, &output)
	return cmd
}
