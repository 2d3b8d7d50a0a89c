package run

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/workers"
)

// --load-from cluster: a step's engine load (modes churn and api) runs in worker pods, an Indexed Job of the
// plugin's own image in the step namespace (pkg/workers), instead of the plugin's process. It keeps the contract of
// the local engines (churn.go): startLoads returns when the load runs (the workers start together at a time the
// plugin wrote), stepLoad.stop ends it and records every load in run.json (the merge of the workers' accounts, with
// a row per worker) and returns why the load was not delivered; a worker that cannot start or dies is named and
// fails the step. A cancel of the step (Ctrl-C, breaker) deletes the Job at once (foreground: the workers get
// SIGTERM and stop their engines), and stop waits until no worker pod is left.

// Load sources (--load-from).
const (
	LoadFromLocal   = result.LoadFromLocal
	LoadFromCluster = result.LoadFromCluster
	LoadFromAuto    = "auto" // local, saying when the client was the limit and how many workers would deliver
)

// WorkersConfig says where the engine load comes from.
type WorkersConfig struct {
	From string // LoadFromLocal ("" too), LoadFromCluster or LoadFromAuto
	N    int    // workers per step with LoadFromCluster
	Max  int    // --max-workers (the figure LoadFromAuto suggests is capped by it)
	// FlowSchema: --workers-flowschema, the workers' requests on a priority level of their own (apf.go).
	FlowSchema bool
}

// clusterLoad is a step's worker Job.
type clusterLoad struct {
	job    *workers.Job
	cfgs   []churn.Config // whole loads (the workers' shares: workers.WorkerConfig)
	window time.Duration
	killed chan struct{} // closed once the Job was deleted after a cancel
	done   chan struct{} // closed by stop: the cancel watcher ends
}

func isWorkerPod(p corev1.Pod) bool { return p.Labels[cluster.ComponentLabel] == workers.Component }

// WorkerSize is the requests (= limits) of each worker pod for loads shared by n workers.
func WorkerSize(loads []modes.Load, n int) (cpuMillis, memoryMi int64) {
	var writes, notes, live float64
	for _, l := range loads {
		writes += l.WriteRate() / float64(n)
		notes += l.WriteRate() * float64(l.Watchers) / float64(n)
		live += float64(l.Population()) / float64(n)
	}
	return workers.Size(writes, notes, live)
}

// startClusterLoads starts the workers of a step and returns when their load starts.
func (r *Runner) startClusterLoads(ctx context.Context, phase, ns string, window time.Duration, loads []modes.Load) (*stepLoad, error) {
	n := r.cfg.Workers.N
	s := &stepLoad{r: r, phase: phase, loads: loads}
	cl := &clusterLoad{window: window, killed: make(chan struct{}), done: make(chan struct{})}
	var names []string
	for _, l := range loads {
		cl.cfgs = append(cl.cfgs, r.engineConfig(l, phase, ns, window))
		names = append(names, l.Mode+" "+l.Kind)
		r.logf("%s: %s, from %d worker pods (each %s)", phase, describeLoad(l), n, describeShare(l, n))
	}
	s.cfgs = cl.cfgs
	cpu, mem := WorkerSize(loads, n)
	jcfg := workers.JobConfig{
		Spec:  workers.Spec{Namespace: ns, Workers: n, Loads: cl.cfgs, Window: window},
		Image: r.cfg.ProbeImage, PullSecrets: r.cfg.PullSecrets, NodeSelector: r.cfg.NodeSelector,
		Labels: cluster.Labels(r.env.RunID, workers.Component), Annotations: cluster.Annotations(r.env.Owner),
		CPUMillis: cpu, MemoryMi: mem, StartTimeout: r.cfg.StepTimeout, Names: names,
	}
	r.logf("%s: starting %d load workers (image %s, %dm CPU and %dMi memory each) in %s", phase, n, r.cfg.ProbeImage, cpu, mem, ns)
	levels := r.levelNames(ctx) // the workers' samples name their priority level by UID (apf.go)
	sink := func(cs churn.Sample) {
		if name, ok := levels[cs.PriorityLevel]; ok {
			cs.PriorityLevel = name
		}
		r.sink(cs.Probe(probe.SourceChurn))
	}
	job, err := workers.Start(ctx, r.env.Client, jcfg, sink)
	cl.job = job
	s.cluster = cl
	if err != nil {
		s.done = true
		r.deleteWorkers(cl)
		var out workers.Outcome
		if job != nil {
			out = job.Outcome()
		}
		s.recordCluster(out, err.Error())
		return nil, err
	}
	go func() { // a cancel of the step (Ctrl-C, breaker) deletes the Job at once: the load stops within 2 s
		select {
		case <-ctx.Done():
			r.deleteWorkers(cl)
			close(cl.killed)
		case <-cl.done:
		}
	}()
	r.logf("%s: %d load workers started at %s", phase, n, job.StartTime().Format("15:04:05.000"))
	return s, nil
}

func describeShare(l modes.Load, n int) string {
	if l.Count > 0 {
		return fmt.Sprintf("about %d objects at %g/s", l.Count/n, l.Rate/float64(n))
	}
	return fmt.Sprintf("%g/s", l.Rate/float64(n))
}

// deleteWorkers deletes a step's Job and waits until its pods are gone (bounded), with a fresh context.
func (r *Runner) deleteWorkers(cl *clusterLoad) {
	if cl.job == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.job.Delete(ctx); err != nil {
		r.note(err.Error())
		r.logf("warning: %v", err)
	}
}

// stopCluster is stop for a step whose load runs in worker pods: it waits for every worker's account (they stop at
// the window's end by themselves), or, after a cancel, for the Job's deletion; then deletes the Job, records every
// load (merged, with a row per worker) and returns why the load was not delivered.
func (s *stepLoad) stopCluster() string {
	cl := s.cluster
	close(cl.done)
	var out workers.Outcome
	select {
	case <-cl.killed: // cancelled: the Job is gone; what the workers sent before counts
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out = cl.job.Wait(ctx)
		cancel()
	default:
		// the workers stop at start + window, then wait for writes in flight and notifications owed
		deadline := cl.job.StartTime().Add(cl.window + s.r.cfg.Probe.RequestTimeout + churn.DefaultNotifyGrace + 30*time.Second)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		out = cl.job.Wait(ctx)
		cancel()
		s.r.deleteWorkers(cl)
	}
	s.recordCluster(out, out.Failure)
	s.reason = result.NotDelivered(s.r.res.Loads, s.phase)
	return s.reason
}

// recordCluster records the step's loads in run.json: merged accounts and per-worker rows; failure (a worker that
// did not start or died) makes every load of the step not delivered.
func (s *stepLoad) recordCluster(out workers.Outcome, failure string) {
	for j, l := range s.loads {
		var res churn.Result
		var rows []result.WorkerRow
		if j < len(out.Results) {
			res, rows = out.Results[j], out.Rows[j]
		}
		ls := result.LoadStepOf(s.phase, l.Mode, s.cfgs[j], res)
		ls.LoadFrom, ls.PerWorker = LoadFromCluster, rows
		if failure != "" {
			ls.Error = strings.TrimPrefix(failure, churn.LoadNotDelivered+": ")
			ls.Verdict.Delivered = false
		}
		s.r.res.Loads = append(s.r.res.Loads, ls)
		d := ls.Delivery
		s.r.logf("%s: %s: %s; %d workers, %d objects created (merged: %d of %d writes delivered, %.1f/s)", s.phase, ls.Name(),
			ls.Verdict, len(rows), res.Objects, d.Delivered, d.Requested, d.DeliveredRate)
	}
}

// suggestWorkers (--load-from auto) says, when a step's load was not delivered because the plugin's own process was
// the limit, how many worker pods would offer the last step's load: K = the last step's writes/s over 80% of the
// writes/s this process delivered (its measured ceiling), capped by --max-workers.
func (r *Runner) suggestWorkers(phase string) {
	if r.cfg.Workers.From != LoadFromAuto {
		return
	}
	var delivered, requested float64
	client := false
	for _, l := range r.res.Loads {
		if l.Phase != phase {
			continue
		}
		delivered += l.Delivery.DeliveredRate
		requested += l.Delivery.RequestedRate
		if !l.Verdict.Delivered && l.Verdict.Limit == churn.LimitClient {
			client = true
		}
	}
	if !client {
		return
	}
	k := SuggestWorkers(r.cfg.Selection.EngineLoads(r.cfg.Steps), delivered, r.cfg.Workers.Max)
	msg := fmt.Sprintf("%s: the client (this process) was the limit: it delivered %.0f of %.0f writes/s requested; "+
		"run with --load-from cluster --workers %d to offer the last step's load from worker pods", phase, delivered, requested, k)
	r.logf("%s", msg)
	r.note(msg)
}

// SuggestWorkers is how many workers offer loads when one process delivers ceiling writes/s: each worker is given
// at most 80% of that ceiling; at least 2, at most max.
func SuggestWorkers(loads []modes.Load, ceiling float64, maxWorkers int) int {
	var need float64
	for _, l := range loads {
		need += l.WriteRate()
	}
	k := 2
	if ceiling > 0 {
		k = max(k, int(math.Ceil(need/(0.8*ceiling))))
	}
	if maxWorkers > 0 {
		k = min(k, maxWorkers)
	}
	return k
}
