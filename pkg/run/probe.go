package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// ProbePhase is the one phase of `kubectl pyrometer probe` (its in-cluster rows: ProbePhase+"@cluster").
const ProbePhase = "probe"

// ProbeConfig is a resolved `kubectl pyrometer probe`: a run of one measured phase, ProbePhase, without stress.
type ProbeConfig struct {
	Probe      probe.Config // the permitted kinds, interval, request timeout, list namespace; namespace and labels are set here
	Duration   time.Duration
	ProbeFrom  string // local, cluster, both
	ProbeImage string
	OutputDir  string // "": no artifacts
	// KeepSamples keeps, without OutputDir, a compact log of the samples for the terminal's sparklines.
	KeepSamples bool
	Notes       []string // said before the probe started (kinds dropped as not permitted)
	// Progress, when set, is started with the samples' running statistics when probing starts and stopped when it
	// ends (the command's progress line).
	Progress func(*probe.Aggregate) (stop func())
}

// Probe runs `kubectl pyrometer probe` as a one-phase run, with the run's code: its namespace (only when a kind or
// the in-cluster probe needs one), the local prober and the in-cluster probe, the server-side snapshots, the
// statistics split into local and @cluster rows, the final cleanup by the run's ownership rules, and, with an
// output directory, the artifacts (probe.jsonl, probe-stats.csv, run.json, report.html).
//
// The result is nil when the probe failed (nothing measured, setup failed; the error says why, with a failed
// cleanup's error joined). Otherwise the error is the cleanup's, if it failed: the result is still worth printing.
func Probe(ctx context.Context, pc ProbeConfig, env Env, version version.Info) (*result.Doc, error) {
	r := newProbeRunner(pc, env, version)
	if r.dir != "" {
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			return nil, fmt.Errorf("invalid --output-dir: %w", err)
		}
		if err := r.openSamples(); err != nil {
			return nil, err
		}
		defer r.jsonl.Close()
	} else if pc.KeepSamples {
		r.log = &result.SampleLog{}
	}
	needNS := pc.ProbeFrom != "local" || slices.ContainsFunc(pc.Probe.Kinds, probe.Kind.NeedsNamespace)
	if needNS {
		env.Identify(ctx)
	}

	runErr := r.probeOnce(ctx, pc, needNS)
	// Clean up before anything is printed: a closed stdout (| head) must not leave the run's objects behind.
	cleanErr := r.probeCleanup()
	if runErr != nil {
		return nil, errors.Join(runErr, cleanErr)
	}
	r.finishProbe()
	if r.dir != "" {
		if err := r.writeDocs(result.RunFile, result.ProbeStatsFile, result.ReportFile); err != nil {
			return nil, errors.Join(err, cleanErr)
		}
	}
	return r.res, cleanErr
}

// newProbeRunner prepares the one-phase run of a probe; nothing is created, in the cluster or on disk.
func newProbeRunner(pc ProbeConfig, env Env, version version.Info) *Runner {
	if env.Log == nil {
		env.Log = io.Discard
	}
	r := &Runner{cfg: Config{Probe: pc.Probe, ProbeFrom: pc.ProbeFrom, ProbeImage: pc.ProbeImage, OutputDir: pc.OutputDir,
		TeardownTimeout: 2 * time.Minute},
		env: env, dir: pc.OutputDir, probeNS: env.ProbeNamespace(), agg: probe.NewAggregate(), clock: newClusterClock(),
		onePhase: ProbePhase}
	r.agg.TrackProgress()
	r.phase.Store(ProbePhase)
	kinds := make([]string, 0, len(pc.Probe.Kinds))
	for _, k := range pc.Probe.Kinds {
		kinds = append(kinds, string(k))
	}
	r.res = &result.Doc{Command: result.CommandProbe, Version: version, RunID: env.RunID, Server: env.RestConfig.Host, Start: time.Now(),
		Flags:      map[string]string{"duration": pc.Duration.String(), "interval": pc.Probe.Interval.String(), "probes": strings.Join(kinds, ", ")},
		ServerSide: map[string][]probe.ServerStat{}, Notes: slices.Clone(pc.Notes), OutputDir: pc.OutputDir}
	return r
}

// finishProbe completes the document of a probe that measured: its end, samples and outcome.
func (r *Runner) finishProbe() {
	r.res.End = r.res.Phases[0].End
	r.res.Samples = r.sampleFile()
	if r.log != nil && r.log.Len() > 0 {
		r.res.Samples = r.log
	}
	r.res.Outcome = result.Outcome{Result: result.ResultMeasured,
		Reasons: []string{"a probe applies no load and has no baseline to judge against: read the statistics"}}
}

// probeOnce measures the one phase: in-cluster probe (for the phase's duration, every sample the phase's), then the
// local prober, then the statistics.
func (r *Runner) probeOnce(ctx context.Context, pc ProbeConfig, needNS bool) error {
	pcfg := r.probeConfig()
	if needNS {
		if err := r.createNamespace(ctx, r.probeNS, "probe"); err != nil {
			return err
		}
	}
	snap := r.snapshot(ctx, nil)
	var cp *probe.ClusterProbe
	if pc.ProbeFrom != "local" {
		r.searchAll = true // the in-cluster probe's objects (RBAC, Job) may exist: the cleanup searches by label too
		fmt.Fprintf(r.env.Log, "starting the in-cluster probe (image %s) in namespace %s\n", r.cfg.ProbeImage, r.probeNS)
		var err error
		if cp, err = r.launchClusterProbe(ctx, pcfg, pc.Duration); err != nil {
			if pc.ProbeFrom == "cluster" {
				return err
			}
			r.note("in-cluster probe not run: " + err.Error())
			fmt.Fprintf(r.env.Log, "warning: %v; continuing with the local probe\n", err)
		}
	}
	stop := func() {}
	if pc.Progress != nil {
		stop = pc.Progress(r.agg)
	}
	ph := result.Phase{Name: ProbePhase, Type: result.PhaseTypeProbe, Start: r.res.Start, Status: result.StatusPass}
	var local error
	if pc.ProbeFrom != "cluster" {
		prober, err := probe.New(pcfg, r.env.ProbeClient, r.env.ProbeRC, nil)
		if err != nil {
			stop()
			return err
		}
		fmt.Fprintf(r.env.Log, "probing %s for %v (%s every %v)\n", r.env.RestConfig.Host, pc.Duration, r.res.Flags["probes"], pcfg.Interval)
		if err := prober.Setup(ctx); err != nil {
			stop()
			_ = prober.Teardown(context.Background())
			return fmt.Errorf("probe setup failed: %w", err)
		}
		local = prober.Run(ctx, ProbePhase, pc.Duration, r.sink)
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := prober.Teardown(tctx); err != nil {
			r.note("probe teardown: " + err.Error())
		}
		cancel()
	}
	if cp != nil {
		wctx, cancel := context.WithTimeout(ctx, pc.Duration+2*pcfg.RequestTimeout+time.Minute)
		if err := cp.Wait(wctx); err != nil && ctx.Err() == nil {
			r.note(err.Error())
		}
		cancel()
	}
	stop()
	if local != nil && ctx.Err() == nil {
		return local
	}
	if snap != nil {
		r.snapshot(ctx, snap, ProbePhase)
	}
	return r.endProbe(ph, pc.ProbeFrom)
}

// endProbe records the phase ph (ending with its last sample) and its statistics; it fails when no samples were
// taken (or no local ones, when the local probe ran).
func (r *Runner) endProbe(ph result.Phase, from string) error {
	ph.End = ph.Start
	if last := r.agg.Last(); last.After(ph.End) {
		ph.End = last
	}
	r.res.Phases = []result.Phase{ph}
	r.tagStats()
	hasLoc, hasClu := r.agg.Has(probe.SourceLocal, ProbePhase), r.agg.Has(probe.SourceCluster, ProbePhase)
	if !hasLoc && !hasClu || from != "cluster" && !hasLoc {
		return errors.New("no samples were taken")
	}
	return nil
}

// probeCleanup deletes what the probe created (cleanupOwned: the run's ownership rules), saying what it removed, or
// how to remove what is left.
func (r *Runner) probeCleanup() error {
	objs, err := r.cleanupOwned(func(n string) { fmt.Fprintf(r.env.Log, "note: cleanup: %s\n", n) })
	if err != nil {
		fmt.Fprintf(r.env.Log, "cleanup of run %s incomplete: %v\nrun: kubectl pyrometer cleanup --run-id %s\n", r.env.RunID, err, r.env.RunID)
		return fmt.Errorf("cleanup of run %s failed: %w", r.env.RunID, err)
	}
	if len(objs) > 0 {
		fmt.Fprintf(r.env.Log, "removed %d object(s) of run %s\n", len(objs), r.env.RunID)
	}
	return nil
}

// serverNote says why the server-side latency was not collected.
func serverNote(err error) string {
	if apierrors.IsForbidden(err) {
		return "server-side latency not collected: GET /metrics is forbidden for this identity"
	}
	return "server-side latency not collected: " + err.Error()
}

// cleanupOwned deletes what this process created of the run and waits until it is gone (at most the teardown
// timeout), with a fresh context (ctx may be cancelled). The ownership rules:
//   - nothing created (the first namespace existed already, or setup failed before): nothing is deleted, what
//     carries the run id belongs to someone else;
//   - a conflict (a namespace of this run id existed: another process uses the same run id): only the namespaces
//     this process created;
//   - else the namespaces it created, always (also when the identity may not list namespaces), and, when searchAll,
//     everything else labelled with the run id (RBAC, what templates created elsewhere); kinds the identity may not
//     list are skipped with a note.
func (r *Runner) cleanupOwned(notes func(string)) ([]cluster.Object, error) {
	if len(r.createdNS) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TeardownTimeout+time.Minute)
	defer cancel()
	var objs []cluster.Object
	for _, n := range r.createdNS {
		objs = append(objs, cluster.Object{Kind: "Namespace", Name: n, RunID: r.env.RunID})
	}
	opts := []cluster.Option{cluster.WithKinds(r.env.Dynamic, r.env.Kinds), cluster.WithNotes(notes)}
	if r.searchAll && !r.conflict {
		found, err := cluster.Find(ctx, r.env.Client, r.env.RunID, opts...)
		if err != nil {
			return nil, err
		}
		// what was found, and the namespaces this process created that the search could not see (listing
		// namespaces forbidden) but that still exist (the teardown deleted the step namespaces already)
		objs = found
		for _, n := range r.createdNS {
			if slices.ContainsFunc(found, func(o cluster.Object) bool { return o.Kind == "Namespace" && o.Name == n }) {
				continue
			}
			if _, err := r.env.Client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				objs = append(objs, cluster.Object{Kind: "Namespace", Name: n, RunID: r.env.RunID})
			}
		}
	}
	if len(objs) == 0 {
		return nil, nil
	}
	return cluster.Delete(ctx, r.env.Client, objs, r.cfg.TeardownTimeout, opts...)
}
