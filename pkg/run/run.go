// Package run orchestrates `kubectl pyrometer run`: baseline probe -> N cumulative ramp steps of stress (created
// by kube-burner through pkg/stress, measured by pkg/probe while they run) -> teardown -> recovery probe, then
// statistics, verdicts and artifacts. It always tears down what it created, also when interrupted.
package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/workers"
)

// Config is a resolved run.
type Config struct {
	Selection           *modes.Selection
	Steps               int
	Baseline            time.Duration
	StepDuration        time.Duration
	Recovery            time.Duration
	StepTimeout         time.Duration // bound of kube-burner's create-and-wait-ready part of a step
	TeardownTimeout     time.Duration
	QPS                 float32 // kube-burner client QPS/burst for the data-plane objects (the seed's ramp_qps)
	Burst               int
	Probe               probe.Config // kinds, interval, request timeout, list namespace; namespace/labels are set here
	ProbeFrom           string       // local, cluster, both
	ProbeImage          string
	NodeSelector        map[string]string
	ImageMap            func(string) string
	PullSecrets         []string
	PullSecretNamespace string // where the pull secrets are read from (the current namespace)
	OutputDir           string
	Flags               map[string]string // as given, for run.json
	Breaker             BreakerConfig
	SLOErrorRate        float64         // availability SLO of every phase: the fraction of probe requests that may fail
	Monitor             time.Duration   // > 0: write monitor.jsonl every Monitor
	Safety              json.RawMessage // the safety plan the run was admitted with (for run.json)
	Interactive         json.RawMessage // the answers given at the prompts of run -i/-c/-r (for run.json; nil: none)
	// Hollow: --hollow-nodes (nil: none); On: where a mode's pods go relative to them, by mode (hollow, any or
	// real; a mode not named: real). See hollow.go and density.go.
	Hollow *HollowConfig
	On     map[string]string
	// Workers: where the engine load of modes churn and api comes from (--load-from, --workers; workers.go).
	Workers WorkersConfig
}

// Env is the cluster the run talks to (the command's Session) and where its progress goes.
type Env struct {
	*Session
	Log io.Writer // progress (stderr)
	// Kinds: the kinds the modes' templates create, looked for (in every namespace, with the Session's dynamic
	// client) and deleted at the end of the run, so that what a template creates outside the step namespaces is not
	// left behind.
	Kinds []cluster.Kind
}

// Runner runs one run.
type Runner struct {
	cfg Config
	env Env

	dir     string
	probeNS string
	phase   atomic.Value // current phase name, for samples streamed from the in-cluster probe
	agg     *probe.Aggregate
	jsonl   *result.JSONLWriter
	res     *result.Doc
	burner  burner
	tmplDir string
	// createdNS are the namespaces this process created; conflict: a namespace of this run id existed already
	// (another process uses the same run id), so the final cleanup deletes only what this process created.
	createdNS []string
	conflict  bool
	// searchAll: the final cleanup also deletes what carries the run id outside the namespaces this process created
	// (RBAC, what templates created elsewhere); always for a run, for a probe when it started the in-cluster probe.
	searchAll bool
	// onePhase: every sample belongs to this phase (a probe: its in-cluster samples too, as they come).
	onePhase string
	// log keeps the samples for the terminal's sparklines when there is no probe.jsonl (a probe without
	// --output-dir); nil otherwise.
	log *result.SampleLog

	// agg keeps every sample's statistics, exact and compact (4 bytes a sample); the samples go to jsonl, whose
	// lines of this run start at byte jsonlStart (the file may hold an earlier run's before).
	jsonlStart int64

	clock *clusterClock // attributes in-cluster samples to the measured windows by their timestamps

	engines *engines // the native engines of modes churn and api (churn.go); nil without one

	// newBurner connects the kube-burner runner (stress.NewRunner; tests put a fake here).
	newBurner func(cfg *rest.Config, logs io.Writer) (burner, error)
	// testHook, when set, is called at named points of the run (tests inject panics with it).
	testHook func(point string)

	// serverMark records the server-side rows of a phase that ends now (a step's setup sub-phase, setup.go); set by
	// execute.
	serverMark func(phase string)

	hollow *hollow.Hollow // --hollow-nodes: deployed before the baseline, torn down by finalCleanup
	kwok   *kwokTraffic   // kwok's own API traffic with --hollow-nodes (kwoktraffic.go)
	apf    *apfRun        // --workers-flowschema (apf.go)
	pods   *podWatch      // pod startup of the run's stress pods (nil without data-plane modes)

	tap func(probe.Sample) // knee: sees every sample after sink attributed it (knee.go); nil for a run
}

// burner runs kube-burner specs and returns only when nothing it started runs any more (stress.Runner).
type burner interface {
	Run(ctx context.Context, spec stress.Spec) (stress.Result, error)
}

func newStressRunner(cfg *rest.Config, logs io.Writer) (burner, error) {
	return stress.NewRunner(cfg, logs)
}

func (r *Runner) hook(point string) {
	if r.testHook != nil {
		r.testHook(point)
	}
}

// New validates cfg and prepares a runner. Nothing is created in the cluster.
func New(cfg Config, env Env) (*Runner, error) {
	if cfg.Selection == nil || len(cfg.Selection.Modes) == 0 {
		return nil, errors.New("no stress modes selected")
	}
	if cfg.Steps < 1 {
		return nil, fmt.Errorf("invalid --steps %d: must be >= 1", cfg.Steps)
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 3 * time.Minute
	}
	if cfg.TeardownTimeout <= 0 {
		cfg.TeardownTimeout = 3 * time.Minute
	}
	if env.Log == nil {
		env.Log = io.Discard
	}
	if env.Session == nil {
		env.Session = &Session{}
	}
	if cfg.Workers.FlowSchema { // the run's final search finds its FlowSchema and priority level too (apf.go)
		env.Kinds = append(slices.Clone(env.Kinds), workers.APFKinds...)
	}
	r := &Runner{cfg: cfg, env: env, dir: cfg.OutputDir, probeNS: cluster.ProbeNamespace(env.RunID), agg: probe.NewAggregate("recovery"),
		clock: newClusterClock(), newBurner: newStressRunner, searchAll: true}
	r.phase.Store("")
	return r, nil
}

func (r *Runner) logf(format string, a ...any) {
	fmt.Fprintf(r.env.Log, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// Run executes the run. It returns the result (also when the run failed or was interrupted: then partial) and an
// error only when it could not start or write its artifacts.
func (r *Runner) Run(ctx context.Context, version version.Info) (*result.Doc, error) {
	var modes []string
	for _, m := range r.cfg.Selection.Modes {
		modes = append(modes, m.Name)
	}
	r.res = &result.Doc{Version: version, RunID: r.env.RunID, Server: r.env.RestConfig.Host, Start: time.Now(), Flags: r.cfg.Flags, Interactive: r.cfg.Interactive,
		Modes: modes, Settings: r.cfg.Selection.Settings, Safety: r.cfg.Safety,
		ServerSide: map[string][]probe.ServerStat{}, OutputDir: r.dir}
	if err := r.openArtifacts(ctx); err != nil {
		return nil, err
	}
	defer r.jsonl.Close()
	r.logf("run %s against %s: modes %v, %d step(s); artifacts in %s", r.env.RunID, r.env.RestConfig.Host, modes, r.cfg.Steps, r.dir)

	interrupted := r.executeGuarded(ctx)

	// Always: delete everything of this run, with a fresh bounded context (ctx may be cancelled).
	r.finalCleanup()
	r.res.End = time.Now()
	r.finish(interrupted)
	if err := r.writeArtifacts(); err != nil {
		return r.res, err
	}
	return r.res, nil
}

// execute runs the phases; it reports whether ctx ended (Ctrl-C) before the run completed.
func (r *Runner) execute(ctx context.Context) (interrupted bool) {
	pcfg := r.probeConfig()
	if err := r.createNamespace(ctx, r.probeNS, "probe"); err != nil {
		r.fail("setup", err.Error())
		return ctx.Err() != nil
	}
	prober, err := probe.New(pcfg, r.env.ProbeClient, r.env.ProbeRC, nil)
	if err != nil {
		r.fail("setup", err.Error())
		return false
	}
	defer r.proberTeardown(prober)()
	if err := prober.Setup(ctx); err != nil {
		r.fail("setup", "probe setup failed: "+err.Error())
		return ctx.Err() != nil
	}
	// --hollow-nodes: before the baseline, so that every phase measures with them (hollow.go)
	if err := r.deployHollow(ctx); err != nil {
		r.fail("setup", err.Error())
		return ctx.Err() != nil
	}
	r.startKwokTraffic(ctx)                 // kwok's own writes and FlowSchema (kwoktraffic.go)
	if err := r.startAPF(ctx); err != nil { // --workers-flowschema (apf.go)
		r.fail("setup", err.Error())
		return ctx.Err() != nil
	}
	r.pods = r.startPodWatch(ctx) // pod startup of the stress pods (density.go); stopped by finish
	local := r.cfg.ProbeFrom != "cluster"
	if r.cfg.ProbeFrom != "local" {
		stop := r.startClusterProbe(ctx, pcfg)
		defer stop()
	}
	snap := r.snapshot(ctx, nil)
	if r.cfg.Monitor > 0 {
		stopMonitor := r.monitor(ctx, r.cfg.Monitor)
		defer stopMonitor()
	}

	// probe runs one measured phase; it never stops early on its own.
	probePhase := func(name, typ string, d time.Duration) result.Phase {
		ph := result.Phase{Name: name, Type: typ, Start: time.Now()}
		r.phase.Store(name)
		r.clock.open(name, ph.Start, d)
		r.logf("%s: probing for %v", name, d)
		var err error
		if local {
			err = prober.Run(ctx, name, d, r.sink)
		} else {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		ph.End = time.Now()
		r.clock.close(name, ph.End)
		ph.Status = result.StatusPass
		if err != nil {
			ph.Status, ph.RC, ph.Error = result.StatusAborted, 1, err.Error()
		}
		snap = r.snapshot(ctx, snap, name)
		return ph
	}

	r.serverMark = func(phase string) { snap = r.snapshot(ctx, snap, phase) } // a step's setup sub-phase (setup.go)
	r.addPhase(probePhase("baseline", result.PhaseTypeProbe, r.cfg.Baseline))
	if ctx.Err() != nil {
		return true
	}
	// Ramp steps: cumulative, each in its own namespace.
	aborted := false
	for i := 1; i <= r.cfg.Steps && !aborted; i++ {
		name := fmt.Sprintf("ramp-step-%d", i)
		ph, ok := r.rampStep(ctx, i, name, prober, local)
		snap = r.snapshot(ctx, snap, name)
		r.addPhase(ph)
		if ctx.Err() != nil {
			return true
		}
		aborted = !ok
	}
	// Teardown: the stress goes away; recovery measures how the control plane comes back. Teardown has its own
	// server-side rows: recovery starts from the snapshot after it.
	td := r.teardown()
	snap = r.snapshot(ctx, snap, "teardown")
	r.addPhase(td)
	if ctx.Err() != nil {
		return true
	}
	r.addPhase(probePhase("recovery", result.PhaseTypeRecovery, r.cfg.Recovery))
	return ctx.Err() != nil
}

// probeConfig is the local prober's configuration: in the run's probe namespace, its objects labelled as the run's.
func (r *Runner) probeConfig() probe.Config {
	pcfg := r.cfg.Probe
	pcfg.Namespace = r.probeNS
	pcfg.Labels = cluster.Labels(r.env.RunID, "probe")
	pcfg.NamePrefix = cluster.ProbePrefix
	pcfg.Source = probe.SourceLocal
	return pcfg
}

// rampStep creates step i's load and measures while it runs. ok=false stops the ramp.
func (r *Runner) rampStep(ctx context.Context, i int, name string, prober *probe.Prober, local bool) (result.Phase, bool) {
	ph := result.Phase{Name: name, Type: result.PhaseTypeRamp, Start: time.Now(), UUID: uuid.NewString(), Details: map[string]string{}}
	r.phase.Store(name)
	r.pods.phase(name) // pods created from now on are this step's (density.go)
	defer r.endPodPhase(r.pods, name)
	// The setup sub-phase is probed from here until the load runs (setup.go); a step that ends during it ends it.
	setup := r.startSetup(ctx, name, prober, local)
	defer func() { setup.finish(&ph) }()
	fail := func(reason string) (result.Phase, bool) {
		ph.End, ph.Status, ph.RC, ph.Error = time.Now(), result.StatusFail, 1, reason
		if ctx.Err() != nil {
			ph.Status = result.StatusAborted
		}
		r.fail(name, reason)
		setup.failed(&ph) // a step that fails in its setup ends it; its window is empty (setup.go)
		return ph, false
	}
	ns := cluster.StepNamespace(r.env.RunID, i)
	window := r.window()
	if err := r.createNamespace(ctx, ns, "stress"); err != nil {
		return fail(err.Error())
	}
	r.hook("step-namespace")
	if err := r.ensureBurner(); err != nil {
		return fail(err.Error())
	}
	// The breaker watches the step from here on; when it trips, stepCtx ends and the step stops at once.
	outer := ctx
	ctx, brk, stopBreaker := r.startBreaker(outer, ns, name)
	defer stopBreaker()
	fail = func(reason string) (result.Phase, bool) {
		if b := brk.Reason(); b != "" {
			reason = "breaker: " + b
		}
		ph.End, ph.Status, ph.RC, ph.Error = time.Now(), result.StatusFail, 1, reason
		if outer.Err() != nil {
			ph.Status = result.StatusAborted
		}
		r.fail(name, reason)
		setup.failed(&ph)
		return ph, false
	}
	ready, spread := r.cfg.Selection.StepJobs(modes.StepOptions{Step: i, Namespace: ns, Window: window,
		ImageMap: r.cfg.ImageMap, NodeSelector: r.cfg.NodeSelector, PullSecrets: r.cfg.PullSecrets, TemplateDir: r.tmplDir,
		Placement: r.placement()})
	for j := range ready {
		if !r.ownsQPS(ready[j].Name) { // a mode with its own qps (density) is created at that rate
			ready[j].QPS, ready[j].Burst = max(ready[j].QPS, r.cfg.QPS), max(ready[j].Burst, r.cfg.Burst)
		}
		ready[j].NamespaceLabels = cluster.Labels(r.env.RunID, "stress")
	}
	opts := stress.SpecOptions{UUID: ph.UUID, RunID: r.env.RunID, RequestTimeout: r.cfg.Probe.RequestTimeout}
	if len(ready) > 0 {
		opts.Timeout, opts.MaxWaitTimeout = r.cfg.StepTimeout, r.cfg.StepTimeout
		spec, err := stress.NewSpec(opts, ready)
		if err != nil {
			return fail(err.Error())
		}
		r.logf("%s: creating the data-plane load in %s and waiting until it runs (at most %v)", name, ns, r.cfg.StepTimeout)
		// Returns only when kube-burner's process is gone (killed when ctx ends): it creates nothing afterwards.
		res, err := r.burner.Run(ctx, spec)
		ph.Details["setup_seconds"] = fmt.Sprintf("%.1f", res.Elapsed.Seconds())
		if err != nil {
			return fail(fmt.Sprintf("creating the stress objects: %v", err))
		}
	}
	if setup != nil { // the setup is over: the step's phase is its window from here (setup.go)
		ph.Start = setup.end(result.StatusPass, "")
		ph.Details["setup_phase"] = SetupPhase(name)
	}
	// The measured window: the API flood (if any) runs while the probe measures. It runs on floodCtx, which ends
	// with the step (breaker, Ctrl-C) or when the probe fails, and the step waits for it: when rampStep returns,
	// no load generator of the step runs any more.
	floodCtx, stopFlood := context.WithCancel(ctx)
	defer stopFlood()
	type floodResult struct {
		res stress.Result
		err error
	}
	floodDone := make(chan floodResult, 1)
	flooding := len(spread) > 0
	if flooding {
		for j := range spread {
			spread[j].NamespaceLabels = cluster.Labels(r.env.RunID, "stress")
		}
		opts.Timeout, opts.MaxWaitTimeout = window+r.cfg.StepTimeout, r.cfg.StepTimeout
		spec, err := stress.NewSpec(opts, spread)
		if err != nil {
			return fail(err.Error())
		}
		go func() {
			// Only this goroutine's own result goes to the channel: ph (its Details map) belongs to rampStep.
			var fr floodResult
			defer func() {
				if p := recover(); p != nil {
					fr.err = fmt.Errorf("internal error (panic in the API flood: %v)", p)
				}
				floodDone <- fr
			}()
			r.hook("flood")
			fr.res, fr.err = r.burner.Run(floodCtx, spec)
		}()
	}
	// The native engines (modes churn, api) run over the window; when rampStep returns, by any path (a panic too),
	// they have stopped and returned (churn.go).
	loads, err := r.startLoads(ctx, i, name, ns, window)
	if err != nil {
		stopFlood()
		if flooding {
			<-floodDone
		}
		return fail(err.Error())
	}
	defer loads.stop()
	r.logf("%s: probing for %v while the load runs", name, window)
	ph.Details["window_start"] = time.Now().UTC().Format(time.RFC3339Nano)
	ph.Details["window_seconds"] = fmt.Sprintf("%.1f", window.Seconds())
	r.clock.open(name, time.Now(), window)
	defer func() { r.clock.close(name, time.Now()) }()
	var perr error
	if local {
		perr = prober.Run(ctx, name, window, r.sink)
	} else {
		select {
		case <-time.After(window):
		case <-ctx.Done():
			perr = ctx.Err()
		}
	}
	var ferr error
	if flooding {
		if perr != nil {
			stopFlood()
		}
		fr := <-floodDone
		ph.Details["flood_seconds"] = fmt.Sprintf("%.1f", fr.res.Elapsed.Seconds())
		ph.Details["flood_error_logs"] = fmt.Sprint(fr.res.ErrorLogs)
		ferr = fr.err
	}
	undelivered := loads.stop() // with the window: Stop, then Wait
	if ferr != nil && (perr == nil || !errors.Is(ferr, stress.ErrStopped)) {
		return fail(fmt.Sprintf("API flood: %v", ferr))
	}
	if perr != nil {
		return fail(perr.Error())
	}
	if undelivered != "" {
		return fail(undelivered) // never a pass: the step did not get the load it was asked for
	}
	ph.End, ph.Status = time.Now(), result.StatusPass
	return ph, true
}

// window is a step's probe window: --step-duration, or longer when the API flood needs longer at its QPS (the
// flood is measured while it runs, all of it).
func (r *Runner) window() time.Duration {
	w := r.cfg.StepDuration
	if need := r.cfg.Selection.FloodDuration(); need > w {
		w = need
	}
	return w
}

func (r *Runner) ensureBurner() error {
	if r.burner != nil {
		return nil
	}
	// kube-burner prefers same-named files in the working directory over embedded templates: render ours into
	// a private directory and hand it absolute paths.
	dir, err := os.MkdirTemp("", "pyrometer-templates-")
	if err != nil {
		return fmt.Errorf("failed to create the template directory: %w", err)
	}
	r.tmplDir = dir // removed by finalCleanup
	for _, m := range r.cfg.Selection.Modes {
		for name, body := range m.Templates {
			if err := os.WriteFile(filepath.Join(dir, modes.TemplateFile(m, name)), []byte(body), 0o600); err != nil {
				return fmt.Errorf("failed to write template %s: %w", name, err)
			}
		}
	}
	logf, err := os.Create(filepath.Join(r.dir, result.KubeBurnerLog))
	if err != nil {
		return fmt.Errorf("failed to create kube-burner.log: %w", err)
	}
	b, err := r.newBurner(r.env.RestConfig, logf)
	if err != nil {
		return err
	}
	r.burner = b
	return nil
}

// teardown deletes the step namespaces in parallel and waits until they are gone. Every load generator of the run
// has stopped by now (rampStep waits for its kube-burner processes), so nothing re-creates what is deleted here.
func (r *Runner) teardown() result.Phase {
	ph := result.Phase{Name: "teardown", Type: result.PhaseTypeTeardown, Start: time.Now(), Details: map[string]string{}}
	r.phase.Store("teardown")
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TeardownTimeout+30*time.Second)
	defer cancel()
	r.recordEvents(ctx)
	r.cleanupLoads(ctx)     // the engines' objects, by label (churn.go)
	r.deleteHollowPods(ctx) // pods on hollow nodes, which no kubelet finishes (hollow.go)
	r.stopAPF()             // --workers-flowschema: the recovery measures the server without the level (apf.go)
	objs, err := cluster.Find(ctx, r.env.Client, r.env.RunID)
	var stressNS []cluster.Object
	for _, o := range objs {
		if o.Kind == "Namespace" && o.Name != r.probeNS {
			stressNS = append(stressNS, o)
		}
	}
	if err == nil {
		r.logf("teardown: deleting %d namespace(s) and waiting until they are gone (at most %v)", len(stressNS), r.cfg.TeardownTimeout)
		stop := r.progress("teardown", r.probeNS)
		var done []cluster.Object
		done, err = cluster.Delete(ctx, r.env.Client, stressNS, r.cfg.TeardownTimeout)
		stop()
		r.res.Teardown = append(r.res.Teardown, done...)
	}
	ph.End = time.Now()
	ph.Details["namespaces"] = fmt.Sprint(len(stressNS))
	ph.Status = result.StatusPass
	if err != nil {
		ph.Status, ph.RC, ph.Error = result.StatusFail, 1, err.Error()
		r.fail("teardown", err.Error())
	}
	return ph
}

// progress logs, every progressEvery until stop is called, how long what has been waiting and how many of the
// run's namespaces are left, not counting those named in keep (the probe's namespace while the step namespaces
// are torn down): a teardown takes tens of seconds, and after a Ctrl-C nothing else is printed.
func (r *Runner) progress(what string, keep ...string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				left := ""
				ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Probe.RequestTimeout)
				if nss, err := r.env.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(r.env.RunID)}); err == nil {
					n := 0
					for _, ns := range nss.Items {
						if !slices.Contains(keep, ns.Name) {
							n++
						}
					}
					left = fmt.Sprintf(": %d namespace(s) still present", n)
				}
				cancel()
				r.logf("%s: still waiting after %v%s (Ctrl-C again exits at once and leaves them)", what, time.Since(start).Round(time.Second), left)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

var progressEvery = 5 * time.Second

// finalCleanup removes everything of the run (probe namespace, RBAC, whatever a failed or interrupted step left),
// with a fresh context, by the ownership rules of cleanupOwned. No kube-burner process runs any more (see
// rampStep), so one pass suffices.
func (r *Runner) finalCleanup() {
	defer func() {
		if r.tmplDir != "" {
			_ = os.RemoveAll(r.tmplDir)
		}
	}()
	r.teardownHollow() // first: it deletes the run's pods bound to hollow nodes, which no kubelet would finish
	r.stopAPF()        // --workers-flowschema, if the run ended before its teardown (apf.go)
	notes := func(n string) { r.note("cleanup: " + n) }
	if r.engines != nil && len(r.engines.waited) > 0 { // the run ended before teardown: the engines' objects first
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TeardownTimeout)
		r.cleanupLoads(ctx)
		cancel()
	}
	switch {
	case len(r.createdNS) == 0:
		// Nothing was created by this process (its first namespace already existed, or setup failed before):
		// what carries this run id belongs to someone else.
	case r.conflict:
		r.note(fmt.Sprintf("run id %s is also used by another process: only the namespaces this run created were deleted", r.env.RunID))
		r.logf("cleanup: deleting the %d namespace(s) this run created (Ctrl-C again exits at once)", len(r.createdNS))
		objs, err := r.cleanupOwned(notes)
		r.res.Teardown = append(r.res.Teardown, objs...)
		if err != nil {
			r.fail("cleanup", err.Error())
		}
	default:
		r.logf("cleanup: deleting everything left of run %s and waiting until it is gone (at most %v; Ctrl-C again exits at once)", r.env.RunID, r.cfg.TeardownTimeout)
		stop := r.progress("cleanup")
		objs, err := r.cleanupOwned(notes)
		stop()
		r.res.Teardown = append(r.res.Teardown, objs...)
		if err != nil {
			r.fail("cleanup", err.Error()+fmt.Sprintf("; run `kubectl pyrometer cleanup --run-id %s`", r.env.RunID))
			r.logf("cleanup: %v; remove what is left with: kubectl pyrometer cleanup --run-id %s", err, r.env.RunID)
		} else {
			r.logf("cleanup: done (%d object(s) deleted)", len(objs))
		}
	}
}

// createNamespace creates one of the run's namespaces (cluster.CreateNamespace) and copies the pull secrets into it.
// It records what this process created: an existing namespace means another process uses this run id (conflict),
// and the final cleanup then deletes only what is recorded here.
func (r *Runner) createNamespace(ctx context.Context, name, component string) error {
	err := cluster.CreateNamespace(ctx, r.env.Client, cluster.Namespace{Name: name, RunID: r.env.RunID, Component: component, Owner: r.env.Owner})
	if errors.Is(err, cluster.ErrNamespaceExists) {
		r.conflict = true
	}
	if err != nil {
		return err
	}
	r.createdNS = append(r.createdNS, name)
	return cluster.CopyPullSecrets(ctx, r.env.Client, r.env.RunID, cluster.PullSecrets{Names: r.cfg.PullSecrets, Namespace: r.cfg.PullSecretNamespace}, name)
}

func (r *Runner) sink(s probe.Sample) {
	switch {
	case r.onePhase != "":
		s.Phase = r.onePhase
	case s.Source == probe.SourceCluster:
		// by its own timestamp: the log stream lags under load, so the phase current on arrival may be a later one
		s.Phase = r.clock.attribute(s, time.Now())
	case s.Phase == "":
		s.Phase = r.phase.Load().(string)
	}
	r.agg.Add(s)
	if r.tap != nil { // knee.go: the step's judge keeps its samples
		r.tap(s)
	}
	if r.log != nil {
		r.log.Add(s)
	}
	if r.jsonl != nil {
		_ = r.jsonl.Write(s)
	}
}

// openSamples opens the output directory's probe.jsonl for appending; this run's lines start at jsonlStart.
func (r *Runner) openSamples() error {
	var err error
	if r.jsonl, err = result.CreateJSONL(filepath.Join(r.dir, result.SamplesFile)); err != nil {
		return fmt.Errorf("invalid --output-dir: %w", err)
	}
	if st, err := os.Stat(filepath.Join(r.dir, result.SamplesFile)); err == nil {
		r.jsonlStart = st.Size()
	}
	return nil
}

func (r *Runner) addPhase(ph result.Phase) {
	r.appendPhase(ph)
	r.logf("%s: %s (%.1fs)%s", ph.Name, ph.Status, ph.Elapsed().Seconds(), errSuffix(ph.Error))
}

// proberTeardown returns the teardown of the local prober's objects: on a fresh context (the run's may be
// cancelled), at most 30 s, a failure noted in run.json. run and knee defer it before the prober's setup.
func (r *Runner) proberTeardown(prober *probe.Prober) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := prober.Teardown(ctx); err != nil {
			r.note("probe teardown: " + err.Error())
		}
	}
}

// appendPhase records ph in run.json and phases.jsonl, without addPhase's progress line.
func (r *Runner) appendPhase(ph result.Phase) {
	r.res.Phases = append(r.res.Phases, ph)
	_ = result.AppendJSONL(filepath.Join(r.dir, result.PhasesFile), ph)
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}

func (r *Runner) fail(phase, reason string) {
	f := result.Failure{Time: time.Now(), Phase: phase, Reason: reason}
	r.res.Failures = append(r.res.Failures, f)
	if r.dir != "" {
		_ = result.AppendJSONL(filepath.Join(r.dir, result.FailuresFile), f)
	}
}

func (r *Runner) note(n string) { r.res.Notes = append(r.res.Notes, n) }

// snapshot reads the server's histogram; with a phase name it records that phase's server-side figures: the
// difference from prev, the snapshot at the phase's start. When the two snapshots are not one apiserver process's
// traffic (a restart, another replica), or a snapshot is missing, the phase gets no rows and a note saying why.
func (r *Runner) snapshot(ctx context.Context, prev *probe.ServerSnapshot, phase ...string) *probe.ServerSnapshot {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Probe.RequestTimeout)
	defer cancel()
	s, err := probe.SnapshotServer(sctx, r.env.ProbeRC)
	if len(phase) == 0 {
		if err != nil {
			r.note(serverNote(err))
		}
		return s
	}
	drop := func(why string) {
		if r.res.ServerSideNotes == nil {
			r.res.ServerSideNotes = map[string]string{}
		}
		r.res.ServerSideNotes[phase[0]] = why
		r.note(fmt.Sprintf("server-side rows of %s dropped: %s", phase[0], why))
		r.logf("warning: server-side rows of %s dropped: %s", phase[0], why)
	}
	switch {
	case err != nil && prev != nil:
		drop("the snapshot at its end failed: " + err.Error())
	case err != nil || prev == nil:
		// no snapshot at the start either: the first note said why
	case probe.ServerChanged(prev, s) != "":
		drop(probe.ServerChanged(prev, s))
	default:
		r.res.ServerSide[phase[0]] = probe.DiffServer(prev, s)
		r.apfPhase(phase[0], prev, s) // --workers-flowschema: the level's own counts (apf.go)
	}
	if err != nil {
		return nil
	}
	return s
}

// recordEvents writes the events of the run's namespaces to events.jsonl.
func (r *Runner) recordEvents(ctx context.Context) {
	nss, err := r.env.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(r.env.RunID)})
	if err != nil {
		return
	}
	w, err := result.CreateJSONL(filepath.Join(r.dir, result.EventsFile))
	if err != nil {
		return
	}
	defer w.Close()
	for _, ns := range nss.Items {
		evs, err := r.env.Client.CoreV1().Events(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		sort.Slice(evs.Items, func(i, j int) bool { return eventTime(evs.Items[i]).Before(eventTime(evs.Items[j])) })
		for _, e := range evs.Items {
			_ = w.Write(map[string]any{"ts": eventTime(e), "namespace": e.Namespace, "type": e.Type, "reason": e.Reason,
				"object": e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name, "message": e.Message, "count": e.Count,
				"node": e.Source.Host})
		}
	}
}

// eventTime is when an event last happened: events.k8s.io events (the scheduler's) set only EventTime.
func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

// openArtifacts checks the output directory (never append to another run's files: the command checked before
// creating anything; its own files are there), creates it, opens probe.jsonl (the caller closes r.jsonl) and takes
// the cluster's fingerprint: the start of run's and knee's artifacts.
func (r *Runner) openArtifacts(ctx context.Context) error {
	if err := result.CheckOutputDir(r.dir, result.SafetyPlanFile, result.ImageMapFile); err != nil {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("invalid --output-dir: %w", err)
	}
	if err := r.openSamples(); err != nil {
		return err
	}
	r.res.Fingerprint = takeFingerprint(ctx, r.env.Client)
	return nil
}
