package run

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// kwokTraffic is kwok's own API traffic during a run with hollow nodes (run.json hollow.traffic): its writes counted
// by two watches (hollow.TrafficWatch) from the end of the deployment to the start of the teardown, and the
// FlowSchema its requests fall in.
type kwokTraffic struct {
	watch   *hollow.TrafficWatch
	doc     result.HollowTraffic
	stopped bool
}

const kwokTrafficMethod = "client-side: MODIFIED events of the run's Leases (lease renewals, only kwok renews them) and Nodes " +
	"(kwok's status heartbeats, plus any other controller's rare write) seen by two watches of this process, per whole " +
	"second of each phase; kwok's pod status writes and its reads are not counted; the apiserver has no per-client count"

// startKwokTraffic starts counting kwok's writes once the hollow nodes are Ready (after deployHollow), and records
// the FlowSchema of its requests. Failures are notes: the run goes on.
func (r *Runner) startKwokTraffic(ctx context.Context) {
	if r.hollow == nil || r.res.Hollow == nil {
		return
	}
	t := &kwokTraffic{doc: result.HollowTraffic{Method: kwokTrafficMethod}}
	r.kwok = t
	if fs, err := r.hollow.FlowSchemas(ctx, r.env.Client); err != nil {
		t.doc.FlowSchemaNote = err.Error()
	} else {
		for _, m := range fs {
			t.doc.FlowSchemas = append(t.doc.FlowSchemas, result.FlowSchemaMatch(m))
		}
	}
	w, err := hollow.WatchTraffic(ctx, r.env.Client, r.env.RunID)
	if err != nil {
		t.doc.Note = "kwok's traffic not measured: " + err.Error()
		r.logf("warning: %s", t.doc.Note)
		return
	}
	t.watch = w
}

// stopKwokTraffic ends the count (before the hollow nodes are deleted: their deletion is not kwok's traffic).
func (r *Runner) stopKwokTraffic() {
	if r.kwok == nil || r.kwok.stopped {
		return
	}
	r.kwok.stopped = true
	r.kwok.watch.Stop()
}

// kwokTrafficRows fills run.json's hollow.traffic: per phase the writes seen, their rate, and the apiserver's count of
// lease writes (every client's) for comparison.
func (r *Runner) kwokTrafficRows() {
	if r.kwok == nil || r.res.Hollow == nil {
		return
	}
	r.stopKwokTraffic()
	t := r.kwok
	if t.watch != nil {
		for _, ph := range r.res.Phases {
			if ph.Start.IsZero() || ph.End.IsZero() {
				continue
			}
			leases, nodes := t.watch.Count(ph.Start, ph.End)
			secs := float64(ph.End.Unix() - ph.Start.Unix())
			p := result.HollowTrafficPhase{Phase: ph.Name, Seconds: secs, LeaseRenewals: leases, NodeUpdates: nodes, ServerLeaseWrites: -1}
			if secs > 0 {
				p.WritesPerSecond = math.Round(float64(leases+nodes)/secs*100) / 100
			}
			if rows, ok := r.res.ServerSide[ph.Name]; ok {
				p.ServerLeaseWrites = 0
				for _, row := range rows {
					if row.Verb == "PUT" && row.Resource == "leases" {
						p.ServerLeaseWrites += int(row.Count)
					}
				}
			}
			t.doc.Phases = append(t.doc.Phases, p)
		}
		if errs := t.watch.Errors(); len(errs) > 0 {
			t.doc.Note = fmt.Sprintf("the watches reported %d error(s), the counts may be low: %s", len(errs), strings.Join(errs, "; "))
		}
	}
	doc := t.doc
	r.res.Hollow.Traffic = &doc
}
