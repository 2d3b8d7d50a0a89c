package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// HollowConfig is --hollow-nodes: kwok and N hollow nodes deployed before the baseline (pkg/hollow), so that every
// phase measures the control plane with them (their lease renewals and status updates are part of the load).
type HollowConfig struct {
	Nodes       int
	PodsPerNode int    // each node's pod capacity (0: 110)
	Image       string // kwok's image before --image-map ("": hollow.DefaultImage)
	// ReadyTimeout bounds the wait for kwok and every node to be Ready (0: 2 minutes).
	ReadyTimeout time.Duration
}

// deployHollow deploys kwok (in the run's probe namespace, which exists by now) and the hollow nodes, and waits
// until they are Ready. The deployment is recorded in r.hollow even when it fails, so that finalCleanup removes
// whatever was created (also after Ctrl-C or a panic).
func (r *Runner) deployHollow(ctx context.Context) error {
	hc := r.cfg.Hollow
	if hc == nil || hc.Nodes == 0 {
		return nil
	}
	opts := hollow.Options{RunID: r.env.RunID, Namespace: r.probeNS, Owner: r.env.Owner, Nodes: hc.Nodes,
		PodsPerNode: hc.PodsPerNode, Image: hc.Image, ImageMap: r.cfg.ImageMap, ImagePullSecrets: r.cfg.PullSecrets}
	r.logf("hollow nodes: deploying kwok and %d hollow node(s) (taint %s=%s); every phase, the baseline included, measures with them",
		hc.Nodes, hollow.TaintKey, r.env.RunID)
	// 2N creates (and, at the end, the deletes) at 50 QPS instead of client-go's default 5: before the baseline,
	// so this burst is not measured; 1000 nodes take ~40 s instead of ~4 minutes.
	client, _, err := r.env.Bulk()
	if err != nil {
		return err
	}
	h, err := hollow.Deploy(ctx, client, opts)
	r.hollow = h
	if err != nil {
		return err
	}
	timeout := hc.ReadyTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	start := time.Now()
	if err := h.WaitReady(ctx, timeout); err != nil {
		return err
	}
	r.res.Hollow = &result.Hollow{Nodes: hc.Nodes, PodsPerNode: opts.PodsPerNode, Controller: r.probeNS + "/" + h.ControllerName(),
		Taint: hollow.TaintKey + "=" + r.env.RunID + ":NoSchedule", ReadySeconds: time.Since(start).Seconds()}
	if r.res.Hollow.PodsPerNode == 0 {
		r.res.Hollow.PodsPerNode = 110
	}
	r.logf("hollow nodes: %d Ready after %.1fs (kwok %s in %s)", hc.Nodes, time.Since(start).Seconds(), h.ControllerName(), r.probeNS)
	return nil
}

// teardownHollow deletes the hollow nodes, their leases and kwok (by label), after the run's pods are gone or
// deleted; with a fresh bounded context. Called by finalCleanup, so also after Ctrl-C, the breaker or a panic.
func (r *Runner) teardownHollow() {
	if r.hollow == nil {
		return
	}
	r.stopKwokTraffic() // their deletion is not kwok's traffic (kwoktraffic.go)
	r.logf("cleanup: deleting the %d hollow node(s), their leases and kwok (at most %v)", len(r.hollow.Nodes()), r.cfg.TeardownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TeardownTimeout+30*time.Second)
	defer cancel()
	objs, err := r.hollow.Teardown(ctx, r.cfg.TeardownTimeout)
	r.res.Teardown = append(r.res.Teardown, objs...)
	if err != nil {
		r.fail("cleanup", fmt.Sprintf("hollow nodes: %v; run `kubectl pyrometer cleanup --run-id %s`", err, r.env.RunID))
		return
	}
	r.hollow = nil
}

// deleteHollowPods deletes the run's pods on its hollow nodes at once (grace period 0) before the step namespaces
// are deleted: their deletion would otherwise wait for kwok to finish each pod (minutes for thousands). It takes at
// most half the teardown's time (an overloaded apiserver deleted 25 pods/s at 1000 nodes x 10 pods), leaving the rest
// to the namespaces' deletion and the final cleanup.
func (r *Runner) deleteHollowPods(ctx context.Context) {
	if r.hollow == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.TeardownTimeout/2)
	defer cancel()
	if err := r.hollow.DeletePods(ctx); err != nil {
		r.note("teardown: pods on hollow nodes: " + err.Error())
	}
}

// hollowPlacement is where a mode with `on` puts its pods on this run's hollow nodes (nil without hollow nodes).
func (r *Runner) hollowPlacement() *modes.Placement {
	if r.cfg.Hollow == nil || r.cfg.Hollow.Nodes == 0 {
		return nil
	}
	return &modes.Placement{NodeSelector: hollow.NodeSelector(r.env.RunID), Toleration: hollow.Toleration(r.env.RunID)}
}

// placement is where each mode named in Config.On puts its pods relative to the hollow nodes (StepJobs).
func (r *Runner) placement() map[string]*modes.Placement {
	base := r.hollowPlacement()
	if base == nil {
		return nil
	}
	out := map[string]*modes.Placement{}
	for mode, on := range r.cfg.On {
		switch on {
		case OnHollow, OnAny:
			pl := *base
			pl.Select = on == OnHollow
			out[mode] = &pl
		}
	}
	return out
}

// ownsQPS says whether the job's mode has its own qps parameter (created at that rate, not at --qps).
func (r *Runner) ownsQPS(job string) bool {
	for _, m := range r.cfg.Selection.Modes {
		if strings.HasPrefix(job, m.Name+"-step") {
			return m.Parameter("qps") != nil
		}
	}
	return false
}

// Where a mode's pods go relative to the hollow nodes (Config.On).
const (
	OnHollow = "hollow" // only on the run's hollow nodes
	OnReal   = "real"   // never on them
	OnAny    = "any"    // on either
)
