package cmd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/compare"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
)

// CompareOptions holds the flags of "kubectl pyrometer compare".
type CompareOptions struct {
	DirA, DirB       string
	Output           string
	FailOnRegression string // "20%" or "20"; empty: never fail
	Alpha            float64

	threshold float64 // parsed FailOnRegression, < 0 when unset
	genericiooptions.IOStreams
}

// NewCompareOptions returns the defaults of "kubectl pyrometer compare".
func NewCompareOptions(streams genericiooptions.IOStreams) *CompareOptions {
	return &CompareOptions{Output: "table", Alpha: 0.05, threshold: -1, IOStreams: streams}
}

// NewCmdCompare returns "kubectl pyrometer compare".
func NewCmdCompare(_ *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCompareOptions(streams)
	cmd := &cobra.Command{
		Use:   "compare DIR_A DIR_B [flags]",
		Short: "Compare the latency of two finished runs, and whether they are comparable",
		Long: `Compare two run directories (written by run, knee or probe --output-dir): per phase and probe kind, the number
of successful local samples and errors (with their share of all requests, timeouts included), p50 and p99 of A
and B (nearest rank, ms), their change in percent, and whether the differences are statistically significant on
the raw samples. Latency: the two-sided Mann-Whitney U test with the normal approximation, tie and continuity
correction, on the successful samples, significant when p < --alpha; with fewer than 8 successful samples on
either side the row says "too few samples". Errors: the two-sided Fisher's exact test of the error ratios (the
two-proportion z-test for very large counts), significant when p < --alpha. Below the table, every difference in
the cluster fingerprint (Kubernetes version, nodes, allocatable) and configuration (modes, settings, flags such
as --steps, --step-duration, --interval, plugin version) is listed, so you see when the runs are not comparable.
Two knee directories: their steps are matched by rate (rows knee@RATE/s), not by step number, and the two knees
are compared above the table.

With --fail-on-regression N%, the exit code is 3 when any phase and kind regressed: every request failed in B
where A had successes; or the error ratio rose significantly by more than N% of A's ratio (any significant rise
from no errors); or p50 or p99 rose significantly by more than N%.`,
		Example: `  # Is this run worse than the last one?
  kubectl pyrometer compare runs/monday runs/tuesday

  # In CI: fail when p50 or p99 got significantly worse by more than 20%
  kubectl pyrometer compare baseline/ current/ --fail-on-regression 20%`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			o.DirA, o.DirB = args[0], args[1]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	compareFormats.addFlag(cmd, &o.Output)
	cmd.Flags().StringVar(&o.FailOnRegression, "fail-on-regression", "", "Exit 3 when the error ratio, p50 or p99 rose significantly by more than this percentage (e.g. 20%), or every request of a kind failed in B.")
	cmd.Flags().Float64Var(&o.Alpha, "alpha", o.Alpha, "Significance level of the Mann-Whitney U test (latency) and of Fisher's exact test (errors).")
	return cmd
}

// Validate checks the flags; it does no I/O.
func (o *CompareOptions) Validate() error {
	if err := compareFormats.validate(&o.Output); err != nil {
		return err
	}
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return fmt.Errorf("invalid --alpha %v: must be between 0 and 1", o.Alpha)
	}
	o.threshold = -1
	if o.FailOnRegression != "" {
		v, err := parsePercent(o.FailOnRegression)
		if err != nil {
			return fmt.Errorf("invalid --fail-on-regression %q: %w", o.FailOnRegression, err)
		}
		o.threshold = v
	}
	return nil
}

func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil {
		return 0, fmt.Errorf("want a percentage such as 20%% or 20")
	}
	if v < 0 || v != v {
		return 0, fmt.Errorf("must be a percentage >= 0")
	}
	return v, nil
}

// Run loads both runs, prints the comparison and returns an error with exit code 3 (exitcode.Regression) on a
// regression.
func (o *CompareOptions) Run() error {
	a, err := compare.Load(o.DirA)
	if err != nil {
		return err
	}
	b, err := compare.Load(o.DirB)
	if err != nil {
		return err
	}
	rep := compare.Compare(a, b, o.Alpha)
	switch o.Output {
	case "table":
		err = compare.WriteTable(o.Out, rep)
	case "markdown":
		err = compare.WriteMarkdown(o.Out, rep)
	default:
		err = report.Write(o.Out, o.Output, rep)
	}
	if err != nil {
		return err
	}
	if o.threshold < 0 {
		return nil
	}
	if g := rep.WorstRegression(o.threshold); g != nil {
		return exitcode.New(exitcode.Regression, fmt.Errorf("regression: %s, more than --fail-on-regression %g%%", g, o.threshold))
	}
	return nil
}
