package safety

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Requirements are what a run asks for; Check decides on them.
type Requirements struct {
	Selection    *modes.Selection
	Steps        int
	Limits       Limits
	NodeSelector map[string]string // where the stress pods may land (the free capacity is read there)
	// StepNamespace is the first ramp step's namespace (what is allowed in it is allowed in every step's).
	StepNamespace string
	// Probe is the probe's configuration: the kinds asked for, Namespace (the probe's own, which the run
	// creates) and ListNamespace.
	Probe probe.Config
	// ExplicitKinds: the kinds were named (--probes), so each must be permitted; otherwise a kind the identity may
	// not use is dropped, with a note.
	ExplicitKinds bool
	// InCluster: --probe-from cluster or both (a Job with its own ServiceAccount and RBAC).
	InCluster bool
	// PullSecrets are copied from PullSecretNamespace into every namespace of the run.
	PullSecrets         []string
	PullSecretNamespace string
	// Hollow: run --hollow-nodes (nil: none); see hollow.go.
	Hollow *HollowRequirements
	// Workers: run --load-from cluster (nil: the engines run in the plugin's process); see workers.go.
	Workers *WorkersRequirements
}

// Result is what a run is admitted on: its plan, what this identity may not do, and the probe kinds it uses.
type Result struct {
	Plan Plan
	// Missing are every access the run needs and is denied, required and optional, in a stable order.
	Missing []authz.Access
	Kinds   []probe.Kind // the probe kinds the run uses
	Notes   []string     // a line per kind dropped, naming what it is not permitted
}

// Required returns the missing accesses that block the run (not the optional ones).
func (r *Result) Required() []authz.Access { return Required(r.Missing) }

// Check decides, reading only (nodes, pods, discovery and SelfSubjectAccessReviews), whether a run may start: the
// probe kinds it may use, every permission it lacks, and its safety plan. The caller refuses the run on a missing
// required permission, and on a blocked plan unless the user lets it through. An error means the check itself
// failed (or the free capacity could not be read for want of permissions: then MissingError).
func Check(ctx context.Context, client kubernetes.Interface, req Requirements) (*Result, error) {
	per, err := stepCost(req.Selection, req.Steps, req.Limits)
	if err != nil {
		return nil, err
	}
	res := &Result{Kinds: req.Probe.Kinds}
	// Kinds asked for by name must be permitted: their missing permissions are listed with all the others.
	if !req.ExplicitKinds {
		if res.Kinds, res.Notes, err = PermittedKinds(ctx, client, req.Probe, false); err != nil {
			return nil, err
		}
	}
	objects, err := TemplateKinds(req.Selection)
	if err != nil {
		return nil, err
	}
	pcfg := req.Probe
	pcfg.Kinds = res.Kinds
	n := runNeeds{StepNamespace: req.StepNamespace, Objects: objects, Pods: per.Pods > 0, Probe: pcfg, InCluster: req.InCluster,
		Engine:      engineAccesses(req.Selection, req.StepNamespace),
		PullSecrets: req.PullSecrets, PullSecretNamespace: req.PullSecretNamespace, Hollow: req.Hollow != nil, Workers: req.Workers != nil,
		WorkersFlowSchema: req.Workers != nil && req.Workers.FlowSchema}
	if res.Missing, err = preflight(ctx, client, n); err != nil {
		return nil, fmt.Errorf("failed to check permissions: %w", err)
	}
	capacity, err := ReadCapacity(ctx, client, req.NodeSelector)
	if err != nil {
		if required := res.Required(); len(required) > 0 {
			return nil, MissingError(required) // the capacity cannot be read without them
		}
		return nil, fmt.Errorf("safety plan: %w", err)
	}
	if res.Plan, err = compute(req.Selection, per, req.Steps, req.Limits, capacity); err != nil {
		return nil, err
	}
	if req.Workers != nil { // workers.go
		checkWorkers(req.Workers, req.Steps, req.Limits, capacity, &res.Plan)
		if req.Workers.FlowSchema {
			if err := checkWorkersAPF(ctx, client, req.Workers, &res.Plan); err != nil {
				if required := res.Required(); len(required) > 0 {
					return nil, MissingError(required) // the FlowSchemas cannot be read without them
				}
				return nil, fmt.Errorf("safety plan: %w", err)
			}
		}
	}
	if req.Hollow != nil { // hollow.go
		if err := checkHollow(ctx, client, req.Hollow, req.Selection, req.Steps, req.Limits, capacity, &res.Plan); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// PermittedKinds returns the kinds of cfg.Kinds (in order) the current identity may use, and a note per kind it may
// not, naming what is missing (`list-cluster: not permitted (list nodes)`). A kind that needs the probe's own
// namespace needs to create it too. With explicit (the kinds were named), a kind not permitted is an error; and so
// is no kind left.
func PermittedKinds(ctx context.Context, client kubernetes.Interface, cfg probe.Config, explicit bool) ([]probe.Kind, []string, error) {
	kinds, notes, err := permitted(ctx, client, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to check permissions: %w", err)
	}
	if slices.ContainsFunc(kinds, probe.Kind.NeedsNamespace) {
		ok, err := authz.Review(ctx, client, []authz.Access{{Verb: "create", Resource: "namespaces"}})
		if err != nil {
			return nil, nil, fmt.Errorf("failed to check permissions: %w", err)
		}
		if !ok[0] {
			var keep []probe.Kind
			for _, k := range kinds {
				if k.NeedsNamespace() {
					notes = append(notes, fmt.Sprintf("%s: not permitted (create namespaces, for the probe's own namespace)", k))
					continue
				}
				keep = append(keep, k)
			}
			kinds = keep
		}
	}
	if explicit && len(notes) > 0 {
		return nil, nil, fmt.Errorf("not permitted: %s", strings.Join(notes, "; "))
	}
	if len(kinds) == 0 {
		return nil, nil, fmt.Errorf("no probe kind is permitted for this identity: %s", strings.Join(notes, "; "))
	}
	return kinds, notes, nil
}

// permitted returns the kinds of cfg.Kinds (in order) whose needs (probe.Kind.Needs) are all granted, reviewing
// each distinct access once, and a note per dropped kind naming what is missing.
func permitted(ctx context.Context, client kubernetes.Interface, cfg probe.Config) ([]probe.Kind, []string, error) {
	var all []authz.Access
	for _, k := range cfg.Kinds {
		all = append(all, k.Needs(cfg)...)
	}
	allowed, err := authz.Review(ctx, client, all)
	if err != nil {
		return nil, nil, err
	}
	var kinds []probe.Kind
	var notes []string
	i := 0
	for _, k := range cfg.Kinds {
		var missing []authz.Access
		for _, a := range k.Needs(cfg) {
			if !allowed[i] {
				missing = append(missing, a)
			}
			i++
		}
		if len(missing) == 0 {
			kinds = append(kinds, k)
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: not permitted (%s)", k, strings.Join(authz.Describe(missing), "; ")))
	}
	return kinds, notes, nil
}

// MissingError lists every missing permission, grouped by resource, one per line.
func MissingError(missing []authz.Access) error {
	var b strings.Builder
	b.WriteString("missing permissions, nothing was created; this identity may not:")
	for _, l := range authz.Describe(missing) {
		b.WriteString("\n  " + l)
	}
	return errors.New(b.String())
}

// WriteText renders the result as safety-plan.txt: the plan, how a blocked plan was let through (proceeded; ""
// when it was not blocked) and the permissions.
func (r *Result) WriteText(w io.Writer, proceeded string) error {
	if err := r.Plan.WriteText(w); err != nil {
		return err
	}
	if proceeded != "" {
		if _, err := fmt.Fprintf(w, "PROCEEDED ANYWAY: %s\n", proceeded); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	return WritePermissions(w, r.Missing)
}
