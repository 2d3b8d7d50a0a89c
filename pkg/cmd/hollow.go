package cmd

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
)

// HollowFlags are run's and plan's --hollow-nodes flags.
type HollowFlags struct {
	HollowNodes    int
	MaxHollowNodes int
	PodsPerNode    int // --hollow-pods-per-node: each hollow node's pod capacity (maxPods)
}

func defaultHollowFlags() HollowFlags {
	return HollowFlags{MaxHollowNodes: hollow.MaxNodes, PodsPerNode: 110}
}

func (h *HollowFlags) addHollowFlags(f *pflag.FlagSet) {
	f.IntVar(&h.HollowNodes, "hollow-nodes", 0, "Deploy kwok and this many hollow (fake) nodes before the baseline; every phase measures with them, all deleted at the end.")
	f.IntVar(&h.MaxHollowNodes, "max-hollow-nodes", h.MaxHollowNodes, fmt.Sprintf("Safety limit: most --hollow-nodes (at most %d: one kwok controller).", hollow.MaxNodes))
	f.IntVar(&h.PodsPerNode, "hollow-pods-per-node", h.PodsPerNode, "Pod capacity (maxPods) of each hollow node.")
}

// validateHollow checks the hollow flags (no I/O).
func (h *HollowFlags) validateHollow() error {
	switch {
	case h.MaxHollowNodes < 1 || h.MaxHollowNodes > hollow.MaxNodes:
		return fmt.Errorf("invalid --max-hollow-nodes %d: must be between 1 and %d (one kwok controller)", h.MaxHollowNodes, hollow.MaxNodes)
	case h.HollowNodes < 0:
		return fmt.Errorf("invalid --hollow-nodes %d: must be 0 (none) or more", h.HollowNodes)
	case h.HollowNodes > h.MaxHollowNodes:
		return fmt.Errorf("invalid --hollow-nodes %d: above --max-hollow-nodes %d", h.HollowNodes, h.MaxHollowNodes)
	case h.PodsPerNode < 1 || h.PodsPerNode > 10000:
		return fmt.Errorf("invalid --hollow-pods-per-node %d: must be between 1 and 10000", h.PodsPerNode)
	}
	return nil
}

// OnParameter is the choice parameter of a mode (density's, and any --plugins mode's) saying where its pods go
// relative to the run's hollow nodes: auto, hollow, real or any (plugins.yaml); set as --<mode>-on or --set
// <mode>.on=VALUE. auto: hollow with --hollow-nodes, else real.
const OnParameter = "on"

// placements is, for every selected mode with an `on` parameter, where its pods go (run.OnHollow, OnReal, OnAny;
// auto resolved).
func (o *RunOptions) placements() map[string]string {
	out := map[string]string{}
	if o.selection == nil {
		return out
	}
	for _, m := range o.selection.Modes {
		p := m.Parameter(OnParameter)
		if p == nil || p.Type != modes.TypeChoice {
			continue
		}
		on := p.Format(o.selection.Settings[m.Name][OnParameter])
		if on != run.OnHollow && on != run.OnReal && on != run.OnAny { // auto
			on = run.OnReal
			if o.HollowNodes > 0 {
				on = run.OnHollow
			}
		}
		out[m.Name] = on
	}
	return out
}

// validateOn refuses a mode placed on hollow nodes (on: hollow or any) without --hollow-nodes.
func (o *RunOptions) validateOn() error {
	pl := o.placements()
	for _, m := range slices.Sorted(maps.Keys(pl)) {
		if on := pl[m]; o.HollowNodes == 0 && (on == run.OnHollow || on == run.OnAny) {
			return fmt.Errorf("invalid --%s-%s %s: needs --hollow-nodes", m, OnParameter, on)
		}
	}
	return nil
}

// hollowRequirements is the hollow part of the safety requirements (nil without --hollow-nodes).
func (o *RunOptions) hollowRequirements() *safety.HollowRequirements {
	if o.HollowNodes == 0 {
		return nil
	}
	h := &safety.HollowRequirements{Nodes: o.HollowNodes, Max: o.MaxHollowNodes, RunID: o.RunID, PodsPerNode: o.PodsPerNode}
	pl := o.placements()
	for _, m := range slices.Sorted(maps.Keys(pl)) {
		if pl[m] == run.OnHollow {
			h.OnHollow = append(h.OnHollow, m)
		}
	}
	return h
}

// hollowConfig sets the run's hollow nodes and placement.
func (o *RunOptions) hollowConfig(cfg *run.Config) {
	if o.HollowNodes > 0 {
		cfg.Hollow = &run.HollowConfig{Nodes: o.HollowNodes, PodsPerNode: o.PodsPerNode}
	}
	cfg.On = o.placements()
}

// hollowImages is kwok's image when the run deploys it (for image-map.txt).
func (o *RunOptions) hollowImages() []string {
	if o.HollowNodes == 0 {
		return nil
	}
	return []string{hollow.DefaultImage}
}

// findHollow adds what hollow.Find finds of runID (every run's when empty) to objs, leaving out what objs has.
func findHollow(ctx context.Context, client kubernetes.Interface, runID string, objs []cluster.Object, notes func(string)) ([]cluster.Object, error) {
	found, err := hollow.Find(ctx, client, runID, notes)
	if err != nil {
		return objs, err
	}
	have := map[string]bool{}
	for _, o := range objs {
		have[o.Kind+"/"+o.Namespace+"/"+o.Name] = true
	}
	for _, o := range found {
		if !have[o.Kind+"/"+o.Namespace+"/"+o.Name] {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// cleanupHollow deletes the hollow nodes, leases and kwok of the runs of objs (hollow.Cleanup, in its order: pods on
// hollow nodes, nodes and kwok, then the rest) before the rest of objs is deleted, and returns what it deleted.
func cleanupHollow(ctx context.Context, client kubernetes.Interface, objs []cluster.Object, wait time.Duration) ([]cluster.Object, []cluster.Object, error) {
	runs := map[string]bool{}
	for _, o := range objs {
		if o.Kind == "Node" && o.RunID != "" {
			runs[o.RunID] = true
		}
	}
	if len(runs) == 0 {
		return nil, objs, nil
	}
	var done []cluster.Object
	var errs []string
	for id := range runs {
		d, err := hollow.Cleanup(ctx, client, id, wait)
		done = append(done, d...)
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	gone := map[string]bool{}
	for _, o := range done {
		gone[o.Kind+"/"+o.Namespace+"/"+o.Name] = true
	}
	var rest []cluster.Object
	for _, o := range objs {
		if !gone[o.Kind+"/"+o.Namespace+"/"+o.Name] {
			rest = append(rest, o)
		}
	}
	if len(errs) > 0 {
		return done, rest, fmt.Errorf("hollow nodes: %s", strings.Join(errs, "; "))
	}
	return done, rest, nil
}

// writePodStartup prints the pod startup section of a run (nothing when it has none).
func writePodStartup(w io.Writer, doc *result.Doc) error {
	if line := report.HollowLine(doc.Hollow); line != "" {
		fmt.Fprintf(w, "\n%s\n", line)
	}
	if rows := report.KwokTrafficRows(doc.Hollow); len(rows) > 0 {
		fmt.Fprintf(w, "\n%s\n", report.KwokTrafficTitle)
		t := report.NewTable(w, report.KwokTrafficHeader()...)
		if err := t.Bulk(rows); err != nil {
			return err
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, n := range report.KwokTrafficNotes(doc.Hollow) {
		fmt.Fprintln(w, n)
	}
	rows := report.PodStartupRows(doc.PodStartup)
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n%s\n", report.PodStartupTitle)
	t := report.NewTable(w, report.PodStartupHeader()...)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}
