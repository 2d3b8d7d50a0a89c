package run

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// The native engines (modes churn and api, pkg/churn) run in each ramp step's namespace during the step's window,
// beside kube-burner's data-plane load: one engine per load of modes.Selection.EngineLoads (step i: churn at
// i x rate). They start on the step's context (a breaker trip or Ctrl-C stops them within a second: no write
// starts after it) and are stopped with the window: Stop, then Wait, so that when rampStep returns none of them
// writes any more. Their samples go to the run's sink as probe samples of source churn (rows churn:* and notify:*);
// their delivered-load accounts go to run.json (Doc.Loads). Their objects are deleted by label (Cleanup) at teardown,
// and again in the final cleanup when the run ended early.

// engineRows are the engine's rows in the statistics, in display order.
var engineRows = func() []probe.Kind {
	var out []probe.Kind
	for _, r := range churn.Rows {
		out = append(out, probe.Kind(r))
	}
	return out
}()

// modeLabel names the mode that created an object.
const modeLabel = "kubepyrometer.io/mode"

// engines is what the run keeps of its engines across steps.
type engines struct {
	writes, watches kubernetes.Interface
	waited          []*churn.Engine // every engine started and waited for: Cleanup deletes their objects
}

// stepLoad is the engines of one ramp step.
type stepLoad struct {
	r      *Runner
	phase  string
	loads  []modes.Load
	cfgs   []churn.Config
	engs   []*churn.Engine
	done   bool
	reason string
	// cluster: the step's load runs in worker pods (--load-from cluster, workers.go) instead of engs
	cluster *clusterLoad
}

// startLoads starts step i's engines in ns for window, on ctx (the step's). nil, nil without an engine mode.
func (r *Runner) startLoads(ctx context.Context, i int, phase, ns string, window time.Duration) (*stepLoad, error) {
	loads := r.cfg.Selection.EngineLoads(i)
	if len(loads) == 0 {
		return nil, nil
	}
	if r.cfg.Workers.From == result.LoadFromCluster { // worker pods of the plugin's image instead (workers.go)
		return r.startClusterLoads(ctx, phase, ns, window, loads)
	}
	if r.engines == nil {
		r.engines = &engines{}
	}
	if r.engines.writes == nil {
		w, wa, err := churn.NewClients(r.env.RestConfig)
		if err != nil {
			return nil, err
		}
		r.engines.writes, r.engines.watches = w, wa
	}
	s := &stepLoad{r: r, phase: phase, loads: loads}
	sink := func(cs churn.Sample) { r.sink(cs.Probe(probe.SourceChurn)) }
	for _, l := range loads {
		cfg := r.engineConfig(l, phase, ns, window)
		e, err := churn.New(cfg, r.engines.writes, r.engines.watches, nil)
		if err == nil {
			err = e.Start(ctx, sink)
		}
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("failed to start the %s load (%s): %w", l.Mode, l.Kind, err)
		}
		s.cfgs, s.engs = append(s.cfgs, e.Config()), append(s.engs, e)
		r.logf("%s: %s", phase, describeLoad(l))
	}
	return s, nil
}

// engineConfig is the engine configuration of load l in step namespace ns (also what the worker pods of
// --load-from cluster share among themselves, workers.go).
func (r *Runner) engineConfig(l modes.Load, phase, ns string, window time.Duration) churn.Config {
	cfg := churn.Config{Namespace: ns, Kind: churn.Kind(l.Kind), Rate: l.Rate, Arrival: churn.Arrival(l.Arrival),
		Lifetime: l.Lifetime, Updates: l.Updates, Size: l.Size, Count: l.Count, Watchers: l.Watchers, Workers: l.Workers, Duration: window,
		RequestTimeout: r.cfg.Probe.RequestTimeout, Labels: cluster.Labels(r.env.RunID, churn.Component),
		NamePrefix: "pyrometer-" + l.Mode, Phase: phase}
	cfg.Labels[modeLabel] = l.Mode // as the templates labelled their objects
	return cfg
}

func describeLoad(l modes.Load) string {
	switch {
	case l.Lifetime == 0:
		return fmt.Sprintf("mode %s: creating %d %ss at %g/s (kept until teardown)", l.Mode, l.Count, l.Kind, l.Rate)
	case l.Workers > 0:
		return fmt.Sprintf("mode %s: %ss started at %g/s by a closed loop of %d workers, living %s with %d update(s); %d watcher(s)",
			l.Mode, l.Kind, l.Rate, l.Workers, l.Lifetime, l.Updates, l.Watchers)
	default:
		return fmt.Sprintf("mode %s: %ss arriving at %g/s (%s), living %s with %d update(s); %d watcher(s)", l.Mode, l.Kind, l.Rate,
			l.Arrival, l.Lifetime, l.Updates, l.Watchers)
	}
}

// stop stops the step's engines and waits until none writes any more (their notifications settled), records their
// accounts in run.json and returns why the load was not delivered ("" when it was). A second call returns the first
// one's answer. Safe on nil.
func (s *stepLoad) stop() string {
	if s == nil || s.done {
		if s == nil {
			return ""
		}
		return s.reason
	}
	s.done = true
	if s.cluster != nil { // --load-from cluster (workers.go)
		return s.stopCluster()
	}
	for _, e := range s.engs {
		e.Stop()
	}
	for j, e := range s.engs {
		res, _ := e.Wait() // context.Canceled only says it was stopped: the window ended, or the step did
		s.r.engines.waited = append(s.r.engines.waited, e)
		ls := result.LoadStepOf(s.phase, s.loads[j].Mode, s.cfgs[j], res)
		s.r.res.Loads = append(s.r.res.Loads, ls)
		s.r.logf("%s: %s: %s; %d objects created, at most %d alive", s.phase, ls.Name(), res.Verdict, res.Objects, res.Delivery.LiveMax)
	}
	s.reason = result.NotDelivered(s.r.res.Loads, s.phase)
	s.r.suggestWorkers(s.phase) // --load-from auto: the client was the limit (workers.go)
	return s.reason
}

// cleanupLoads deletes the objects of every engine of the run, by label, and waits until they are gone (bounded by
// ctx). Engines already cleaned are skipped.
func (r *Runner) cleanupLoads(ctx context.Context) {
	if r.engines == nil {
		return
	}
	var left []*churn.Engine
	for _, e := range r.engines.waited {
		n, err := e.Cleanup(ctx)
		if err != nil {
			r.note("cleanup of the churn objects: " + err.Error())
			left = append(left, e)
			continue
		}
		if n > 0 {
			r.logf("teardown: deleted the %d %s(s) the %s engine left in %s", n, e.Config().Kind, e.Config().NamePrefix, e.Config().Namespace)
		}
	}
	r.engines.waited = left
}
