package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
)

// CleanupOptions holds the flags of "kubectl pyrometer cleanup".
type CleanupOptions struct {
	configFlags *genericclioptions.ConfigFlags
	RunID       string
	DryRun      bool
	Wait        bool
	Timeout     time.Duration
	Output      string
	genericiooptions.IOStreams
}

// CleanupResult is the data printed by "kubectl pyrometer cleanup".
type CleanupResult struct {
	Selector string           `json:"selector"`
	DryRun   bool             `json:"dryRun"`
	Objects  []cluster.Object `json:"objects"`
}

// NewCmdCleanup returns "kubectl pyrometer cleanup".
func NewCmdCleanup(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CleanupOptions{configFlags: cf, Wait: true, Timeout: 3 * time.Minute, Output: "table", IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "cleanup [flags]",
		Short: "Delete everything kubectl pyrometer created (by label), including what crashed runs left",
		Long: `Delete everything kubectl pyrometer created, found by its labels
(app.kubernetes.io/managed-by=kubectl-pyrometer, and kubepyrometer.io/run-id=<id> with --run-id):
namespaces (with everything in them), ClusterRoles, ClusterRoleBindings, and the Roles, RoleBindings and
ConfigMaps it created outside its own namespaces. Nothing else is touched. Safe to run twice.`,
		Example: `  # What would be deleted
  kubectl pyrometer cleanup --dry-run

  # Only one run's objects (the run id is printed by run and probe)
  kubectl pyrometer cleanup --run-id 1a2b3c4d`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := report.ValidateFormat("output", o.Output, "table", "json", "yaml"); err != nil {
				return err
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("invalid --timeout %v: must be positive", o.Timeout)
			}
			return o.Run(c.Context())
		},
	}
	cmd.Flags().StringVar(&o.RunID, "run-id", "", "Only delete the objects of this run.")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "List what would be deleted; delete nothing.")
	cmd.Flags().BoolVar(&o.Wait, "wait", o.Wait, "Wait until the deleted objects (namespaces) are gone.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait with --wait.")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: table, json, yaml.")
	return cmd
}

// Run finds and deletes the labelled objects.
func (o *CleanupOptions) Run(ctx context.Context) error {
	cfg, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	res := CleanupResult{Selector: cluster.Selector(o.RunID), DryRun: o.DryRun}
	objs, err := cluster.Find(ctx, client, o.RunID)
	if err != nil {
		return err
	}
	var delErr error
	if o.DryRun {
		for i := range objs {
			objs[i].Status = "would delete"
		}
	} else if len(objs) > 0 {
		wait := time.Duration(0)
		if o.Wait {
			wait = o.Timeout
		}
		// Cleanup after Ctrl-C works on a fresh context so that it finishes.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Timeout+time.Minute)
		defer cancel()
		objs, delErr = cluster.Delete(dctx, client, objs, wait)
	}
	res.Objects = objs
	if o.Output != "table" {
		if err := report.Write(o.Out, o.Output, res); err != nil {
			return err
		}
		return delErr
	}
	if len(objs) == 0 {
		fmt.Fprintf(o.ErrOut, "nothing to clean up (%s)\n", res.Selector)
		return delErr
	}
	t := report.NewTable(o.Out, "KIND", "NAMESPACE", "NAME", "RUN", "STATUS")
	for _, ob := range objs {
		ns := ob.Namespace
		if ns == "" {
			ns = "-"
		}
		if err := t.Append([]string{ob.Kind, ns, ob.Name, ob.RunID, ob.Status}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if delErr != nil {
		return errors.Join(fmt.Errorf("cleanup incomplete"), delErr)
	}
	return nil
}
