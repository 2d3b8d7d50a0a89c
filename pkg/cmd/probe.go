package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// Where probes run.
const (
	FromLocal   = "local"
	FromCluster = "cluster"
	FromBoth    = "both"
)

const defaultRequestTimeout = 10 * time.Second

// DefaultInterval is the default time between two samples of each probe kind (5 per second per kind), and
// DefaultWindow the default probe window of each phase of a run: together 100 samples per kind and phase, the
// fewest that support a p99 (probe.MinSamplesP99); `probe`'s default 30 s gives 150. The probe's own cost at
// this rate is in the README (Probe, "Cost of the probe").
const (
	DefaultInterval = 200 * time.Millisecond
	DefaultWindow   = 20 * time.Second
)

// ProbeFlags are the probe settings shared by `probe` and `run`.
type ProbeFlags struct {
	Probes        string
	Interval      time.Duration
	Rate          float64
	From          string
	Image         string
	ListNamespace string
	NodeSelector  map[string]string // also for the in-cluster probe pod

	kinds          []probe.Kind
	explicitKinds  bool
	rateSet        bool // the interval comes from --rate
	requestTimeout time.Duration
}

func (f *ProbeFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Probes, "probes", "all", "Probe kinds, comma separated: "+strings.Join(probe.KindNames(), ", ")+
		", or all (all that the identity may use).")
	cmd.Flags().DurationVar(&f.Interval, "interval", DefaultInterval, "Time between two samples of each kind (open loop: a slow answer never delays the next sample; kinds are staggered across it).")
	cmd.Flags().Float64Var(&f.Rate, "rate", 0, "Samples per second per kind, > 0 and <= 1000; an alternative to --interval (given at a higher level, flag > --config > --profile, it wins over it).")
	cmd.Flags().StringVar(&f.From, "probe-from", FromLocal, "Where probes run: local (in this process), cluster (a Job running the plugin's image), or both.")
	cmd.Flags().StringVar(&f.Image, "probe-image", version.Get().ProbeImage, "Image of the in-cluster probe (the plugin's own image).")
	cmd.Flags().StringVar(&f.ListNamespace, "list-namespace", probe.DefaultListNamespace, "Namespace whose ConfigMaps the list-namespace probe lists.")
}

// complete resolves the kinds and the per-request timeout (kubectl's --request-timeout; 10s when unset).
func (f *ProbeFlags) complete(cmd *cobra.Command, cf *genericclioptions.ConfigFlags) error {
	kinds, err := probe.ParseKinds(f.Probes)
	if err != nil {
		return fmt.Errorf("invalid --probes: %w", err)
	}
	f.kinds = kinds
	f.explicitKinds = cmd.Flags().Changed("probes") && strings.TrimSpace(f.Probes) != "all"
	if cmd.Flags().Changed("rate") {
		if cmd.Flags().Changed("interval") {
			return errors.New("invalid flags: --rate and --interval are mutually exclusive")
		}
		if math.IsNaN(f.Rate) || f.Rate <= 0 || f.Rate > 1000 { // NaN compares false with everything
			return fmt.Errorf("invalid --rate %v: must be a number of samples per second per kind, greater than 0 and at most 1000", f.Rate)
		}
		f.Interval = time.Duration(math.MaxInt64) // a rate so low that the interval overflows: refused by validate
		if iv := float64(time.Second) / f.Rate; iv < float64(math.MaxInt64) {
			f.Interval = time.Duration(iv)
		}
		f.rateSet = true
	}
	f.requestTimeout, err = requestTimeout(cf)
	return err
}

func (f *ProbeFlags) validate(window time.Duration, windowFlag string) error {
	if f.Interval < time.Millisecond {
		return fmt.Errorf("invalid --interval %v: must be at least 1ms", f.Interval)
	}
	if f.Interval > window && f.rateSet {
		return fmt.Errorf("invalid --rate %v: one sample every %v is longer than %s %v (no sample would be taken)", f.Rate, f.Interval, windowFlag, window)
	}
	if f.Interval > window {
		return fmt.Errorf("invalid --interval %v: must not be longer than %s %v (no sample would be taken)", f.Interval, windowFlag, window)
	}
	switch f.From {
	case FromLocal, FromCluster, FromBoth:
	default:
		return fmt.Errorf("invalid --probe-from %q: allowed values are local, cluster, both", f.From)
	}
	if f.From != FromLocal && f.Image == "" {
		return errors.New("invalid --probe-image: an image is required with --probe-from cluster or both")
	}
	return nil
}

// requestTimeout reads kubectl's --request-timeout ("0" = unset: the probe default of 10s).
func requestTimeout(cf *genericclioptions.ConfigFlags) (time.Duration, error) {
	s := ""
	if cf.Timeout != nil {
		s = strings.TrimSpace(*cf.Timeout)
	}
	if s == "" || s == "0" {
		return defaultRequestTimeout, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid --request-timeout %q: want a positive duration like 10s", s)
	}
	return d, nil
}

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
	// last is the latest sample time (the end of report.html's probe phase).
	last time.Time
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

// probeEnv is what a probe needs from the cluster: clients and the run's identity.
type probeEnv struct {
	restConfig *rest.Config
	client     kubernetes.Interface // ordinary client for setup and cleanup
	probeCli   kubernetes.Interface // dedicated: own transport, no rate limiter
	probeRC    rest.Interface
	runID      string
	namespace  string
	owner      string // who creates the objects (SelfSubjectReview), recorded on them
	// what this process created: cleanup deletes nothing when nothing was created, and always the namespace it
	// created, even when the identity may not list (some of) the kinds the label search looks for
	created      bool
	clusterProbe bool // the in-cluster probe's objects (RBAC, Job) may exist: search by label too
}

func newProbeEnv(cf *genericclioptions.ConfigFlags) (*probeEnv, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 0 // per-request contexts bound every call; a global timeout would cut the watch
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	pc, err := kubernetes.NewForConfig(probe.DedicatedConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("failed to create the probe client for %s: %w", cfg.Host, err)
	}
	runID := cluster.NewRunID()
	return &probeEnv{restConfig: cfg, client: client, probeCli: pc, probeRC: pc.Discovery().RESTClient(),
		runID: runID, namespace: "pyrometer-" + runID}, nil
}

// reachable fails with one clear line when the server does not answer.
func (e *probeEnv) reachable(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := e.client.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return fmt.Errorf("failed to reach the server at %s: %w", e.restConfig.Host, err)
	}
	return nil
}

// createNamespace creates the run's own namespace (Pod Security "restricted" enforced), annotated with its owner.
func (e *probeEnv) createNamespace(ctx context.Context, name, component string) error {
	labels := cluster.Labels(e.runID, component)
	labels["pod-security.kubernetes.io/enforce"] = "restricted"
	_, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels,
		Annotations: cluster.Annotations(e.owner)}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to create namespace %s: %w", name, err)
	}
	e.created = true
	return nil
}

// cleanup deletes everything of this run with a fresh bounded context (it also runs after Ctrl-C). It does
// nothing when the probe created nothing (a readyz-only identity may not even list namespaces).
func (e *probeEnv) cleanup(errOut io.Writer) error {
	if !e.created {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The namespace this process created (with everything in it); with the in-cluster probe also what carries
	// the run's label elsewhere (RBAC). Kinds this identity may not list are skipped with a note.
	objs := []cluster.Object{{Kind: "Namespace", Name: e.namespace, RunID: e.runID}}
	var err error
	if e.clusterProbe {
		var found []cluster.Object
		found, err = cluster.Find(ctx, e.client, e.runID, cluster.WithNotes(func(n string) { fmt.Fprintf(errOut, "note: cleanup: %s\n", n) }))
		for _, o := range found {
			if o.Kind != "Namespace" || o.Name != e.namespace {
				objs = append(objs, o)
			}
		}
	}
	if err == nil {
		objs, err = cluster.Delete(ctx, e.client, objs, 2*time.Minute)
	}
	if err != nil {
		fmt.Fprintf(errOut, "cleanup of run %s incomplete: %v\nrun: kubectl pyrometer cleanup --run-id %s\n", e.runID, err, e.runID)
		return fmt.Errorf("cleanup of run %s failed: %w", e.runID, err)
	}
	if len(objs) > 0 {
		fmt.Fprintf(errOut, "removed %d object(s) of run %s\n", len(objs), e.runID)
	}
	return nil
}

// Run probes and prints the result.
func (o *ProbeOptions) Run(ctx context.Context) error {
	if o.Emit != "" {
		return o.runEmit(ctx)
	}
	if o.OutputDir != "" {
		if err := result.CheckOutputDir(o.OutputDir); err != nil {
			return err
		}
	}
	env, err := newProbeEnv(o.configFlags)
	if err != nil {
		return err
	}
	if err := env.reachable(ctx, o.requestTimeout); err != nil {
		return err
	}
	pcfg := probe.Config{Kinds: o.kinds, Interval: o.Interval, RequestTimeout: o.requestTimeout, Namespace: env.namespace,
		ListNamespace: o.ListNamespace, Source: probe.SourceLocal, Labels: cluster.Labels(env.runID, "probe"), NamePrefix: "pyrometer-probe"}
	kinds, notes, err := safety.PermittedKinds(ctx, env.client, pcfg, o.explicitKinds)
	if err != nil {
		return err
	}
	needNS := o.From != FromLocal || slices.ContainsFunc(kinds, probe.Kind.NeedsNamespace)
	pcfg.Kinds = kinds
	for _, n := range notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	var out *os.File
	if o.OutputDir != "" {
		if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
			return fmt.Errorf("invalid --output-dir: %w", err)
		}
		if out, err = os.Create(filepath.Join(o.OutputDir, result.SamplesFile)); err != nil {
			return fmt.Errorf("invalid --output-dir: %w", err)
		}
		defer out.Close()
	}

	if needNS {
		env.owner = cluster.WhoAmI(ctx, env.client)
	}
	// From here on the cluster may hold objects of this run: always clean up what was created.
	removeHook := signals.OnForcedExit(func() {
		fmt.Fprintf(o.ErrOut, "exited before cleanup; remove what is left with:\n  kubectl pyrometer cleanup --run-id %s\n", env.runID)
	})
	defer removeHook()
	res := &ProbeResult{RunID: env.runID, Server: env.restConfig.Host, Start: time.Now(), Duration: o.Duration.String(),
		Interval: o.Interval.String(), Kinds: kinds, Notes: notes, OutputDir: o.OutputDir}
	var w io.Writer
	if out != nil {
		w = out
	}
	runErr := o.probe(ctx, env, pcfg, res, w, needNS)
	// Clean up before printing: a closed stdout (| head) must not leave the run's objects behind. The results are
	// printed even when the cleanup failed (its error comes after them).
	cleanErr := env.cleanup(o.ErrOut)
	if runErr != nil {
		return errors.Join(runErr, cleanErr)
	}
	if err := o.print(res); err != nil {
		return errors.Join(err, cleanErr)
	}
	if cleanErr != nil {
		return cleanErr
	}
	if ctx.Err() != nil {
		return errors.New("interrupted: partial results above; everything the probe created was removed")
	}
	return nil
}

func (o *ProbeOptions) probe(ctx context.Context, env *probeEnv, pcfg probe.Config, res *ProbeResult, out io.Writer, needNS bool) error {
	if needNS {
		if err := env.createNamespace(ctx, env.namespace, "probe"); err != nil {
			return err
		}
	}
	// In memory only the statistics (probe.Aggregate: 4 bytes a sample); the samples go to probe.jsonl, or
	// for the terminal's sparklines without --output-dir to a compact log (16 bytes a sample).
	var mu sync.Mutex
	agg := probe.NewAggregate()
	agg.TrackProgress()
	var log *result.SampleLog
	if out == nil && isTerminal(o.Out) && o.Output == "table" {
		log = &result.SampleLog{}
	}
	var writeErr error
	sink := func(s probe.Sample) {
		mu.Lock()
		defer mu.Unlock()
		s.Phase = "probe"
		agg.Add(s)
		if log != nil {
			log.Add(s)
		}
		if out != nil && writeErr == nil {
			b, _ := json.Marshal(s)
			_, writeErr = out.Write(append(b, '\n'))
		}
	}

	before, err := probe.SnapshotServer(ctx, env.probeRC)
	if err != nil {
		before = nil
		res.Notes = append(res.Notes, serverNote(err))
	}

	var cp *probe.ClusterProbe
	if o.From != FromLocal {
		ccfg := probe.ClusterProbeConfig{Probe: pcfg, Image: o.Image, Duration: o.Duration, Name: "pyrometer-probe-" + env.runID,
			Annotations: cluster.Annotations(env.owner)}
		ccfg.Probe.Source = probe.SourceCluster
		env.clusterProbe = true
		fmt.Fprintf(o.ErrOut, "starting the in-cluster probe (image %s) in namespace %s\n", o.Image, env.namespace)
		cp, err = probe.StartClusterProbe(ctx, env.client, ccfg, sink)
		if err != nil {
			if o.From == FromCluster {
				return err
			}
			res.Notes = append(res.Notes, "in-cluster probe not run: "+err.Error())
			fmt.Fprintf(o.ErrOut, "warning: %v; continuing with the local probe\n", err)
		}
	}

	stopProgress := o.progress(ctx, agg)
	var local error
	if o.From != FromCluster {
		p, err := probe.New(pcfg, env.probeCli, env.probeRC, nil)
		if err != nil {
			stopProgress()
			return err
		}
		fmt.Fprintf(o.ErrOut, "probing %s for %v (%s every %v)\n", env.restConfig.Host, o.Duration, kindList(pcfg.Kinds), o.Interval)
		if err := p.Setup(ctx); err != nil {
			stopProgress()
			_ = p.Teardown(context.Background())
			return fmt.Errorf("probe setup failed: %w", err)
		}
		local = p.Run(ctx, "probe", o.Duration, sink)
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := p.Teardown(tctx); err != nil {
			res.Notes = append(res.Notes, "probe teardown: "+err.Error())
		}
		cancel()
	}
	if cp != nil {
		wctx, cancel := context.WithTimeout(ctx, o.Duration+2*o.requestTimeout+time.Minute)
		if err := cp.Wait(wctx); err != nil && ctx.Err() == nil {
			res.Notes = append(res.Notes, err.Error())
		}
		cancel()
	}
	stopProgress()
	if local != nil && ctx.Err() == nil {
		return local
	}

	if before != nil {
		sctx, cancel := context.WithTimeout(context.Background(), o.requestTimeout)
		after, err := probe.SnapshotServer(sctx, env.probeRC)
		cancel()
		if err == nil {
			if why := probe.ServerChanged(before, after); why != "" {
				res.Notes = append(res.Notes, "server-side rows dropped: "+why)
			} else {
				res.ServerSide = probe.DiffServer(before, after)
			}
		} else {
			res.Notes = append(res.Notes, serverNote(err))
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if writeErr != nil {
		return fmt.Errorf("failed to write probe.jsonl: %w", writeErr)
	}
	hasLoc, hasClu := agg.Has(probe.SourceLocal, "probe"), agg.Has(probe.SourceCluster, "probe")
	res.Local = agg.ByKind(probe.SourceLocal, "probe")
	res.Cluster = agg.ByKind(probe.SourceCluster, "probe")
	res.last = agg.Last()
	switch {
	case out != nil && (hasLoc || hasClu):
		path := filepath.Join(o.OutputDir, result.SamplesFile)
		if st, err := os.Stat(path); err == nil {
			res.Samples = result.SampleFile{Path: path, Limit: st.Size()}
		}
	case log != nil && log.Len() > 0:
		res.Samples = log
	}
	if hasLoc {
		lag := agg.Lag(probe.SourceLocal, "probe", o.Interval)
		lag.Phase = ""
		res.Lag = &lag
		if w := lag.Warning(); w != "" {
			res.Notes = append(res.Notes, w)
		}
	}
	if !hasLoc && !hasClu || o.From != FromCluster && !hasLoc {
		return errors.New("no samples were taken")
	}
	if o.OutputDir != "" {
		if err := writeProbeArtifacts(o.OutputDir, res); err != nil {
			return err
		}
	}
	return nil
}

func serverNote(err error) string {
	if apierrors.IsForbidden(err) {
		return "server-side latency not collected: GET /metrics is forbidden for this identity"
	}
	return "server-side latency not collected: " + err.Error()
}

func kindList(ks []probe.Kind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// writeProbeArtifacts writes the --output-dir artifacts besides probe.jsonl: the run document run.json (the same
// document as a run's, so report and compare read it), probe-stats.csv and report.html.
func writeProbeArtifacts(dir string, res *ProbeResult) error {
	doc := probeDoc(res)
	f, err := os.Create(filepath.Join(dir, result.ProbeStatsFile))
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", result.ProbeStatsFile, err)
	}
	if err := report.WriteProbeStatsCSV(f, doc.Stats); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := doc.Save(dir); err != nil {
		return err
	}
	h, err := os.Create(filepath.Join(dir, result.ReportFile))
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", result.ReportFile, err)
	}
	if err := report.WriteHTMLFrom(h, doc, res.Samples); err != nil {
		h.Close()
		return err
	}
	return h.Close()
}

// probeDoc is the run document of a probe: command "probe", one phase "probe" (in-cluster rows "probe@cluster"), no
// verdicts (nothing to compare with), outcome "measured".
func probeDoc(res *ProbeResult) *result.Doc {
	end := res.Start
	last := res.last
	if last.IsZero() && res.Samples != nil {
		_ = res.Samples.Each(func(s probe.Sample) error {
			if s.TS.After(last) {
				last = s.TS
			}
			return nil
		})
	}
	if last.After(end) {
		end = last
	}
	doc := &result.Doc{Command: result.CommandProbe, Version: version.Get(), RunID: res.RunID, Server: res.Server, Start: res.Start, End: end,
		Flags:  map[string]string{"duration": res.Duration, "interval": res.Interval, "probes": kindList(res.Kinds)},
		Phases: []result.Phase{{Name: "probe", Type: result.PhaseTypeProbe, Start: res.Start, End: end, Status: result.StatusPass}},
		Stats:  append(tagPhase(res.Local, "probe"), tagPhase(res.Cluster, "probe@cluster")...),
		Outcome: result.Outcome{Result: result.ResultMeasured,
			Reasons: []string{"a probe applies no load and has no baseline to judge against: read the statistics"}},
		Notes: res.Notes, OutputDir: res.OutputDir, Samples: res.Samples}
	if len(res.ServerSide) > 0 {
		doc.ServerSide = map[string][]probe.ServerStat{"probe": res.ServerSide}
	}
	if res.Lag != nil {
		lag := *res.Lag
		lag.Phase = "probe"
		doc.ProbeLag = []probe.Lag{lag}
	}
	return doc
}

func tagPhase(stats []probe.Stats, phase string) []probe.Stats {
	out := append([]probe.Stats(nil), stats...)
	for i := range out {
		out[i].Phase = phase
	}
	return out
}

func (o *ProbeOptions) print(res *ProbeResult) error {
	switch o.Output {
	case "json", "yaml":
		return report.Write(o.Out, o.Output, res)
	case "csv":
		return report.WriteProbeStatsCSV(o.Out, append(tagPhase(res.Local, "probe"), tagPhase(res.Cluster, "probe@cluster")...))
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

// runEmit is the in-cluster probe process: samples as JSON lines on stdout, nothing else.
func (o *ProbeOptions) runEmit(ctx context.Context) error {
	// In a pod: the ServiceAccount's config. (ConfigFlags would not fall back to it, because --request-timeout
	// makes the merged kubeconfig differ from the empty default.)
	cfg, err := rest.InClusterConfig()
	if err != nil {
		if cfg, err = o.configFlags.ToRESTConfig(); err != nil {
			return fmt.Errorf("failed to load the in-cluster config: %w", err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 0
	pc, err := kubernetes.NewForConfig(probe.DedicatedConfig(cfg))
	if err != nil {
		return err
	}
	prefix := o.NamePrefix
	if prefix == "" {
		prefix = "pyrometer-probe-pod"
	}
	labels := map[string]string{cluster.ManagedByLabel: cluster.ManagedBy}
	for k, v := range o.Labels {
		labels[k] = v
	}
	p, err := probe.New(probe.Config{Kinds: o.kinds, Interval: o.Interval, RequestTimeout: o.requestTimeout, Namespace: o.InNamespace,
		ListNamespace: o.ListNamespace, Source: probe.SourceCluster, Labels: labels, NamePrefix: prefix}, pc, pc.Discovery().RESTClient(), nil)
	if err != nil {
		return err
	}
	if err := p.Setup(ctx); err != nil {
		_ = p.Teardown(context.Background())
		return fmt.Errorf("probe setup failed: %w", err)
	}
	var mu sync.Mutex
	enc := json.NewEncoder(o.Out)
	runErr := p.Run(ctx, "cluster", o.Duration, func(s probe.Sample) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(s)
	})
	tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Teardown(tctx); err != nil {
		fmt.Fprintf(o.ErrOut, "probe teardown: %v\n", err)
	}
	if runErr != nil && ctx.Err() == nil {
		return runErr
	}
	return nil
}
