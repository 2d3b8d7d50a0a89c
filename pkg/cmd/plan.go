package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
)

// SafetyPlanFile is the name of the safety plan in a run's --output-dir.
const SafetyPlanFile = "safety-plan.txt"

// PlanOptions holds the flags of "kubectl pyrometer plan": run's flags, and its own --output.
type PlanOptions struct {
	*RunOptions
	Output string
}

// PlanReport is what "kubectl pyrometer plan -o json|yaml" prints.
type PlanReport struct {
	RunID string `json:"runID"`
	safety.Plan
	MissingPermissions []authz.Access `json:"missingPermissions"`
	// Allowed: the run would start (every required permission granted, and the plan not blocked or --yes given).
	Allowed bool     `json:"allowed"`
	Notes   []string `json:"notes,omitempty"`
}

// NewCmdPlan returns "kubectl pyrometer plan". Its --<mode>-<parameter> flags come from cat, as run's do.
func NewCmdPlan(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, cat *catalogue) *cobra.Command {
	o := &PlanOptions{RunOptions: newRunOptions(cf, streams), Output: "text"}
	o.catalogue = cat
	cmd := &cobra.Command{
		Use:   "plan [flags]",
		Short: "Show the safety plan and missing permissions of a run, without creating anything",
		Long: `Show what "kubectl pyrometer run" with the same flags would create and request, whether that is within the
limits and the free capacity of the nodes, and whether this identity may do everything the run needs.
Nothing is created: the nodes and pods are read and the permissions checked with SelfSubjectAccessReviews.

Per step and in total: namespaces, objects, pods, CPU and memory requests (steps are cumulative). Checks: pods
against --max-pods, namespaces against --max-namespaces, objects per step against --max-objects-per-step, and the
CPU, memory and pods requested against what is free (allocatable minus the requests of the pods already there)
on the Ready, schedulable nodes matching --node-selector without NoSchedule/NoExecute taints: in total, and node
by node (fit: every pod of the run packed first-fit-decreasing onto the nodes' free CPU, memory and pod slots; a
pod that fits on no node, or does not fit once the larger ones are placed, is named with where the most is free).
With --hollow-nodes: the pods placed on the hollow nodes only are checked against their pod slots instead
(hollow-pod-slots), and the plan shows the cap, the etcd bytes they add, the pod CIDRs, another kwok, and the
DaemonSets that tolerate every taint.

Exit code: 0 when the run would be allowed, 1 when it would be refused (a check is BLOCKED and --yes is not
given, or a required permission is missing); the error line names what blocks it.`,
		Example: `  # Would 50 one-core CPU pods per step fit on the labelled nodes?
  kubectl pyrometer plan --modes cpu --cpu-replicas 50 --cpu-millicores 1000 --node-selector pool=load

  # The plan of a run, as JSON
  kubectl pyrometer plan --modes cpu,api --steps 3 -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(c); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.addRunFlags(cmd)
	cat.use(cmd, func(c *modes.Catalog, _ error) { o.addModeFlags(cmd, c) })
	textFormats.addFlag(cmd, &o.Output)
	return cmd
}

// Validate checks run's flags and the output format; it does no I/O.
func (o *PlanOptions) Validate() error {
	if err := o.RunOptions.Validate(); err != nil {
		return err
	}
	return textFormats.validate(&o.Output)
}

// Run reads the cluster and prints the plan. It creates nothing.
func (o *PlanOptions) Run(ctx context.Context) error {
	_, c, err := o.connectAndCheck(ctx)
	if err != nil {
		return err
	}
	required := c.Required()
	rep := PlanReport{RunID: o.RunID, Plan: c.Plan, MissingPermissions: c.Missing, Notes: c.Notes,
		Allowed: len(required) == 0 && (!c.Plan.Blocked || o.Yes)}
	if rep.MissingPermissions == nil {
		rep.MissingPermissions = []authz.Access{}
	}
	switch o.Output {
	case "json", "yaml":
		err = report.Write(o.Out, o.Output, rep)
	default:
		err = c.WriteText(o.Out, "")
	}
	if err != nil {
		return err
	}
	switch {
	case len(required) > 0 && c.Plan.Blocked:
		return fmt.Errorf("%w\nand the safety plan is blocked: %s", safety.MissingError(required), c.Plan.Reason())
	case len(required) > 0:
		return safety.MissingError(required)
	case c.Plan.Blocked && !o.Yes:
		return fmt.Errorf("safety plan blocked: %s; pass --yes to run it anyway", c.Plan.Reason())
	case c.Plan.Blocked:
		fmt.Fprintf(o.ErrOut, "warning: the safety plan is blocked (%s); run would proceed anyway because of --yes\n", c.Plan.Reason())
	}
	return nil
}

// requirements are what the run asks for, for safety.Check.
func (o *RunOptions) requirements(s *run.Session) (safety.Requirements, error) {
	pullNS, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return safety.Requirements{}, fmt.Errorf("failed to resolve the current namespace: %w", err)
	}
	return safety.Requirements{Selection: o.selection, Steps: o.Steps, Limits: o.Limits, NodeSelector: o.NodeSelector,
		StepNamespace: cluster.StepNamespace(o.RunID, 1), Probe: o.probeConfig(s), ExplicitKinds: o.explicitKinds,
		InCluster: o.From != FromLocal, PullSecrets: o.PullSecrets, PullSecretNamespace: pullNS, Hollow: o.hollowRequirements(),
		Workers: o.workersRequirements()}, nil
}

// probeConfig is the run's probe configuration (kinds as asked for).
func (o *RunOptions) probeConfig(s *run.Session) probe.Config {
	return probe.Config{Kinds: o.kinds, Interval: o.Interval, RequestTimeout: o.requestTimeout, Namespace: s.ProbeNamespace(),
		ListNamespace: o.ListNamespace}
}

// reviewClient is a client for the preflight's SelfSubjectAccessReviews: some 50 small requests, which client-go's
// default 5 QPS would stretch over ten seconds.
func reviewClient(s *run.Session) kubernetes.Interface {
	c, _, err := s.Bulk()
	if err != nil {
		return s.Client
	}
	return c
}

// admit decides whether the run may start: every required permission granted, and the plan not blocked, or --yes,
// or confirmed on a terminal. It returns how a blocked plan was let through ("" when it was not blocked).
func (o *RunOptions) admit(ctx context.Context, c *safety.Result) (string, error) {
	if err := o.checkPermissions(c); err != nil {
		return "", err
	}
	if !c.Plan.Blocked {
		return "", nil
	}
	if o.Yes {
		o.warnBlocked(c.Plan, "--yes was given")
		return "--yes", nil
	}
	if o.isInteractive() {
		ok, err := o.confirm(ctx, c.Plan)
		if err != nil {
			return "", err
		}
		if ok {
			o.warnBlocked(c.Plan, "confirmed at the terminal")
			return "confirmed at the terminal", nil
		}
		return "", fmt.Errorf("safety plan blocked: %s; not confirmed, nothing was created", c.Plan.Reason())
	}
	return "", fmt.Errorf("safety plan blocked: %s; review it with kubectl pyrometer plan and the same flags, or pass --yes to proceed anyway",
		c.Plan.Reason())
}

// checkPermissions notes the optional permissions that are missing and refuses the run when a required one is.
func (o *RunOptions) checkPermissions(c *safety.Result) error {
	for _, m := range c.Missing {
		if m.Optional {
			fmt.Fprintf(o.ErrOut, "note: not permitted: %s (%s)\n", m, m.Reason)
		}
	}
	if required := c.Required(); len(required) > 0 {
		return safety.MissingError(required)
	}
	return nil
}

func (o *RunOptions) isInteractive() bool {
	if o.interactive != nil {
		return o.interactive()
	}
	return isTerminal(o.In) && isTerminal(o.ErrOut)
}

// confirm shows the blocking checks on stderr and asks; only "y" or "yes" proceeds.
func (o *RunOptions) confirm(ctx context.Context, p safety.Plan) (bool, error) {
	fmt.Fprintf(o.ErrOut, "The safety plan is BLOCKED:\n")
	for _, c := range p.Failed() {
		fmt.Fprintf(o.ErrOut, "  %s\n", c.Message)
	}
	fmt.Fprint(o.ErrOut, "proceed anyway? [y/N] ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(o.In).ReadString('\n')
		answer <- line
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(o.ErrOut)
		return false, errors.New("interrupted: nothing was created")
	case a := <-answer:
		a = strings.ToLower(strings.TrimSpace(a))
		return a == "y" || a == "yes", nil
	}
}

// warnBlocked prints the prominent warning of a blocked plan that is run anyway.
func (o *RunOptions) warnBlocked(p safety.Plan, why string) {
	bar := strings.Repeat("!", 78)
	lines := []string{bar, "THE SAFETY PLAN IS BLOCKED. PROCEEDING ANYWAY: " + why + "."}
	for _, c := range p.Failed() {
		lines = append(lines, "  "+c.Message)
	}
	lines = append(lines, "The stress may starve the nodes (evictions, Pending pods) and slow the API server for every",
		"user of this cluster. Ctrl-C stops the ramp and tears everything down.", bar)
	for _, l := range lines {
		fmt.Fprintf(o.ErrOut, "WARNING: %s\n", l)
	}
}

// writeSafetyPlan writes safety-plan.txt into the run's --output-dir (created if missing).
func (o *RunOptions) writeSafetyPlan(c *safety.Result, proceeded string) error {
	if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
		return fmt.Errorf("invalid --output-dir: %w", err)
	}
	f, err := os.Create(filepath.Join(o.OutputDir, SafetyPlanFile))
	if err != nil {
		return fmt.Errorf("invalid --output-dir: %w", err)
	}
	if err := c.WriteText(f, proceeded); err != nil {
		f.Close()
		return fmt.Errorf("failed to write %s: %w", SafetyPlanFile, err)
	}
	return f.Close()
}

// connectAndCheck reaches the cluster and computes the safety plan and permissions (read-only), printing notes.
func (o *RunOptions) connectAndCheck(ctx context.Context) (*run.Session, *safety.Result, error) {
	env, err := run.Connect(o.configFlags, o.RunID)
	if err != nil {
		return nil, nil, err
	}
	if err := env.Reachable(ctx, o.requestTimeout); err != nil {
		return nil, nil, err
	}
	req, err := o.requirements(env)
	if err != nil {
		return nil, nil, err
	}
	c, err := safety.Check(ctx, reviewClient(env), req)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range c.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	return env, c, nil
}
