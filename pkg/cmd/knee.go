package cmd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// KneeOptions holds the flags of "kubectl pyrometer knee". It reuses run's options (probe flags, limits, the safety
// check and admission, the run id and output directory) and registers only the flags that mean something here.
type KneeOptions struct {
	*RunOptions
	StartRate     float64
	MaxRate       float64
	Precision     float64
	Cooldown      string
	Mix           string
	SLO           []string
	ThrottleRatio float64

	cooldown  time.Duration      // 0: auto
	slo       map[string]float64 // ms per kind, after --slo
	base      *modes.Selection   // the mix at its settings (the rate is set per step)
	mixName   string
	lifetimed bool // the mix file set the churn lifetime
}

// The knee's defaults.
const (
	defaultKneeStep = 30 * time.Second
	// kneeMinLifetime is the shortest churn lifetime (the parameter's minimum); by default the lifetime is a tenth of
	// the step, so the step's writes are nearly all due within it (a lifetime L over a step T leaves L/2T of the
	// deletes and updates past its end).
	kneeMinLifetime = time.Second
)

// NewCmdKnee returns "kubectl pyrometer knee".
func NewCmdKnee(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, cat *catalogue) *cobra.Command {
	ro := newRunOptions(cf, streams)
	ro.catalogue = cat
	ro.StepDuration = defaultKneeStep
	o := &KneeOptions{RunOptions: ro, StartRate: 10, MaxRate: 2000, Cooldown: "auto", Mix: "churn"}
	cmd := &cobra.Command{
		Use:   "knee [flags]",
		Short: "Find the highest write rate the control plane sustains within its SLOs",
		Long: `Search the highest write rate (writes per second: creates, updates, deletes) the control plane sustains
within its SLOs: the knee of its latency-vs-rate curve.

Method: a baseline probe (if the control plane already fails its SLOs without load, the search stops: doomed).
Then steps of --step-duration, each a fixed open-loop window of the --mix load at one rate, in a namespace of its
own, while the probe measures all its kinds; the rate doubles from --start-rate until a step fails (never above
--max-rate, a hard cap), then the interval between the last passing and the first failing rate is halved
(geometrically) until they are within --precision, then a confirmation step at the rate found. After each step
its objects are deleted and the probe waits (--cooldown auto: until its p50 over a window is back within 1.2x of
the baseline's, at most 10s + 2 x --step-duration; or exactly --cooldown DURATION); a control plane that does not
recover is reported as a finding.

A step fails when any holds:
  latency     the p99 of a probe kind or of the writes is above its SLO (1s single-object and mutating calls and
              writes, 30s lists; --slo KIND=DURATION overrides). With fewer than 100 samples the p99 is just the
              maximum, so the highest percentile the count supports is judged (p95 from 20, p90 from 10, p50 from 2).
  errors      the failed share of the probe's requests, or of the writes, is significantly above --slo-error-rate
              (one-sided binomial test, p < 0.05: one error in 25 requests is not evidence).
  throttling  the share answered 429 (API Priority and Fairness) is significantly above --slo-throttle-rate.
  trend       the writes' latency rises through the step: Mann-Kendall test on the medians of 20 windows
              (p < 0.01), a Theil-Sen rise over the step at least the step's level (latency doubled), ending above
              a tenth of the SLO: queueing that would not settle.
  breaker     the breaker stopped the step (--max-error-rate, --abort-p99).
A step that delivered less than 0.95 of its requested writes because the client was the limit is INCONCLUSIVE:
the search stops there and says so (the server was not tested at that rate: generate the load from more
machines); when the server was the limit (429s, errors, latency), the step fails.

Answer: the knee (highest passing rate), sustainable = 0.8 x knee (headroom for the search's precision, noise,
bursts and the cluster's own traffic), the criterion that failed above it, and the per-step table. Exit code:
0 a knee was found (or every step passed up to --max-rate), 2 doomed or the first step failed (or passed and
failed its confirmation: no rate passed twice), 1 inconclusive, interrupted or failed.

Mixes (--mix): churn (ConfigMaps created at rate/3 per second, updated once, deleted after a lifetime of a tenth
of the step, at least 1s: 3 writes each; no watchers), api (ConfigMaps and Secrets created and kept until the step ends: 1 write
each), or FILE: a YAML file of the churn mode's settings (mode: churn|api, and kind, lifetime, updates, size,
arrival, watchers, or api's settings), e.g. {kind: secret, updates: 2, size: 8KiB}.

Safety: the plan covers the worst step (--max-rate for --step-duration: the objects alive at once, or created
by api, against --max-objects-per-step) and the namespaces; permissions are checked first; the breaker watches
every step; Ctrl-C stops the load within a second and tears everything down, like run. Artifacts as for run
(run.json with a knee section, probe.jsonl with the phases baseline, knee-step-N and cooldown-N, report.html with
the latency-vs-rate curve per kind), so report, compare and bundle work on a knee directory. The steps are judged
on the local probe: --probe-from local or both (the in-cluster rows are reported beside them).

Load from many machines: with --load-from cluster --workers N each step's load comes from N worker pods of the
plugin's image (as for run), judged on their merged delivery: use it when a search ends inconclusive because this
process was the limit. --workers-flowschema puts the workers' requests on a priority level of their own, as for run.`,
		Example: `  # The knee of the default churn mix, 10 to 2000 writes/s in 30s steps
  kubectl pyrometer knee

  # A quicker, coarser search of a small control plane, as JSON
  kubectl pyrometer knee --start-rate 50 --max-rate 800 --step-duration 10s --precision 20% -o json

  # The API flood's creates, with a stricter SLO on the writes
  kubectl pyrometer knee --mix api --slo writes=500ms --max-objects-per-step 20000

  # Your own write mix
  kubectl pyrometer knee --mix my-mix.yaml

  # The load from 4 worker pods, when this process cannot offer the rates the server takes
  kubectl pyrometer knee --max-rate 4000 --load-from cluster --workers 4`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(c); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if err := result.CheckOutputDir(o.OutputDir); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.addFlags(cmd) // the probe flags (ProbeFlags)
	f := cmd.Flags()
	f.Float64Var(&o.StartRate, "start-rate", o.StartRate, "First step's write rate (writes/s); it doubles until a step fails.")
	f.Float64Var(&o.MaxRate, "max-rate", o.MaxRate, "Hard cap of the write rate (writes/s): no step goes above it; the safety plan is computed for it.")
	f.Var(newRatioFlag(&o.Precision, 0.05), "precision", "Stop bisecting when the last passing and the first failing rate are within this share: a fraction (0.05) or a percentage (5%), above 0 and below 1.")
	f.StringVar(&o.Cooldown, "cooldown", o.Cooldown, "After each step: auto (probe until the p50 is back within 1.2x of the baseline, bounded) or a duration to wait.")
	f.StringVar(&o.Mix, "mix", o.Mix, "The write load: churn, api, or a YAML file of the churn (or api) mode's settings.")
	f.StringArrayVar(&o.SLO, "slo", nil, "A latency SLO override, KIND=DURATION (repeatable): a probe kind ("+strings.Join(probe.KindNames(), ", ")+") or writes.")
	f.DurationVar(&o.Baseline, "baseline", o.Baseline, "Baseline probe window.")
	f.DurationVar(&o.StepDuration, "step-duration", o.StepDuration, "Each step's measured window (the load runs open loop over it).")
	f.DurationVar(&o.TeardownTimeout, "teardown-timeout", o.TeardownTimeout, "How long to wait for the objects and namespaces of the search to be gone.")
	f.Var(newRatioFlag(&o.SLOErrorRate, result.DefaultSLOErrorRate), "slo-error-rate", "Error ceiling: a step fails when significantly more than this share of the probe's requests or of the writes fail: a fraction (0.01) or a percentage (1%).")
	f.Var(newRatioFlag(&o.ThrottleRatio, 0.01), "slo-throttle-rate", "Throttling ceiling: a step fails when significantly more than this share of the probe's requests or of the writes are answered 429: a fraction or a percentage.")
	f.Var(newRatioFlag(&o.MaxErrorRate, 0.25), "max-error-rate", "Breaker: stop a step when more than this share of its probe requests fail: a fraction (0.25) or a percentage (25%); 0 = off.")
	f.DurationVar(&o.AbortP99, "abort-p99", 0, "Breaker: stop a step when its probe p99 exceeds this latency (0 = off).")
	f.IntVar(&o.Limits.MaxNamespaces, "max-namespaces", o.Limits.MaxNamespaces, "Safety limit: most namespaces the search may hold at once.")
	f.IntVar(&o.Limits.MaxObjectsPerStep, "max-objects-per-step", o.Limits.MaxObjectsPerStep, "Safety limit: most objects one step may hold (churn: alive at once; api: created) at --max-rate.")
	f.BoolVar(&o.Yes, "yes", false, "Proceed even when the safety plan is blocked (prints a warning).")
	f.StringVar(&o.OutputDir, "output-dir", "", "Artifacts directory (default ./pyrometer-runs/<timestamp>-<run-id>); one already holding a run's artifacts is refused.")
	f.StringVar(&o.RunID, "run-id", "", "Run id (8 lowercase letters/digits; default random). Refused when the cluster already holds objects of that id.")
	o.addWorkerFlags(f) // --load-from, --workers, --max-workers (workers.go)
	f.StringToStringVar(&o.NodeSelector, "node-selector", nil, "Node labels the load's worker pods (--load-from cluster) and the in-cluster probe pod must match, e.g. pool=load.")
	listFormats.addFlag(cmd, &o.Output)
	return cmd
}

// Complete resolves the probe flags, the mix, the SLOs and the cool-down.
func (o *KneeOptions) Complete(cmd *cobra.Command) error {
	o.flags = cmd.Flags()
	if err := o.complete(cmd, o.configFlags); err != nil {
		return err
	}
	cat, err := o.catalogue.withPlugins(nil)
	if err != nil {
		return err
	}
	o.catalog = cat
	o.seeFlags(cmd)
	if err := o.resolveMix(); err != nil {
		return err
	}
	if o.slo, err = parseSLOs(o.SLO); err != nil {
		return err
	}
	if o.Cooldown != "auto" {
		d, err := time.ParseDuration(o.Cooldown)
		if err != nil || d <= 0 || d > time.Hour {
			return fmt.Errorf("invalid --cooldown %q: allowed values are auto or a duration above 0 and at most 1h (e.g. 10s)", o.Cooldown)
		}
		o.cooldown = d
	}
	if o.RunID == "" {
		o.RunID = cluster.NewRunID()
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("pyrometer-runs", time.Now().Format("20060102-150405")+"-"+o.RunID)
	}
	return nil
}

// resolveMix turns --mix into the selection of one engine mode: churn, api, or a file of settings.
func (o *KneeOptions) resolveMix() error {
	mode, file := o.Mix, ""
	var overrides []modes.Override
	if mode != "churn" && mode != "api" {
		file = o.Mix
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("invalid --mix %s: allowed values are churn, api or a YAML file of settings: %w", file, result.PathError(err))
		}
		var set map[string]any
		if err := yaml.Unmarshal(b, &set); err != nil {
			return fmt.Errorf("invalid --mix %s: not a YAML map of settings: %w", file, err)
		}
		mode = "churn"
		if m, ok := set["mode"]; ok {
			mode = fmt.Sprint(m)
			delete(set, "mode")
			if mode != "churn" && mode != "api" {
				return fmt.Errorf("invalid --mix %s: mode %q: allowed values are churn, api", file, mode)
			}
		}
		keys := make([]string, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "rate" || k == "qps" || k == "workers" {
				return fmt.Errorf("invalid --mix %s: %s is set by the search (--start-rate, --max-rate) and must not be in the file", file, k)
			}
			overrides = append(overrides, modes.Override{Mode: mode, Param: k, Value: fmt.Sprint(set[k]), Origin: "--mix " + file})
			o.lifetimed = o.lifetimed || k == "lifetime"
		}
	}
	sel0, err := o.catalog.ParseModes(mode)
	if err != nil {
		return fmt.Errorf("invalid --mix %s: %w", o.Mix, err)
	}
	if mode == "churn" {
		// knee's defaults, under the file's settings: a lifetime of a tenth of the step, and no watchers (the
		// notifications are not judged: the probe's watch kind measures watch latency; a watcher would also make
		// every step wait for notifications owed after an overloaded window)
		defaults := []modes.Override{{Mode: mode, Param: "watchers", Value: "0", Origin: "knee default"}}
		if !o.lifetimed {
			lt := max(kneeMinLifetime, o.StepDuration/10).Round(100 * time.Millisecond)
			defaults = append(defaults, modes.Override{Mode: mode, Param: "lifetime", Value: lt.String(), Origin: "knee default"})
		}
		overrides = append(defaults, overrides...)
	}
	sel, err := o.catalog.Select(sel0, overrides)
	if err != nil {
		return fmt.Errorf("invalid --mix %s: %w", o.Mix, err)
	}
	o.base, o.mixName = sel, o.Mix
	return nil
}

// parseSLOs reads --slo KIND=DURATION into ms per kind, over the defaults (the sig-scalability SLOs by kind; the
// writes: the mutating SLO).
func parseSLOs(values []string) (map[string]float64, error) {
	out := map[string]float64{knee.Writes: result.SLOSingleObjectMS}
	for _, k := range probe.KindNames() {
		out[k] = result.SLOThresholdMS(k)
	}
	for _, v := range values {
		k, d, ok := strings.Cut(v, "=")
		k = strings.TrimSpace(k)
		if _, known := out[k]; !ok || !known {
			return nil, fmt.Errorf("invalid --slo %q: want KIND=DURATION with KIND one of %s, writes (e.g. writes=500ms)", v, strings.Join(probe.KindNames(), ", "))
		}
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("invalid --slo %q: %q is not a duration above 0 (e.g. 500ms, 2s)", v, d)
		}
		out[k] = float64(dur) / float64(time.Millisecond)
	}
	return out, nil
}

// Validate checks the flags; it does no I/O.
func (o *KneeOptions) Validate() error {
	switch {
	case math.IsNaN(o.StartRate) || o.StartRate <= 0 || math.IsInf(o.StartRate, 0):
		return fmt.Errorf("invalid --start-rate %v: must be a number of writes per second above 0", o.StartRate)
	case math.IsNaN(o.MaxRate) || o.MaxRate < o.StartRate || math.IsInf(o.MaxRate, 0):
		return fmt.Errorf("invalid --max-rate %v: must be a number of writes per second at least --start-rate %v", o.MaxRate, o.StartRate)
	case o.Precision <= 0 || o.Precision >= 1:
		return fmt.Errorf("invalid --precision %v: must be above 0 and below 1 (5%% or 0.05)", o.Precision)
	case o.Baseline <= 0:
		return fmt.Errorf("invalid --baseline %v: must be positive", o.Baseline)
	case o.StepDuration < time.Second:
		return fmt.Errorf("invalid --step-duration %v: must be at least 1s", o.StepDuration)
	case o.TeardownTimeout <= 0:
		return fmt.Errorf("invalid --teardown-timeout %v: must be positive", o.TeardownTimeout)
	case o.From == FromCluster:
		return errors.New("invalid --probe-from cluster: knee judges every step on the local probe; allowed values are local, both")
	}
	if err := o.validate(min(o.Baseline, o.StepDuration), "the shortest probe window (--baseline/--step-duration)"); err != nil {
		return err
	}
	if len(o.RunID) != 8 || len(validation.IsDNS1123Label(o.RunID)) > 0 {
		return fmt.Errorf("invalid --run-id %q: must be 8 lowercase letters or digits", o.RunID)
	}
	if err := o.Limits.Validate(); err != nil {
		return err
	}
	if err := o.validateWorkers(true, o.Image); err != nil { // every mix is a native-engine load (workers.go)
		return err
	}
	if err := validateNodeSelector(o.NodeSelector); err != nil {
		return err
	}
	return listFormats.validate(&o.Output)
}

// Run checks permissions and the safety plan of the worst step, then searches.
func (o *KneeOptions) Run(ctx context.Context) error {
	// The plan of the worst step: the mix at --max-rate for --step-duration, one step at a time (each step's objects
	// and namespace are deleted before the next), the write rate checked against --max-rate itself.
	o.selection, o.Steps = run.KneeSelection(o.base, o.MaxRate, o.StepDuration), 1
	o.Limits.MaxWriteRate = o.MaxRate
	env, check, err := o.connectAndCheck(ctx)
	if err != nil {
		return err
	}
	o.printWorstCase(o.ErrOut)
	proceeded, err := o.admit(ctx, check)
	if err != nil {
		return err
	}
	if err := o.checkRunIDFree(ctx, env, nil); err != nil {
		return err
	}
	if err := o.writeSafetyPlan(check, proceeded); err != nil {
		return err
	}
	if f, err := os.OpenFile(filepath.Join(o.OutputDir, SafetyPlanFile), os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprintln(f)
		o.printWorstCase(f)
		f.Close()
	}
	safetyPlan, err := result.RawJSON(check.Plan)
	if err != nil {
		return err
	}
	pcfg := o.probeConfig(env)
	pcfg.Kinds = check.Kinds
	crit := knee.Criteria{SLO: o.slo, MaxErrorRatio: o.SLOErrorRate, MaxThrottleRatio: o.ThrottleRatio}
	for k := range crit.SLO { // only the kinds measured are judged
		if k != knee.Writes && !slices.Contains(pcfg.Kinds, probe.Kind(k)) {
			delete(crit.SLO, k)
		}
	}
	kc := run.KneeConfig{Selection: o.base, Mix: o.mixName, Start: o.StartRate, Max: o.MaxRate, Precision: o.Precision,
		Baseline: o.Baseline, Step: o.StepDuration, Cooldown: o.cooldown, TeardownTimeout: o.TeardownTimeout, Probe: pcfg,
		ProbeFrom: o.From, ProbeImage: o.Image, OutputDir: o.OutputDir, Flags: o.flagsSeen, Safety: safetyPlan,
		Breaker:  run.BreakerConfig{MaxErrorRate: o.MaxErrorRate, AbortP99MS: float64(o.AbortP99) / float64(time.Millisecond)},
		Criteria: crit, Workers: o.workersConfig(), NodeSelector: o.NodeSelector}
	env.Identify(ctx)
	remove := signals.OnForcedExit(func() {
		fmt.Fprintf(o.ErrOut, "exited before teardown finished; remove what is left with:\n  kubectl pyrometer cleanup --run-id %s\n", env.RunID)
	})
	defer remove()
	res, err := run.Knee(ctx, kc, run.Env{Session: env, Log: o.ErrOut}, version.Get())
	if err != nil {
		return err
	}
	switch o.Output {
	case "json", "yaml":
		err = report.Write(o.Out, o.Output, res)
	default:
		err = report.WriteKnee(o.Out, res)
	}
	if err != nil {
		return err
	}
	return o.finish(ctx, "knee", env.RunID, res.Outcome)
}

// printWorstCase says what the worst step does and how long the search can take.
func (o *KneeOptions) printWorstCase(w interface{ Write([]byte) (int, error) }) {
	steps := knee.MaxSteps(o.StartRate, o.MaxRate, o.Precision)
	per := run.WritesPerObject(o.base)
	var objects string
	for _, l := range o.selection.EngineLoads(1) {
		if l.Lifetime > 0 {
			objects = fmt.Sprintf("about %d objects alive at once (%s/s x lifetime %s)", l.Population(), knee.FormatRate(l.Rate), l.Lifetime)
		}
	}
	if objects == "" {
		objects = fmt.Sprintf("%d objects created and kept until the step ends", int(math.Ceil(o.MaxRate*o.StepDuration.Seconds())))
	}
	cd := "auto, at most " + (10*time.Second + 2*o.StepDuration).String()
	if o.cooldown > 0 {
		cd = o.cooldown.String()
	}
	fmt.Fprintf(w, "knee: at most %d steps of %v (one confirmation more if the first fails), one at a time, each followed by a cool-down (%s); "+
		"the worst step, at --max-rate %s writes/s (%.3g writes per object): %s, %s writes in all\n",
		steps, o.StepDuration, cd, knee.FormatRate(o.MaxRate), per, objects, knee.FormatRate(math.Ceil(o.MaxRate*o.StepDuration.Seconds())))
}
