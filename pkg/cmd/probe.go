package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// ProbeOptions holds the flags of "kubectl pyrometer probe".
type ProbeOptions struct {
	configFlags *genericclioptions.ConfigFlags
	ProbeFlags
	Duration  time.Duration
	Output    string
	OutputDir string

	// hidden: how the in-cluster probe pod runs the plugin
	Emit        string
	InNamespace string
	NamePrefix  string
	Labels      map[string]string

	genericiooptions.IOStreams
}

// ProbeResult is the data printed by "kubectl pyrometer probe".
type ProbeResult struct {
	RunID      string             `json:"runID"`
	Server     string             `json:"server"`
	Start      time.Time          `json:"start"`
	Duration   string             `json:"duration"`
	Interval   string             `json:"interval"`
	Kinds      []probe.Kind       `json:"kinds"`
	Local      []probe.Stats      `json:"local,omitempty"`
	Cluster    []probe.Stats      `json:"cluster,omitempty"`
	ServerSide []probe.ServerStat `json:"serverSide,omitempty"`
	// Lag is the scheduling lag of the local probe's samples (how late the client fired them).
	Lag       *probe.Lag `json:"lag,omitempty"`
	Notes     []string   `json:"notes,omitempty"`
	OutputDir string     `json:"outputDir,omitempty"`
	// Samples are every sample taken, for the terminal's sparklines (and report.html): streamed from probe.jsonl
	// with --output-dir, else a compact log when stdout is a terminal; nil when nothing draws them.
	Samples result.SampleSource `json:"-"`
	// stats are the rows of the run document (probe-stats.csv): local ones "probe", in-cluster ones "probe@cluster".
	stats []probe.Stats
}

// NewCmdProbe returns "kubectl pyrometer probe".
func NewCmdProbe(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ProbeOptions{configFlags: cf, Duration: 30 * time.Second, Output: "table", IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "probe [flags]",
		Short: "Measure API latency without generating load",
		Long: `Measure Kubernetes API latency without generating load.

Each probe kind fires on a fixed schedule (open loop), every --interval (200ms), the kinds staggered across
the interval so that they never queue behind each other: a slow answer never delays the next sample, and a
request that fails or exceeds --request-timeout (default 10s) is kept as a sample with its error. Requests are
timed in this process around the client-go call, on a dedicated connection with no client-side rate limit.

Kinds: readyz (GET /readyz), get (GET one ConfigMap the probe owns), list-namespace (LIST ConfigMaps in
kube-system), list-cluster (LIST nodes), mutate (create, patch, delete a ConfigMap: one sample each), watch
(write a ConfigMap, time until our own watch delivers the event). The probe creates a namespace
pyrometer-<run-id> for its objects and deletes it at the end, also on Ctrl-C.

Percentiles use the nearest-rank method (every figure is an observed latency) over all samples, errors
included; a percentile the sample count cannot support (p99 needs 100 samples) is marked with *. The probe
client's own scheduling lag is shown too; a lag p99 above 10% of the interval means the client could not keep
its schedule and the measurement is not fair.
Samples are not kept in memory (they go to --output-dir's probe.jsonl; the statistics take 4 bytes a sample),
so a long probe (--duration 24h) is fine.
When GET /metrics is allowed, the apiserver's own request-duration histogram is read at start and end and
its per-verb/resource quantiles are shown too.`,
		Example: `  # 30 seconds of every probe kind the current identity may use
  kubectl pyrometer probe

  # 2 minutes, only readyz and get, 5 samples per second each, as JSON
  kubectl pyrometer probe --duration 2m --probes readyz,get --rate 5 -o json

  # From inside the cluster too (a Job running the plugin's image), keeping the samples
  kubectl pyrometer probe --probe-from both --output-dir ./probe-results`,
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
	o.addFlags(cmd)
	cmd.Flags().DurationVar(&o.Duration, "duration", o.Duration, "How long to probe.")
	runFormats.addFlag(cmd, &o.Output)
	cmd.Flags().StringVar(&o.OutputDir, "output-dir", "", "Directory to write run.json, probe.jsonl, probe-stats.csv and report.html to, which report and compare read (created if missing; one already holding a run's or probe's artifacts is refused).")
	cmd.Flags().StringVar(&o.Emit, "emit", "", "Only print samples, as JSON lines (jsonl); used by the in-cluster probe.")
	cmd.Flags().StringVar(&o.InNamespace, "in-namespace", "", "Probe in this existing namespace instead of creating one; used by the in-cluster probe.")
	cmd.Flags().StringVar(&o.NamePrefix, "name-prefix", "", "Prefix of the probe's object names; used by the in-cluster probe.")
	cmd.Flags().StringToStringVar(&o.Labels, "probe-labels", nil, "Labels of the objects the probe creates; used by the in-cluster probe.")
	for _, h := range []string{"emit", "in-namespace", "name-prefix", "probe-labels"} {
		_ = cmd.Flags().MarkHidden(h)
	}
	return cmd
}

// Complete resolves kinds and timeouts.
func (o *ProbeOptions) Complete(cmd *cobra.Command) error {
	return o.complete(cmd, o.configFlags)
}

// Validate checks the flags; it does no I/O.
func (o *ProbeOptions) Validate() error {
	if o.Duration <= 0 {
		return fmt.Errorf("invalid --duration %v: must be positive", o.Duration)
	}
	if err := o.validate(o.Duration, "--duration"); err != nil {
		return err
	}
	if err := runFormats.validate(&o.Output); err != nil {
		return err
	}
	if o.Emit != "" && o.Emit != "jsonl" {
		return fmt.Errorf("invalid --emit %q: allowed value is jsonl", o.Emit)
	}
	if o.Emit != "" && o.InNamespace == "" {
		return errors.New("invalid --emit: needs --in-namespace")
	}
	return nil
}

// Run probes and prints the result.
func (o *ProbeOptions) Run(ctx context.Context) error {
	if o.Emit != "" {
		pcfg := probe.Config{Kinds: o.kinds, Interval: o.Interval, RequestTimeout: o.requestTimeout, Namespace: o.InNamespace,
			ListNamespace: o.ListNamespace, Labels: o.Labels, NamePrefix: o.NamePrefix}
		return probe.RunAgent(ctx, pcfg, o.Duration, o.configFlags.ToRESTConfig, o.Out, o.ErrOut)
	}
	if o.OutputDir != "" {
		if err := result.CheckOutputDir(o.OutputDir); err != nil {
			return err
		}
	}
	s, err := run.Connect(o.configFlags, cluster.NewRunID())
	if err != nil {
		return err
	}
	if err := s.Reachable(ctx, o.requestTimeout); err != nil {
		return err
	}
	pcfg := probe.Config{Kinds: o.kinds, Interval: o.Interval, RequestTimeout: o.requestTimeout, Namespace: s.ProbeNamespace(),
		ListNamespace: o.ListNamespace, Source: probe.SourceLocal, Labels: cluster.Labels(s.RunID, "probe"), NamePrefix: cluster.ProbePrefix}
	kinds, notes, err := safety.PermittedKinds(ctx, s.Client, pcfg, o.explicitKinds)
	if err != nil {
		return err
	}
	pcfg.Kinds = kinds
	for _, n := range notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	// From here on the cluster may hold objects of this run: always clean up what was created.
	removeHook := signals.OnForcedExit(func() {
		fmt.Fprintf(o.ErrOut, "exited before cleanup; remove what is left with:\n  kubectl pyrometer cleanup --run-id %s\n", s.RunID)
	})
	defer removeHook()
	doc, err := run.Probe(ctx, run.ProbeConfig{Probe: pcfg, Duration: o.Duration, ProbeFrom: o.From, ProbeImage: o.Image,
		OutputDir: o.OutputDir, KeepSamples: o.OutputDir == "" && isTerminal(o.Out) && o.Output == "table", Notes: notes,
		Progress: func(agg *probe.Aggregate) func() { return o.progress(ctx, agg) }}, run.Env{Session: s, Log: o.ErrOut}, version.Get())
	if doc == nil {
		return err
	}
	// The results are printed even when the cleanup failed (err; it comes after them).
	if perr := o.print(probeResult(doc, kinds, o.Duration, o.Interval)); perr != nil {
		return errors.Join(perr, err)
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted: partial results above; everything the probe created was removed")
	}
	return nil
}

// probeResult is what probe prints, from its run document: the local rows, the in-cluster ones (phase "probe" as
// well), the server-side rows and the local probe's scheduling lag.
func probeResult(doc *result.Doc, kinds []probe.Kind, duration, interval time.Duration) *ProbeResult {
	res := &ProbeResult{RunID: doc.RunID, Server: doc.Server, Start: doc.Start, Duration: duration.String(), Interval: interval.String(),
		Kinds: kinds, ServerSide: doc.ServerSide[run.ProbePhase], Notes: doc.Notes, OutputDir: doc.OutputDir, Samples: doc.Samples, stats: doc.Stats}
	for _, st := range doc.Stats {
		switch st.Phase {
		case run.ProbePhase:
			res.Local = append(res.Local, st)
		case run.ProbePhase + "@cluster":
			st.Phase = run.ProbePhase
			res.Cluster = append(res.Cluster, st)
		}
	}
	for _, lag := range doc.ProbeLag {
		lag.Phase = ""
		res.Lag = &lag
	}
	return res
}

func (o *ProbeOptions) print(res *ProbeResult) error {
	switch o.Output {
	case "json", "yaml":
		return report.Write(o.Out, o.Output, res)
	case "csv":
		return report.WriteProbeStatsCSV(o.Out, res.stats)
	case "markdown":
		if len(res.Local) > 0 {
			fmt.Fprintf(o.Out, "### Client-side latency (local, ms)\n\n")
			if err := report.WriteStatsMarkdown(o.Out, res.Local); err != nil {
				return err
			}
			if res.Lag != nil {
				fmt.Fprintf(o.Out, "\nProbe client scheduling lag: %s\n", res.Lag)
			}
		}
		if len(res.Cluster) > 0 {
			fmt.Fprintf(o.Out, "\n### Client-side latency (in-cluster pod, ms)\n\n")
			if err := report.WriteStatsMarkdown(o.Out, res.Cluster); err != nil {
				return err
			}
		}
		for _, n := range res.Notes {
			fmt.Fprintf(o.Out, "\n> note: %s\n", n)
		}
		return nil
	}
	if len(res.Local) > 0 {
		fmt.Fprintf(o.Out, "CLIENT-SIDE LATENCY (local, in-process; ms)\n")
		if err := report.WriteStatsTable(o.Out, res.Local, false); err != nil {
			return err
		}
		if res.Lag != nil {
			fmt.Fprintf(o.Out, "probe client scheduling lag: %s\n", res.Lag)
		}
	}
	if len(res.Cluster) > 0 {
		fmt.Fprintf(o.Out, "\nCLIENT-SIDE LATENCY (in-cluster pod; ms)\n")
		if err := report.WriteStatsTable(o.Out, res.Cluster, false); err != nil {
			return err
		}
	}
	if isTerminal(o.Out) && res.Samples != nil {
		var b bytes.Buffer
		if err := report.WriteSparklinesFrom(&b, res.Samples, nil, report.SparkWidth); err == nil && b.Len() > 0 {
			fmt.Fprintln(o.Out)
			if _, err := o.Out.Write(b.Bytes()); err != nil {
				return err
			}
		}
	}
	if len(res.ServerSide) > 0 {
		fmt.Fprintf(o.Out, "\nSERVER-SIDE LATENCY (apiserver histogram, all clients during the probe; ms)\n")
		if err := report.WriteServerTable(o.Out, res.ServerSide); err != nil {
			return err
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	if o.OutputDir != "" {
		fmt.Fprintf(o.ErrOut, "artifacts: %s\n", o.OutputDir)
	}
	return nil
}

// progress prints elapsed time, sample count and the current p99 on stderr every 2s when stderr is a terminal.
// The figures are kept up to date as samples arrive (probe.Aggregate), never recomputed from all samples.
func (o *ProbeOptions) progress(ctx context.Context, agg *probe.Aggregate) (stop func()) {
	if !isTerminal(o.ErrOut) {
		return func() {}
	}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(o.ErrOut, "\r\033[K")
				return
			case <-ctx.Done():
				return
			case <-t.C:
				count, errs, p99 := agg.Progress()
				fmt.Fprintf(o.ErrOut, "\r\033[K%v/%v  samples %d  errors %d  p99 %.1f ms",
					time.Since(start).Round(time.Second), o.Duration, count, errs, p99)
			}
		}
	}()
	return func() { close(done) }
}
