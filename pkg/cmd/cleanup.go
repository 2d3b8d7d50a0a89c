package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
)

// CleanupOptions holds the flags of "kubectl pyrometer cleanup".
type CleanupOptions struct {
	configFlags *genericclioptions.ConfigFlags
	RunID       string
	All         bool
	OlderThan   time.Duration
	DryRun      bool
	Wait        bool
	Timeout     time.Duration
	Output      string
	genericiooptions.IOStreams

	now func() time.Time
}

// CleanupResult is the data printed by "kubectl pyrometer cleanup".
type CleanupResult struct {
	Selector string           `json:"selector"`
	DryRun   bool             `json:"dryRun"`
	Runs     []CleanupRun     `json:"runs"`
	Objects  []cluster.Object `json:"objects"`
	Notes    []string         `json:"notes,omitempty"`
}

// CleanupRun is one run found: its id, owner, age and how many objects it holds.
type CleanupRun struct {
	cluster.Run
	Age string `json:"age"`
}

// NewCmdCleanup returns "kubectl pyrometer cleanup".
func NewCmdCleanup(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CleanupOptions{configFlags: cf, Wait: true, Timeout: 3 * time.Minute, Output: "table", IOStreams: streams, now: time.Now}
	cmd := &cobra.Command{
		Use:   "cleanup [flags]",
		Short: "Delete what kubectl pyrometer created (by label): one run, runs older than a duration, or all",
		Long: `Delete what kubectl pyrometer created, found by its labels
(app.kubernetes.io/managed-by=kubectl-pyrometer, and kubepyrometer.io/run-id=<id> with --run-id):
namespaces (with everything in them), and every labelled object outside them, of any kind the server serves
(ClusterRoles and RoleBindings of the in-cluster probe, and whatever a --plugins template created in another
namespace or cluster-wide), and a run's hollow nodes (--hollow-nodes: the Nodes, their Leases, kwok; the pods
still bound to them first). Nothing else is touched. Safe to run twice.

Other people's runs may be in progress on the same cluster, so cleanup deletes only what you select:
--run-id ID (one run), --older-than DURATION (every run started longer ago than that: for CI janitors), or --all.
Without any of them it lists the runs it found (id, age, owner: the identity that started the run, recorded
on its objects) and exits 1, deleting nothing. --dry-run lists what would be deleted.

Kinds this identity may not list are skipped with a note; what it may see is still deleted.`,
		Example: `  # Which runs left objects in the cluster, whose, how old (deletes nothing)
  kubectl pyrometer cleanup

  # Only one run's objects (the run id is printed by run and probe)
  kubectl pyrometer cleanup --run-id 1a2b3c4d

  # CI janitor: runs started more than 2 hours ago
  kubectl pyrometer cleanup --older-than 2h

  # Everything, after checking what that is
  kubectl pyrometer cleanup --all --dry-run
  kubectl pyrometer cleanup --all`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := listFormats.validate(&o.Output); err != nil {
				return err
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("invalid --timeout %v: must be positive", o.Timeout)
			}
			if o.RunID != "" && o.All {
				return errors.New("invalid flags: --run-id and --all are mutually exclusive")
			}
			if c.Flags().Changed("older-than") && o.OlderThan <= 0 {
				return fmt.Errorf("invalid --older-than %v: must be positive, e.g. 2h", o.OlderThan)
			}
			return o.Run(c.Context())
		},
	}
	cmd.Flags().StringVar(&o.RunID, "run-id", "", "Only the objects of this run.")
	cmd.Flags().BoolVar(&o.All, "all", false, "Every run's objects (also runs of other users that may be in progress).")
	cmd.Flags().DurationVar(&o.OlderThan, "older-than", 0, "Only runs started longer ago than this, e.g. 2h (also with --run-id or --all).")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "List what would be deleted; delete nothing.")
	cmd.Flags().BoolVar(&o.Wait, "wait", o.Wait, "Wait until the deleted objects (namespaces) are gone.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait with --wait.")
	listFormats.addFlag(cmd, &o.Output)
	return cmd
}

// selected reports whether the flags say which runs to delete.
func (o *CleanupOptions) selected() bool { return o.RunID != "" || o.All || o.OlderThan > 0 }

// Run finds the labelled objects and deletes the selected runs' ones.
func (o *CleanupOptions) Run(ctx context.Context) error {
	s, err := run.Connect(o.configFlags, o.RunID)
	if err != nil {
		return err
	}
	// One list per kind the server serves (some 50): client-go's default 5 QPS would stretch that over 10 s.
	client, dyn, err := s.Bulk()
	if err != nil {
		return err
	}
	return o.run(ctx, client, dyn)
}

func (o *CleanupOptions) run(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface) error {
	res := CleanupResult{Selector: cluster.Selector(o.RunID), DryRun: o.DryRun, Runs: []CleanupRun{}, Objects: []cluster.Object{}}
	// Every kind the server serves: a crashed run's --plugins templates may have created any kind, anywhere.
	kinds, notes, err := cluster.DiscoverKinds(client.Discovery())
	if err != nil {
		return err
	}
	res.Notes = notes
	opts := []cluster.Option{cluster.WithKinds(dyn, kinds), cluster.WithNotes(func(n string) { res.Notes = append(res.Notes, n) })}
	objs, err := cluster.Find(ctx, client, o.RunID, opts...)
	if err != nil {
		return err
	}
	// hollow nodes, their leases and kwok (cluster-scoped nodes and kube-node-lease leases too): hollow.go
	if objs, err = findHollow(ctx, client, o.RunID, objs, func(n string) { res.Notes = append(res.Notes, n) }); err != nil {
		return err
	}
	objs, res.Runs = o.filter(objs)
	for _, n := range res.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	if !o.selected() && !o.DryRun {
		// The guard: list, delete nothing.
		if err := o.printRuns(res); err != nil {
			return err
		}
		if len(res.Runs) == 0 {
			return nil
		}
		return fmt.Errorf("refusing to delete the objects of %d run(s) without --run-id, --all or --older-than (runs of other users may be in progress): "+
			"pass --run-id ID for one run, --older-than DURATION for runs started longer ago, or --all for every run listed", len(res.Runs))
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
		// the hollow nodes first, in their order (pods on them, nodes and kwok, then leases and RBAC): hollow.go
		var hollowDone []cluster.Object
		var hollowErr error
		hollowDone, objs, hollowErr = cleanupHollow(dctx, client, objs, wait)
		objs, delErr = cluster.Delete(dctx, client, objs, wait, opts...)
		objs, delErr = append(hollowDone, objs...), errors.Join(hollowErr, delErr)
	}
	res.Objects = objs
	if o.Output != "table" {
		if err := report.Write(o.Out, o.Output, res); err != nil {
			return err
		}
		return delErr
	}
	if len(objs) == 0 {
		fmt.Fprintf(o.ErrOut, "nothing to clean up (%s)\n", o.describe())
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

// filter keeps the objects of the runs --older-than selects (all when not given) and summarises them per run.
func (o *CleanupOptions) filter(objs []cluster.Object) ([]cluster.Object, []CleanupRun) {
	now := o.now()
	keep := map[string]bool{}
	runs := []CleanupRun{}
	for _, r := range cluster.Runs(objs) {
		age := now.Sub(r.Created)
		if o.OlderThan > 0 && (r.Created.IsZero() || age <= o.OlderThan) {
			continue
		}
		keep[r.ID] = true
		cr := CleanupRun{Run: r, Age: "<unknown>"}
		if !r.Created.IsZero() {
			cr.Age = duration.HumanDuration(age)
		}
		runs = append(runs, cr)
	}
	var out []cluster.Object
	for _, ob := range objs {
		if keep[ob.RunID] {
			out = append(out, ob)
		}
	}
	return out, runs
}

func (o *CleanupOptions) describe() string {
	s := cluster.Selector(o.RunID)
	if o.OlderThan > 0 {
		s += fmt.Sprintf(", runs older than %v", o.OlderThan)
	}
	return s
}

// printRuns prints the runs found (id, age, owner, object count).
func (o *CleanupOptions) printRuns(res CleanupResult) error {
	if o.Output != "table" {
		return report.Write(o.Out, o.Output, res)
	}
	if len(res.Runs) == 0 {
		fmt.Fprintf(o.ErrOut, "nothing to clean up (%s)\n", o.describe())
		return nil
	}
	t := report.NewTable(o.Out, "RUN ID", "AGE", "OWNER", "OBJECTS")
	for _, r := range res.Runs {
		owner := r.Owner
		if owner == "" {
			owner = "<unknown>"
		}
		if err := t.Append([]string{r.ID, r.Age, owner, fmt.Sprint(r.Objects)}); err != nil {
			return err
		}
	}
	return t.Render()
}
