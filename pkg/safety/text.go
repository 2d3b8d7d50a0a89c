package safety

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
)

// maxExcludedShown bounds the excluded nodes listed in the text (large clusters have thousands).
const maxExcludedShown = 10

// WriteText renders the plan as safety-plan.txt: what the run creates per step and in total, the limits and the
// free capacity, each check OK or BLOCKED, and a final verdict line.
func (p Plan) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("SAFETY PLAN: %d cumulative ramp step(s); each adds the load below in a namespace of its own\n\n", p.Steps)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, r := range [][3]string{
		{"", "PER STEP", "TOTAL"},
		{"namespaces", fmt.Sprint(p.PerStep.Namespaces), fmt.Sprint(p.Total.Namespaces) + " (with the probe's)"},
		{"objects", fmt.Sprint(p.PerStep.Objects), fmt.Sprint(p.Total.Objects)},
		{"pods", fmt.Sprint(p.PerStep.Pods), fmt.Sprint(p.Total.Pods)},
		{"cpu requests", fmt.Sprintf("%dm", p.PerStep.CPUMillis), fmt.Sprintf("%dm", p.Total.CPUMillis)},
		{"memory requests", fmt.Sprintf("%dMi", p.PerStep.MemoryMi), fmt.Sprintf("%dMi", p.Total.MemoryMi)},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ew.printf("\nLIMITS\n")
	if err := report.KeyValues(ew, [][2]string{
		{"--max-pods", fmt.Sprint(p.MaxPods)},
		{"--max-namespaces", fmt.Sprint(p.MaxNamespaces)},
		{"--max-objects-per-step", fmt.Sprint(p.MaxObjectsPerStep)},
	}); err != nil {
		return err
	}

	ew.printf("\nFREE CAPACITY on %s, after the requests of the pods already there\n", p.Capacity.where())
	if err := report.KeyValues(ew, [][2]string{
		{"cpu", fmt.Sprintf("%dm", p.Capacity.CPUMillis) + p.Capacity.most(func(n NodeFree) int64 { return n.CPUMillis }, "m")},
		{"memory", fmt.Sprintf("%dMi", p.Capacity.MemoryMi) + p.Capacity.most(func(n NodeFree) int64 { return n.MemoryMi }, "Mi")},
		{"pod slots", fmt.Sprint(p.Capacity.Pods) + p.Capacity.most(func(n NodeFree) int64 { return n.Pods }, "")},
	}); err != nil {
		return err
	}
	if n := len(p.Excluded); n > 0 {
		ew.printf("excluded nodes (%d):\n", n)
		for i, e := range p.Excluded {
			if i == maxExcludedShown {
				ew.printf("  ... and %d more\n", n-maxExcludedShown)
				break
			}
			ew.printf("  %s\n", e)
		}
	}

	p.writeHollow(ew) // --hollow-nodes (hollow.go)
	ew.printf("\nCHECKS\n")
	for _, c := range p.Checks {
		status := "OK"
		if !c.OK {
			status = "BLOCKED"
		}
		ew.printf("%-8s %s\n", status, c.Message)
	}
	ew.printf("\n%s\n", p.Verdict())
	return ew.err
}

// most is " (most on one node: 1500m on node-a)" when the capacity is spread over several nodes (the fit check
// packs onto each node), "" otherwise.
func (c Capacity) most(get func(NodeFree) int64, unit string) string {
	if len(c.PerNode) < 2 {
		return ""
	}
	best := c.PerNode[0]
	for _, n := range c.PerNode[1:] {
		if get(n) > get(best) {
			best = n
		}
	}
	return fmt.Sprintf(" (most on one node: %d%s on %s)", get(best), unit, best.Name)
}

// Verdict is the plan's final line, e.g. "VERDICT: BLOCKED by cpu, pod-slots".
func (p Plan) Verdict() string {
	if !p.Blocked {
		return "VERDICT: ALLOWED: within every limit and the free capacity"
	}
	var names []string
	for _, c := range p.Failed() {
		names = append(names, c.Name)
	}
	return "VERDICT: BLOCKED by " + strings.Join(names, ", ")
}

// errWriter keeps the first write error, so the text is written without an error check per line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { _, _ = fmt.Fprintf(e, format, a...) }

// WritePermissions renders the preflight's result: every required permission granted, or what is missing (MISSING
// blocks the run, OPTIONAL does not).
func WritePermissions(w io.Writer, missing []authz.Access) error {
	ew := &errWriter{w: w}
	ew.printf("PERMISSIONS (SelfSubjectAccessReview)\n")
	var optional []authz.Access
	for _, m := range missing {
		if m.Optional {
			optional = append(optional, m)
		}
	}
	required := Required(missing)
	if len(required) == 0 {
		ew.printf("OK       every permission the run needs is granted\n")
	}
	for _, l := range authz.Describe(required) {
		ew.printf("MISSING  %s\n", l)
	}
	for _, l := range authz.Describe(optional) {
		ew.printf("OPTIONAL %s\n", l)
	}
	return ew.err
}
