package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

func takeFingerprint(ctx context.Context, c kubernetes.Interface) result.Fingerprint {
	var fp result.Fingerprint
	if v, err := c.Discovery().ServerVersion(); err == nil {
		fp.ServerVersion = v.GitVersion
	} else {
		fp.Error = err.Error()
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		fp.Error = err.Error()
		return fp
	}
	cpu, mem := resource.Quantity{}, resource.Quantity{}
	for _, n := range nodes.Items {
		fp.Nodes++
		for _, cnd := range n.Status.Conditions {
			if cnd.Type == corev1.NodeReady && cnd.Status == corev1.ConditionTrue {
				fp.ReadyNodes++
			}
		}
		cpu.Add(n.Status.Allocatable[corev1.ResourceCPU])
		mem.Add(n.Status.Allocatable[corev1.ResourceMemory])
	}
	fp.AllocatableCPU, fp.AllocatableMem = cpu.String(), mem.String()
	return fp
}

// startClusterProbe runs the in-cluster probe for the whole run (its duration covers every phase at its longest:
// steps stretched by the API flood and by kube-burner's setup and wait, teardown at its timeout); its samples are
// attributed to the measured windows by their timestamps (clusterClock). If it cannot start, the run goes on with
// the local probe (or, cluster only, fails). It says at once when the pod dies during the run. stop, called when the
// measured phases are over, ends the stream and records the pod's health, clock offset and attribution in run.json.
func (r *Runner) startClusterProbe(ctx context.Context, pcfg probe.Config) (stop func()) {
	r.logf("starting the in-cluster probe (image %s)", r.cfg.ProbeImage)
	cctx, cancel := context.WithCancel(ctx)
	cp, err := r.launchClusterProbe(cctx, pcfg, r.clusterProbeDuration())
	if err != nil {
		cancel()
		r.note("in-cluster probe not run: " + err.Error())
		r.fail("setup", err.Error())
		r.logf("warning: %v", err)
		return func() {}
	}
	watched := make(chan struct{})
	warned := false
	go func() {
		defer close(watched)
		select {
		case <-cp.Done():
			if cctx.Err() == nil {
				hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer hcancel()
				r.logf("warning: the in-cluster probe %s: @cluster rows stop there", cp.Health(hctx))
				warned = true
			}
		case <-cctx.Done():
		}
	}()
	return func() {
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer hcancel()
		h := cp.Health(hctx)
		// the samples of the last window still on their way down the log stream
		for deadline := time.Now().Add(5 * time.Second); ctx.Err() == nil && h.Alive && !r.clock.caughtUp() && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		<-watched
		select {
		case <-cp.Done():
		case <-time.After(10 * time.Second):
		}
		rep := r.clock.report()
		rep.Health = &h
		r.res.ClusterProbe = rep
		if !h.Alive {
			n := fmt.Sprintf("in-cluster probe %s %s before the run ended: @cluster rows after that are missing", h.Pod, h)
			r.note(n)
			if !warned {
				r.logf("warning: %s", n)
			}
		}
		for _, n := range cp.Notes() {
			r.note("in-cluster probe said: " + n)
		}
	}
}

// launchClusterProbe starts the in-cluster probe for d in the probe namespace, its samples going to the run's sink
// (tagged SourceCluster). Its objects carry the run's labels and owner: the final cleanup finds them.
func (r *Runner) launchClusterProbe(ctx context.Context, pcfg probe.Config, d time.Duration) (*probe.ClusterProbe, error) {
	ccfg := probe.ClusterProbeConfig{Probe: pcfg, Image: r.cfg.ProbeImage, Duration: d, Name: cluster.ClusterProbeName(r.env.RunID),
		PullSecrets: r.cfg.PullSecrets, NodeSelector: r.cfg.NodeSelector, Annotations: cluster.Annotations(r.env.Owner)}
	ccfg.Probe.Source = probe.SourceCluster
	return probe.StartClusterProbe(ctx, r.env.Client, ccfg, r.sink)
}

// clusterProbeDuration is how long the in-cluster probe must run to outlast the run at its longest: the baseline,
// each step's setup (--step-timeout) and window (stretched by the API flood) and the flood's own bound past it
// (another --step-timeout), teardown (its timeout and event collection), recovery, and a minute of margin. The pod is
// deleted with the run, so a longer bound costs nothing.
func (r *Runner) clusterProbeDuration() time.Duration {
	step := r.window() + 2*r.cfg.StepTimeout
	return r.cfg.Baseline + time.Duration(r.cfg.Steps)*step + r.cfg.TeardownTimeout + 30*time.Second + r.cfg.Recovery + time.Minute
}

// tagStats computes the statistics of every phase, local rows tagged with the phase's name and in-cluster rows with
// name@cluster, and the local probe's scheduling lag per phase (with a note when it lagged).
func (r *Runner) tagStats() []probe.Stats {
	var stats []probe.Stats
	for _, ph := range r.res.Phases {
		for _, src := range []struct{ source, suffix string }{{probe.SourceLocal, ""}, {probe.SourceCluster, "@cluster"}} {
			for _, st := range r.agg.ByKind(src.source, ph.Name) {
				st.Phase = ph.Name + src.suffix
				stats = append(stats, st)
			}
		}
		stats = append(stats, r.agg.ByRows(probe.SourceChurn, ph.Name, engineRows)...) // churn:*, notify:* (churn.go)
	}
	r.res.Stats = stats
	// The probe's own scheduling lag per phase (local probe): a client that lags measures partly itself.
	r.res.ProbeLag = nil
	for _, ph := range r.res.Phases {
		if r.agg.Has(probe.SourceLocal, ph.Name) {
			lag := r.agg.Lag(probe.SourceLocal, ph.Name, r.cfg.Probe.Interval)
			r.res.ProbeLag = append(r.res.ProbeLag, lag)
			if w := lag.Warning(); w != "" {
				r.res.Notes = append(r.res.Notes, w)
			}
		}
	}
	return stats
}

// finish computes statistics, verdicts, recovery and the outcome.
func (r *Runner) finish(interrupted bool) {
	r.res.Samples = r.sampleFile()
	stats := r.tagStats()
	stats = r.podStartupRows(r.pods, stats) // pod-startup rows (density.go), judged by podStartupOutcome
	r.kwokTrafficRows()                     // hollow.traffic: kwok's own writes per phase (kwoktraffic.go)
	r.res.Stats = stats
	// Verdicts on the local probe (the in-cluster rows are reported beside them); no local samples -> in-cluster.
	base := "baseline"
	if !r.agg.Has(probe.SourceLocal, "baseline") {
		base = "baseline@cluster"
	}
	judged := stats
	if base == "baseline" {
		judged = nil
		for _, st := range stats {
			if !strings.HasSuffix(st.Phase, "@cluster") && !isPodRow(st) {
				judged = append(judged, st)
			}
		}
	}
	judged = r.withoutSetup(judged) // the steps' setup sub-phases are reported, not judged (setup.go)
	r.res.Verdicts = result.Verdicts(judged, base, r.cfg.SLOErrorRate)
	if r.agg.Has(probe.SourceLocal, "recovery") && !interrupted {
		var rec []probe.Sample
		for _, s := range r.agg.Samples("recovery") {
			if probe.SourceOf(s) == probe.SourceLocal {
				rec = append(rec, s)
			}
		}
		// The baseline's local samples: the p50 of its successful ones (every kind pooled) and its error count.
		pooled := r.agg.Pooled(probe.SourceLocal, "baseline")
		baseline := result.RecoveryBaseline{P50MS: r.agg.SuccessPercentile(probe.SourceLocal, "baseline", 0.5),
			Count: pooled.Count, Errors: pooled.Errors}
		v := result.RecoveryTime(rec, baseline, result.DefaultRecoveryWindow)
		r.res.Recovery = &v
	}
	r.res.Outcome = result.Decide(r.res.Phases, r.res.Verdicts, interrupted)
	r.podStartupOutcome()
	for _, f := range r.res.Failures {
		if f.Phase == "setup" || f.Phase == "cleanup" {
			r.res.Outcome.Reasons = append(r.res.Outcome.Reasons, f.Phase+": "+f.Reason)
		}
	}
	if len(r.res.Phases) == 0 || r.res.Phases[0].Name != "baseline" {
		r.res.Outcome = result.Outcome{Result: result.ResultFailed, ExitCode: result.ExitFailed, Reasons: r.res.Outcome.Reasons}
	}
}

// writeArtifacts writes a run's documents, and the JSONL files no line was written to, empty.
func (r *Runner) writeArtifacts() error {
	if err := r.writeDocs(result.RunFile, result.SummaryFile, result.ProbeStatsFile, result.ReportFile); err != nil {
		return err
	}
	for _, name := range []string{result.FailuresFile, result.EventsFile, result.PhasesFile} {
		p := filepath.Join(r.dir, name)
		if _, err := os.Stat(p); os.IsNotExist(err) {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return fmt.Errorf("failed to write %s: %w", name, err)
			}
		}
	}
	return nil
}

// writeDocs writes the named documents of the result into the output directory (a probe writes all but
// summary.csv).
func (r *Runner) writeDocs(names ...string) error {
	docs := map[string]func(*os.File) error{
		result.RunFile:        func(f *os.File) error { return r.res.Encode(f) },
		result.SummaryFile:    func(f *os.File) error { return report.WriteSummaryCSV(f, r.res.Phases) },
		result.ProbeStatsFile: func(f *os.File) error { return report.WriteProbeStatsCSV(f, r.res.Stats) },
		result.ReportFile:     func(f *os.File) error { return report.WriteHTMLFrom(f, r.res, r.res.Samples) },
	}
	for _, name := range names {
		fh, err := os.Create(filepath.Join(r.dir, name))
		if err != nil {
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
		if err := docs[name](fh); err != nil {
			fh.Close()
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
		if err := fh.Close(); err != nil {
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
	}
	return nil
}

// sampleFile is this run's part of probe.jsonl as it is now (the in-cluster probe may still append a line
// while the artifacts are written); nil without samples.
func (r *Runner) sampleFile() result.SampleSource {
	if r.agg.Count() == 0 || r.jsonl == nil {
		return nil
	}
	path := filepath.Join(r.dir, result.SamplesFile)
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return result.SampleFile{Path: path, Offset: r.jsonlStart, Limit: st.Size()}
}
