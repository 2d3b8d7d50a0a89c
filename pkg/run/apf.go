package run

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/workers"
)

// --workers-flowschema: the worker pods' requests on a priority level of their own (pkg/workers apf.go), created
// before the baseline (every phase is measured with it: adding a level takes seats from every other), deleted at
// the teardown (the recovery measures the server as it was) and, whatever happened, by the final cleanup. run.json
// records it (workers.apf) with the apiserver's dispatched/rejected counts of the level per phase.

// apfRun is the run's FlowSchema and priority level.
type apfRun struct {
	objs *workers.APFObjects
	doc  *result.APF
}

// WorkerResources are the resources the engine loads write (configmaps, secrets): the workers' requests whose
// priority level --workers-flowschema copies.
func WorkerResources(loads []modes.Load) []string {
	var out []string
	for _, l := range loads {
		r := "configmaps"
		if l.Kind == "secret" {
			r = "secrets"
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// stepNamespaces are the namespaces the run's steps may use (the FlowSchema's subjects are listed up front).
func (r *Runner) stepNamespaces() []string {
	var out []string
	for i := 1; i <= r.cfg.Steps; i++ {
		out = append(out, cluster.StepNamespace(r.env.RunID, i))
	}
	return out
}

// startAPF records the workers' section of run.json and, with --workers-flowschema, creates the FlowSchema and
// priority level. Call it after the run's first namespace exists (the final cleanup runs only then).
func (r *Runner) startAPF(ctx context.Context) error {
	w := r.cfg.Workers
	if w.From != LoadFromCluster {
		return nil
	}
	r.res.Workers = &result.Workers{LoadFrom: LoadFromCluster, Workers: w.N}
	if !w.FlowSchema {
		return nil
	}
	plan, err := workers.ReadAPF(ctx, r.env.Client, r.env.RunID, r.stepNamespaces(), WorkerResources(r.cfg.Selection.EngineLoads(1)))
	if err != nil {
		return err
	}
	objs, err := workers.CreateAPF(ctx, r.env.Client, plan, r.env.Owner)
	doc := plan.Doc
	r.apf = &apfRun{objs: objs, doc: &doc}
	r.res.Workers.APF = &doc
	if err != nil {
		return err
	}
	r.logf("--workers-flowschema: flowschema and prioritylevelconfiguration %s: the workers' requests (through flowschema %s on level %s until now) "+
		"on a copy of %s (%d shares, %s); the level adds its %d shares to the %d of every level: every other level's nominal seats shrink by %.1f%% until the teardown",
		doc.FlowSchema, doc.CopiedFrom.FlowSchema, doc.CopiedFrom.PriorityLevel, doc.CopiedFrom.PriorityLevel, doc.Spec.NominalConcurrencyShares,
		doc.Spec.LimitResponse, doc.Spec.NominalConcurrencyShares, doc.SharesSum, 100*doc.OthersShrink)
	return nil
}

// stopAPF deletes the FlowSchema and the priority level (what the run created of them; once), with a fresh
// context. The worker pods are gone by now (every step waits for its Job's deletion).
func (r *Runner) stopAPF() {
	if r.apf == nil || r.apf.objs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.apf.objs.Delete(ctx); err != nil {
		r.note("--workers-flowschema: " + err.Error())
		r.logf("warning: --workers-flowschema: %v", err)
		return
	}
	r.apf.objs = nil
	r.logf("--workers-flowschema: flowschema and prioritylevelconfiguration %s deleted", r.apf.doc.FlowSchema)
}

// apfPhase records the apiserver's dispatched and rejected counts of the run's level in phase (between the /metrics
// snapshots before and after, those of the phase's server-side rows).
func (r *Runner) apfPhase(phase string, before, after *probe.ServerSnapshot) {
	if r.apf == nil {
		return
	}
	if d, rej, ok := probe.APFCounts(before, after, r.apf.doc.PriorityLevel); ok {
		r.apf.doc.Phases = append(r.apf.doc.Phases, result.APFPhase{Phase: phase, Dispatched: d, Rejected: rej})
	}
}

// levelNames maps the priority levels' UIDs to their names, for the worker pods' samples: a worker may not list
// priority levels, so its samples carry the UID of the response header (X-Kubernetes-PF-PriorityLevel-UID). Nil
// when this identity may not list them either.
func (r *Runner) levelNames(ctx context.Context) map[string]string {
	lctx, cancel := context.WithTimeout(ctx, r.cfg.Probe.RequestTimeout)
	defer cancel()
	list, err := r.env.Client.FlowcontrolV1().PriorityLevelConfigurations().List(lctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	names := map[string]string{}
	for _, pl := range list.Items {
		names[string(pl.UID)] = pl.Name
	}
	return names
}
