package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/config"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/workers"
)

// RunOptions holds the flags of "kubectl pyrometer run".
type RunOptions struct {
	configFlags *genericclioptions.ConfigFlags
	ProbeFlags
	HollowFlags     // --hollow-nodes, --max-hollow-nodes, --hollow-pods-per-node (hollow.go)
	WorkerFlags     // --load-from, --workers, --max-workers (workers.go)
	Modes           string
	Steps           int
	Baseline        time.Duration
	StepDuration    time.Duration
	Recovery        time.Duration
	StepTimeout     time.Duration
	TeardownTimeout time.Duration
	QPS             float32
	Burst           int
	Plugins         []string
	Set             []string
	ImageMapFile    string
	ImageRewrites   []string
	PullSecrets     []string
	Output          string
	OutputDir       string
	RunID           string
	Limits          safety.Limits // --max-pods, --max-namespaces, --max-objects-per-step
	Yes             bool          // proceed when the safety plan is blocked
	MaxErrorRate    float64       // breaker, a fraction
	SLOErrorRate    float64       // availability SLO of every phase, a fraction
	AbortP99        time.Duration
	Monitor         bool
	MonitorInterval time.Duration
	ConfigFile      string
	Profile         string
	PrintConfig     bool
	SaveConfig      string
	Interactive     bool // -i: ask modes, settings, images
	AskModes        bool // -c: ask modes and settings
	AskImages       bool // -r: ask images and pull secrets
	configOrigin    config.Origin
	flags           *pflag.FlagSet // the command's flags (the prompts set them)
	overridesSeen   []modes.Override
	answers         *Answers // what was answered at the prompts, for run.json

	// interactive reports whether stdin and stderr are terminals (a confirmation may be asked); nil: check them.
	interactive func() bool

	modeFlags map[string]*modes.Override // flag name -> override (generated --<mode>-<param> flags)
	catalogue *catalogue                 // the built-in catalogue, parsed when needed
	catalog   *modes.Catalog             // the built-in catalogue and the --plugins files' modes (Complete)
	selection *modes.Selection
	imageMap  modes.ImageMap
	flagsSeen map[string]string

	genericiooptions.IOStreams
}

// modeFlag is a generated --<mode>-<param> flag: a string kept as given and checked against the catalogue.
type modeFlag struct {
	o   *modes.Override
	typ string
}

func (f *modeFlag) String() string { return f.o.Value }
func (f *modeFlag) Set(s string) error {
	f.o.Value = s
	return nil
}
func (f *modeFlag) Type() string { return f.typ }

// flagType is the word --help shows for a parameter type.
func flagType(t string) string {
	switch t {
	case modes.TypeDuration:
		return "duration"
	case modes.TypeSize:
		return "size"
	case modes.TypeChoice:
		return "string"
	}
	return "number"
}

// newRunOptions returns the defaults shared by run and plan.
func newRunOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *RunOptions {
	// 20 s windows at the default probe interval of 200ms: 100 samples per kind and phase, the fewest with which
	// a p99 is not just the maximum (probe.MinSamplesP99).
	return &RunOptions{configFlags: cf, Modes: "cpu,mem", Steps: 2, Baseline: DefaultWindow, StepDuration: DefaultWindow,
		Recovery: DefaultWindow, StepTimeout: 3 * time.Minute, TeardownTimeout: 3 * time.Minute, QPS: 50, Burst: 100,
		Output: "table", Limits: safety.DefaultLimits(), modeFlags: map[string]*modes.Override{}, IOStreams: streams,
		HollowFlags: defaultHollowFlags(), WorkerFlags: defaultWorkerFlags()}
}

// NewCmdRun returns "kubectl pyrometer run". Its --<mode>-<parameter> flags and the mode list of its help come from
// cat, added when cat readies the command (before its command line is parsed).
func NewCmdRun(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, cat *catalogue) *cobra.Command {
	o := newRunOptions(cf, streams)
	o.catalogue = cat
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Probe a baseline, ramp up stress in steps while probing, tear down, and measure recovery",
		Long: `Measure how much worse API latency gets under staged contention.

Phases: a baseline probe; N ramp steps, each adding the chosen stress modes' load in a namespace of its own
(steps are cumulative) and probing while it runs; teardown (the step namespaces are deleted and awaited); a
recovery probe. The data-plane objects are created by kube-burner and waited for; that setup is probed too, as
the step's sub-phase <step>-setup (reported, not judged: verdicts judge the step's window). The control-plane
load (modes churn and api) comes from the plugin's own open-loop write engine and runs over the step's probe
window, so latency is measured while it runs. Its writes and their watch notifications are rows churn:* and
notify:* (p99 <= 1s and <= 2s); a step that got less than 0.95 of the writes it requested is "load not
delivered" (client or server named) and fails. --max-write-rate and --max-objects-per-step bound what the
engines may ask for.

Defaults: 20s windows probed every 200ms, i.e. 100 samples per probe kind and phase, the fewest that support a
p99 (the kinds are staggered across the interval).

Results: a percentile table per phase and probe kind, the probe client's scheduling lag per phase (above 10% of
the interval the measurement is flagged as not fair), a verdict per phase and kind for every phase (SLO: at most
--slo-error-rate of the requests failed, and p99 <= 1s for readyz, get, mutate and watch, <= 30s for lists; with
fewer than 100 samples the highest percentile the count supports is judged instead of the p99; ratio of p50/p99
to the baseline: nominal <= 1.2x, elevated <= 2x, degraded <= 5x, critical > 5x, from the p50 alone when either
side has fewer than 100 samples), the recovery time (until a 5s window's p50 is back within 1.2x of the baseline
p50 with an error ratio not significantly above the baseline's), and the artifacts in --output-dir. Exit code:
0 pass, 2 an SLO failed (latency or errors), 1 the run failed or was interrupted.

Safety: before anything is created, the run checks with SelfSubjectAccessReviews that it may do everything it
needs (all missing permissions are listed at once), and computes the safety plan (kubectl pyrometer plan shows it
for the same flags): pods, namespaces, objects per step, CPU and memory requests, against --max-pods,
--max-namespaces, --max-objects-per-step and the free allocatable capacity of the Ready, schedulable, untainted
nodes matching --node-selector, in total and node by node (check fit: the run's pods packed first-fit-decreasing
onto each node's free CPU, memory and pod slots; it names a pod that fits nowhere). A blocked plan stops the run
(on a terminal it asks first); --yes proceeds anyway. The plan is written to safety-plan.txt in --output-dir.

--output-dir must be new, empty, or hold no run artifacts: a directory holding another run's (or probe's) files
is refused before anything is asked or created, naming that run, since the run's JSONL files would mix two runs.

Everything created carries app.kubernetes.io/managed-by=kubectl-pyrometer and kubepyrometer.io/run-id (namespaces
and cluster objects also kubepyrometer.io/owner: who started the run). A --run-id the cluster already holds objects
of is refused before anything is created. At the end the run also deletes what its templates created outside its
namespaces (every kind they create, looked for by label in every namespace). Ctrl-C (or SIGTERM, or SIGHUP) stops
the ramp: kube-burner, which runs as a child process, is killed, so nothing more is created; then everything is
torn down (progress on stderr) and the artifacts are written. A second Ctrl-C exits at once and prints the
kubectl pyrometer cleanup command for what is left. kube-burner uses the same connection as the probe (proxy-url,
tls-server-name, credentials, impersonation) and --request-timeout.

Load from many machines: --load-from cluster --workers N runs the churn/api engine load of each step in N worker
pods (an Indexed Job of the plugin's image, --probe-image, in the step namespace, spread over the nodes, honouring
--node-selector; requests = limits sized by the rate per worker, in the safety plan; --max-workers caps N). Each
worker offers rate/N on its own object names; they start together at a time the plugin writes, stream every sample
back through their pod logs, and the plugin merges them (counts summed, percentiles of all samples) with a row per
worker. A worker that cannot start or dies fails the step, naming it. --load-from auto runs locally and, when this
process was the limit, says so and how many workers to use. --workers-flowschema (with --load-from cluster) puts the
workers' requests on a priority level of their own for the run: a FlowSchema (precedence 1000, the workers'
ServiceAccount in every step namespace) and a PriorityLevelConfiguration, both pyrometer-<run-id>-workers, the
level a copy of the one the workers' requests fall into; created before the baseline, deleted at the teardown. Its
shares join the server's sum, so every other level's nominal seats shrink by shares/(sum+shares) meanwhile (the
plan shows the figure); run.json's workers.apf records it with the level's dispatched and rejected (429) counts.

Hollow nodes: --hollow-nodes N deploys kwok and N fake nodes (tainted per run) before the baseline, so every phase
measures the control plane with them; all deleted at the end (also on Ctrl-C). Mode density creates pause pods at
--density-qps, on the hollow nodes by default (its setting on: --density-on auto|hollow|real|any). Every
data-plane mode's pods get pod startup rows per step (pod-startup = the SLI, its SLO p99 <= 5s judged with mode
density; pod-schedule, pod-run; "control-plane only" on hollow nodes) and the scheduling throughput; pods Pending
for maxPods or sandbox (pod CIDR, CNI) failures stop the ramp.

At a terminal, -i asks for everything (-c: the modes, their settings and the monitor; -r: where to pull each
image from and the pull secrets), shows the summary and the safety plan, and asks before anything is created;
--save-config FILE keeps the answers for a later run --config FILE. Ctrl-C at a prompt exits 130, nothing created.

Stress modes (plugins.yaml; --plugins adds your own) and their settings (--<mode>-<parameter> or --set
mode.parameter=value):
`,
		Example: `  # CPU and API contention, 3 steps, defaults elsewhere
  kubectl pyrometer run --modes cpu,api --steps 3

  # Heavier CPU steps on a node pool, results as JSON
  kubectl pyrometer run --modes cpu --cpu-replicas 4 --cpu-millicores 250 --node-selector pool=load -o json

  # Churn at 600 objects/s offered by 8 worker pods instead of this process
  kubectl pyrometer run --modes churn --churn-rate 600 --load-from cluster --workers 8

  # Stress images from a private registry
  kubectl pyrometer run --modes cpu,mem --image-map images.txt --image-pull-secret regcred

  # Choose everything at the terminal and keep the answers for the next, non-interactive run
  kubectl pyrometer run -i --save-config my-run.yaml
  kubectl pyrometer run --config my-run.yaml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(c); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if !o.PrintConfig { // before any prompt and before anything is created
				if err := result.CheckOutputDir(o.OutputDir); err != nil {
					return err
				}
			}
			if o.asks() {
				if err := o.prompt(c.Context(), c); err != nil {
					return err
				}
			}
			if o.PrintConfig {
				_, err := fmt.Fprint(o.Out, config.Print(c.LocalNonPersistentFlags(), o.configOrigin))
				return err
			}
			if o.SaveConfig != "" {
				if err := os.WriteFile(o.SaveConfig, []byte(savedConfigHeader+config.Print(c.LocalNonPersistentFlags(), o.configOrigin)), 0o644); err != nil {
					return fmt.Errorf("invalid --save-config: %w", err)
				}
				fmt.Fprintf(o.ErrOut, "configuration saved to %s (run it again with: kubectl pyrometer run --config %s)\n", o.SaveConfig, o.SaveConfig)
			}
			return o.Run(c.Context())
		},
	}
	o.addRunFlags(cmd)
	cat.use(cmd, func(c *modes.Catalog, err error) {
		cmd.Long += modeHelp(c, err)
		o.addModeFlags(cmd, c)
	})
	runFormats.addFlag(cmd, &o.Output)
	cmd.Flags().BoolVarP(&o.Interactive, "interactive", "i", false, "Ask at the terminal: the modes and their settings, the monitor, the images and pull secrets (= -c -r).")
	cmd.Flags().BoolVarP(&o.AskModes, "interactive-modes", "c", false, "Ask at the terminal which modes to enable, their settings and the monitor.")
	cmd.Flags().BoolVarP(&o.AskImages, "interactive-images", "r", false, "Ask at the terminal where to pull each image from (registry redirect) and the pull secrets.")
	cmd.Flags().StringVar(&o.SaveConfig, "save-config", "", "Write the resolved configuration (after any prompts) to this file, for --config next time.")
	return cmd
}

const savedConfigHeader = "# kubectl pyrometer run configuration: kubectl pyrometer run --config FILE\n"

// addRunFlags adds the flags that run and plan share (all of run's but --output, and the generated mode flags
// that addModeFlags adds).
func (o *RunOptions) addRunFlags(cmd *cobra.Command) {
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Modes, "modes", o.Modes, "Stress modes, comma separated (see below).")
	f.IntVar(&o.Steps, "steps", o.Steps, "Number of ramp steps (each adds the modes' load once more).")
	f.DurationVar(&o.Baseline, "baseline", o.Baseline, "Baseline probe window.")
	f.DurationVar(&o.StepDuration, "step-duration", o.StepDuration, "Probe window of each ramp step (the API flood is spread over it).")
	f.DurationVar(&o.Recovery, "recovery", o.Recovery, "Recovery probe window after teardown.")
	f.DurationVar(&o.StepTimeout, "step-timeout", o.StepTimeout, "How long a step's stress pods may take to run before the ramp is stopped.")
	f.DurationVar(&o.TeardownTimeout, "teardown-timeout", o.TeardownTimeout, "How long to wait for the run's namespaces to be gone.")
	f.Float32Var(&o.QPS, "qps", o.QPS, "kube-burner client QPS for creating the data-plane stress objects (the api mode has its own).")
	f.IntVar(&o.Burst, "burst", o.Burst, "kube-burner client burst for creating the data-plane stress objects.")
	f.StringArrayVar(&o.Plugins, "plugins", nil, "A stress-mode catalogue file to add to the built-in one (repeatable).")
	f.StringArrayVar(&o.Set, "set", nil, "A mode setting, MODE.PARAMETER=VALUE (repeatable; also for --plugins modes).")
	f.StringToStringVar(&o.NodeSelector, "node-selector", nil, "Node labels the stress and in-cluster probe pods must match, e.g. pool=load.")
	f.StringVar(&o.ImageMapFile, "image-map", "", "File of `original = replacement` image rewrites (air-gapped clusters).")
	f.StringArrayVar(&o.ImageRewrites, "image-rewrite", nil, "An image rewrite ORIGINAL=REPLACEMENT (repeatable; wins over --image-map).")
	f.StringSliceVar(&o.PullSecrets, "image-pull-secret", nil, "Secrets in the current namespace to copy into the run's namespaces and use to pull images.")
	f.StringVar(&o.OutputDir, "output-dir", "", "Artifacts directory (default ./pyrometer-runs/<timestamp>-<run-id>); one already holding a run's artifacts is refused.")
	f.StringVar(&o.RunID, "run-id", "", "Run id (8 lowercase letters/digits; default random). Refused when the cluster already holds objects of that id; not accepted in --config.")
	f.IntVar(&o.Limits.MaxPods, "max-pods", o.Limits.MaxPods, "Safety limit: most pods the whole run may create.")
	f.IntVar(&o.Limits.MaxNamespaces, "max-namespaces", o.Limits.MaxNamespaces, "Safety limit: most namespaces the run may create.")
	f.IntVar(&o.Limits.MaxObjectsPerStep, "max-objects-per-step", o.Limits.MaxObjectsPerStep, "Safety limit: most objects one ramp step may create (churn: its peak live population).")
	f.Float64Var(&o.Limits.MaxWriteRate, "max-write-rate", o.Limits.MaxWriteRate, "Safety limit: most writes per second the churn and api engines may ask for at the last step.")
	f.BoolVar(&o.Yes, "yes", false, "Proceed even when the safety plan is blocked (prints a warning).")
	f.Var(newRatioFlag(&o.MaxErrorRate, 0.25), "max-error-rate", "Breaker: stop the ramp when more than this share of a step's probe requests fail: a fraction (0.25) or a percentage (25%); 0 = off.")
	f.Var(newRatioFlag(&o.SLOErrorRate, result.DefaultSLOErrorRate), "slo-error-rate", "Availability SLO: a phase (baseline, step or recovery) fails when more than this share of its probe requests fail: a fraction (0.01) or a percentage (1%).")
	f.DurationVar(&o.AbortP99, "abort-p99", 0, "Breaker: stop the ramp when a step's probe p99 exceeds this latency (0 = off).")
	f.BoolVar(&o.Monitor, "monitor", false, "Record node and pod usage (metrics API), node conditions and events into monitor.jsonl.")
	f.DurationVar(&o.MonitorInterval, "monitor-interval", 10*time.Second, "Time between two monitor snapshots (1s..1h).")
	f.StringVar(&o.ConfigFile, "config", "", "YAML file of run settings: every flag is a key (steps: 3, cpu-replicas: 2, ...); flags win over it.")
	f.StringVar(&o.Profile, "profile", "", "Settings profile under --config and flags: small, large (safer steps, longer windows, tighter limits), or a file.")
	f.BoolVar(&o.PrintConfig, "print-config", false, "Print the resolved configuration (usable as --config) and exit.")
	o.addHollowFlags(f)
	o.addWorkerFlags(f)
}

// addModeFlags adds the generated --<mode>-<parameter> flags of the built-in modes' parameters (none when the
// catalogue failed to parse: Complete reports that error).
func (o *RunOptions) addModeFlags(cmd *cobra.Command, cat *modes.Catalog) {
	if cat == nil {
		return
	}
	for _, m := range cat.Modes {
		for _, p := range m.Parameters {
			name := m.Name + "-" + p.Name
			ov := &modes.Override{Mode: m.Name, Param: p.Name, Value: p.Format(p.Default), Origin: "--" + name}
			o.modeFlags[name] = ov
			cmd.Flags().Var(&modeFlag{o: ov, typ: flagType(p.Type)}, name, fmt.Sprintf("%s: %s (%s)", m.Name, p.Help, p.Allowed()))
		}
	}
}

// modeHelp lists the built-in modes for run's help.
func modeHelp(cat *modes.Catalog, err error) string {
	if err != nil {
		return "  (catalogue error: " + err.Error() + ")\n"
	}
	var b strings.Builder
	for _, m := range cat.Modes {
		fmt.Fprintf(&b, "  %-8s %s plane: %s\n", m.Name, m.Plane, m.Description)
	}
	return b.String()
}

// Complete applies --profile and --config, loads the catalogue and resolves the modes, settings and image map.
func (o *RunOptions) Complete(cmd *cobra.Command) error {
	origin, err := config.Apply(cmd.LocalNonPersistentFlags(), o.ConfigFile, o.Profile)
	if err != nil {
		return err
	}
	o.configOrigin = origin
	o.flags = cmd.Flags()
	if err := o.complete(cmd, o.configFlags); err != nil {
		return err
	}
	cat, err := o.catalogue.withPlugins(o.Plugins)
	if err != nil {
		return err
	}
	o.catalog = cat
	if err := o.resolve(cmd); err != nil {
		return err
	}
	if o.RunID == "" {
		o.RunID = cluster.NewRunID()
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("pyrometer-runs", time.Now().Format("20060102-150405")+"-"+o.RunID)
	}
	return nil
}

// resolve computes, from the flags, the modes and their settings, the flags recorded in run.json and the image map.
func (o *RunOptions) resolve(cmd *cobra.Command) error {
	cat := o.catalog
	sel0, err := cat.ParseModes(o.Modes)
	if err != nil {
		return err
	}
	o.seeFlags(cmd)
	overrides, err := o.overrides(cmd)
	if err != nil {
		return err
	}
	o.overridesSeen = overrides
	if o.selection, err = cat.Select(sel0, overrides); err != nil {
		return err
	}
	o.imageMap = nil
	if o.ImageMapFile != "" {
		if o.imageMap, err = modes.ParseImageMap(o.ImageMapFile); err != nil {
			return err
		}
	}
	if len(o.ImageRewrites) > 0 {
		if o.imageMap == nil {
			o.imageMap = modes.ImageMap{}
		}
		if err := o.imageMap.AddRewrites(o.ImageRewrites); err != nil {
			return err
		}
	}
	return nil
}

// seeFlags notes the flags given (or answered at a prompt), for run.json: the run's own flags only, never kubectl's
// connection flags (--token, --password, ...).
func (o *RunOptions) seeFlags(cmd *cobra.Command) {
	o.flagsSeen = map[string]string{}
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			o.flagsSeen[f.Name] = f.Value.String()
		}
	})
}

// overrides are the mode settings given by the generated --<mode>-<parameter> flags, then by --set, in that order.
func (o *RunOptions) overrides(cmd *cobra.Command) ([]modes.Override, error) {
	var overrides []modes.Override
	names := make([]string, 0, len(o.modeFlags))
	for name := range o.modeFlags {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			overrides = append(overrides, *o.modeFlags[name])
		}
	}
	for _, s := range o.Set {
		ov, err := modes.ParseSet(s)
		if err != nil {
			return nil, err
		}
		overrides = append(overrides, ov)
	}
	return overrides, nil
}

// Validate checks the flags; it does no I/O.
func (o *RunOptions) Validate() error {
	switch {
	case o.Steps < 1 || o.Steps > 100:
		return fmt.Errorf("invalid --steps %d: must be between 1 and 100", o.Steps)
	case o.Baseline <= 0:
		return fmt.Errorf("invalid --baseline %v: must be positive", o.Baseline)
	case o.StepDuration <= 0:
		return fmt.Errorf("invalid --step-duration %v: must be positive", o.StepDuration)
	case o.Recovery <= 0:
		return fmt.Errorf("invalid --recovery %v: must be positive", o.Recovery)
	case o.StepTimeout <= 0:
		return fmt.Errorf("invalid --step-timeout %v: must be positive", o.StepTimeout)
	case o.TeardownTimeout <= 0:
		return fmt.Errorf("invalid --teardown-timeout %v: must be positive", o.TeardownTimeout)
	case o.QPS < 1:
		return fmt.Errorf("invalid --qps %v: must be >= 1", o.QPS)
	case o.Burst < 1:
		return fmt.Errorf("invalid --burst %d: must be >= 1", o.Burst)
	case o.MonitorInterval < time.Second || o.MonitorInterval > time.Hour: // 0 would silently record nothing
		return fmt.Errorf("invalid --monitor-interval %v: must be between 1s and 1h", o.MonitorInterval)
	}
	shortest := min(o.Baseline, o.StepDuration, o.Recovery)
	if err := o.validate(shortest, "the shortest probe window (--baseline/--step-duration/--recovery)"); err != nil {
		return err
	}
	if len(o.RunID) != 8 || len(validation.IsDNS1123Label(o.RunID)) > 0 {
		return fmt.Errorf("invalid --run-id %q: must be 8 lowercase letters or digits", o.RunID)
	}
	if err := validateNodeSelector(o.NodeSelector); err != nil {
		return err
	}
	for _, s := range o.PullSecrets {
		if len(validation.IsDNS1123Subdomain(s)) > 0 {
			return fmt.Errorf("invalid --image-pull-secret %q: not a valid Secret name", s)
		}
	}
	if err := o.Limits.Validate(); err != nil {
		return err
	}
	if !(o.Limits.MaxWriteRate > 0) {
		return fmt.Errorf("invalid --max-write-rate %v: must be a number of writes per second above 0", o.Limits.MaxWriteRate)
	}
	if err := o.validateHollow(); err != nil {
		return err
	}
	if err := o.validateOn(); err != nil { // --density-on (hollow.go)
		return err
	}
	if err := o.validateWorkers(o.hasEngineModes(), o.Image); err != nil {
		return err
	}
	if err := o.checkTerminal(); err != nil {
		return err
	}
	return runFormats.validate(&o.Output)
}

// Run runs the staged contention test.
func (o *RunOptions) Run(ctx context.Context) error {
	// Safety: the plan and the permissions, decided before anything is created.
	env, check, err := o.connectAndCheck(ctx)
	if err != nil {
		return err
	}
	var proceeded string
	if o.asks() {
		proceeded, err = o.confirmAtTerminal(ctx, check)
	} else {
		proceeded, err = o.admit(ctx, check)
	}
	if err != nil {
		return err
	}
	// Still before anything is created: the kinds the templates create (to find all of it at the end), and the run
	// id, refused when the cluster already holds objects of it (a second run would fail its setup, then delete the
	// first one's objects).
	kinds, err := o.templateKinds(env)
	if err != nil {
		return err
	}
	if err := o.checkRunIDFree(ctx, env, kinds); err != nil {
		return err
	}
	if err := o.writeSafetyPlan(check, proceeded); err != nil {
		return err
	}
	pcfg := o.probeConfig(env)
	pcfg.Kinds = check.Kinds
	ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("failed to resolve the current namespace: %w", err)
	}
	safetyPlan, err := result.RawJSON(check.Plan)
	if err != nil {
		return err
	}
	cfg := run.Config{Selection: o.selection, Steps: o.Steps, Baseline: o.Baseline, StepDuration: o.StepDuration, Recovery: o.Recovery,
		StepTimeout: o.StepTimeout, TeardownTimeout: o.TeardownTimeout, QPS: o.QPS, Burst: o.Burst, Probe: pcfg,
		ProbeFrom: o.From, ProbeImage: o.Image, NodeSelector: o.NodeSelector, PullSecrets: o.PullSecrets, PullSecretNamespace: ns,
		OutputDir: o.OutputDir, Flags: o.flagsSeen, Safety: safetyPlan,
		Breaker:      run.BreakerConfig{MaxErrorRate: o.MaxErrorRate, AbortP99MS: float64(o.AbortP99) / float64(time.Millisecond)},
		SLOErrorRate: o.SLOErrorRate}
	if o.Monitor {
		cfg.Monitor = o.MonitorInterval
	}
	o.hollowConfig(&cfg)
	cfg.Workers = o.workersConfig()
	if o.answers != nil {
		if cfg.Interactive, err = result.RawJSON(o.answers); err != nil {
			return err
		}
	}
	if o.imageMap != nil {
		cfg.ImageMap = o.imageMap.Rewrite
		cfg.ProbeImage = o.imageMap.Rewrite(o.Image)
	}
	if err := o.writeImageMap(); err != nil {
		return err
	}
	env.Identify(ctx)
	r, err := run.New(cfg, run.Env{Session: env, Log: o.ErrOut, Kinds: kinds})
	if err != nil {
		return err
	}
	remove := signals.OnForcedExit(func() {
		fmt.Fprintf(o.ErrOut, "exited before teardown finished; remove what is left with:\n  kubectl pyrometer cleanup --run-id %s\n", env.RunID)
	})
	defer remove()
	res, err := runGuarded(ctx, r, env.RunID, o.ErrOut)
	if err != nil {
		return err
	}
	if err := o.print(res); err != nil {
		return err
	}
	return o.finish(ctx, "run", env.RunID, res.Outcome)
}

// finish ends run and knee: the artifacts line, then the exit code of the outcome (an error naming the command, the
// run id, the result and its reasons), or "interrupted".
func (o *RunOptions) finish(ctx context.Context, command, runID string, out result.Outcome) error {
	fmt.Fprintf(o.ErrOut, "artifacts: %s\n", o.OutputDir)
	if out.ExitCode != exitcode.OK {
		return exitcode.New(out.ExitCode, fmt.Errorf("%s %s: %s: %s", command, runID, out.Result, strings.Join(out.Reasons, "; ")))
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}

// templateKinds resolves the kinds the chosen modes' templates create (discovery), for the dynamic client that
// finds them wherever a template put them.
func (o *RunOptions) templateKinds(env *run.Session) ([]cluster.Kind, error) {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Client.Discovery()))
	kinds, err := cluster.ResolveKinds(mapper, o.selection.Kinds())
	if err != nil {
		return nil, fmt.Errorf("invalid --modes %s: %w", o.Modes, err)
	}
	return kinds, nil
}

// checkRunIDFree refuses a run id the cluster already holds objects of.
func (o *RunOptions) checkRunIDFree(ctx context.Context, env *run.Session, kinds []cluster.Kind) error {
	if o.FlowSchema { // --workers-flowschema's objects are cluster-scoped kinds of their own
		kinds = append(slices.Clone(kinds), workers.APFKinds...)
	}
	objs, err := cluster.Find(ctx, env.Client, o.RunID, cluster.WithKinds(env.Dynamic, kinds))
	if err != nil {
		return fmt.Errorf("failed to check whether run id %s is in use: %w", o.RunID, err)
	}
	if len(objs) == 0 {
		return nil
	}
	var names []string
	for i, ob := range objs {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(objs)-3))
			break
		}
		n := ob.Kind + " " + ob.Name
		if ob.Namespace != "" {
			n = ob.Kind + " " + ob.Namespace + "/" + ob.Name
		}
		names = append(names, n)
	}
	return fmt.Errorf("invalid --run-id %s: the cluster already holds %d object(s) of a run with that id (%s); a run id names one run: "+
		"leave --run-id out for a fresh one (if that run is over, remove its objects with kubectl pyrometer cleanup --run-id %s)",
		o.RunID, len(objs), strings.Join(names, ", "), o.RunID)
}

// writeImageMap records in image-map.txt the rewrites applied to the images this run uses.
func (o *RunOptions) writeImageMap() error {
	var b strings.Builder
	b.WriteString("# images of this run: original = used\n")
	rewrites := 0
	for _, img := range o.images() {
		used := o.imageFor(img)
		if used != img {
			rewrites++
		}
		fmt.Fprintf(&b, "%s = %s\n", img, used)
	}
	if rewrites == 0 {
		b.WriteString("# (no rewrites)\n")
	}
	if err := os.WriteFile(filepath.Join(o.OutputDir, result.ImageMapFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("failed to write image-map.txt: %w", err)
	}
	return nil
}

// images are the images the run uses: the chosen modes' and, with an in-cluster probe, the probe's.
func (o *RunOptions) images() []string {
	images := []string{}
	for _, m := range o.selection.Modes {
		if m.Image != "" && !slices.Contains(images, m.Image) {
			images = append(images, m.Image)
		}
	}
	if (o.From != FromLocal || o.LoadFrom == run.LoadFromCluster) && !slices.Contains(images, o.Image) { // probe or load workers
		images = append(images, o.Image)
	}
	images = append(images, o.hollowImages()...)
	return images
}

// imageFor is the image used for img (rewritten by --image-map/--image-rewrite, or img itself).
func (o *RunOptions) imageFor(img string) string {
	if o.imageMap != nil {
		return o.imageMap.Rewrite(img)
	}
	return img
}

func (o *RunOptions) print(res *result.Doc) error {
	switch o.Output {
	case "json", "yaml":
		return report.Write(o.Out, o.Output, res)
	case "csv":
		return report.WriteProbeStatsCSV(o.Out, res.Stats)
	case "markdown":
		if err := report.WriteStatsMarkdown(o.Out, res.Stats); err != nil {
			return err
		}
		fmt.Fprintln(o.Out)
		if err := report.WriteVerdictMarkdown(o.Out, res.Verdicts); err != nil {
			return err
		}
		return report.WriteLoadMarkdown(o.Out, res.Loads) // modes churn, api
	}
	var samples result.SampleSource
	if isTerminal(o.Out) {
		samples = res.Samples
	}
	return writeRunTables(o.Out, res, samples)
}

// validateNodeSelector checks --node-selector's labels (run and knee).
func validateNodeSelector(sel map[string]string) error {
	for k, v := range sel {
		if len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
			return fmt.Errorf("invalid --node-selector %s=%s: not a valid label", k, v)
		}
	}
	return nil
}
