package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// ReportOptions re-renders a finished run from its directory.
type ReportOptions struct {
	Dir    string
	Output string

	genericiooptions.IOStreams
}

// NewReportOptions returns the defaults of `kubectl pyrometer report`.
func NewReportOptions(s genericiooptions.IOStreams) *ReportOptions {
	return &ReportOptions{Output: "table", IOStreams: s}
}

// NewCmdReport returns `kubectl pyrometer report DIR`.
func NewCmdReport(_ *genericclioptions.ConfigFlags, s genericiooptions.IOStreams) *cobra.Command {
	o := NewReportOptions(s)
	cmd := &cobra.Command{
		Use:   "report DIR [flags]",
		Short: "Re-render a finished run or probe from its directory (run.json, probe.jsonl)",
		Example: `  # The tables run printed
  kubectl pyrometer report pyrometer-20250102-030405

  # The self-contained HTML report, to a file
  kubectl pyrometer report pyrometer-20250102-030405 -o html > report.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.Dir = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	reportFormats.addFlag(cmd, &o.Output)
	return cmd
}

// Validate checks the flags; it does not read the directory.
func (o *ReportOptions) Validate() error {
	if o.Dir == "" {
		return errors.New("a run directory is required")
	}
	return reportFormats.validate(&o.Output)
}

// Run reads DIR/run.json (and DIR/probe.jsonl for html) and writes the chosen output to o.Out.
func (o *ReportOptions) Run() error {
	doc, err := result.Load(o.Dir)
	if err != nil {
		return err
	}
	switch o.Output {
	case "json", "yaml":
		// run.json as written (Load checked that it is one); as YAML, every field of it
		path := filepath.Join(o.Dir, result.RunFile)
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", path, result.PathError(err))
		}
		if o.Output == "yaml" {
			if raw, err = yaml.JSONToYAML(raw); err != nil {
				return fmt.Errorf("failed to read %s: %w", path, err)
			}
		}
		if !bytes.HasSuffix(raw, []byte("\n")) {
			raw = append(raw, '\n')
		}
		_, err = o.Out.Write(raw)
		return err
	case "markdown":
		if err := report.WriteStatsMarkdown(o.Out, doc.Stats); err != nil {
			return err
		}
		if len(doc.Verdicts) == 0 && doc.CommandName() == result.CommandProbe {
			return nil
		}
		fmt.Fprintln(o.Out)
		if err := report.WriteVerdictMarkdown(o.Out, doc.Verdicts); err != nil {
			return err
		}
		return report.WriteLoadMarkdown(o.Out, doc.Loads) // modes churn, api
	case "html":
		// probe.jsonl is streamed (a 24-hour run's file does not fit in memory as samples).
		if doc.Samples == nil {
			fmt.Fprintf(o.ErrOut, "warning: %s not found: the report has no latency-over-time charts\n", filepath.Join(o.Dir, result.SamplesFile))
		}
		return report.WriteHTMLFrom(o.Out, doc, doc.Samples)
	}
	var samples result.SampleSource
	if isTerminal(o.Out) {
		// The sparklines are for a person at a terminal; without a readable probe.jsonl there are none.
		samples = doc.Samples
	}
	if doc.Knee != nil { // kubectl pyrometer knee: its answer and step table, as knee printed them
		return report.WriteKnee(o.Out, doc)
	}
	return writeRunTables(o.Out, doc, samples)
}

// writeRunTables prints what `run` prints at its end (and `report -o table`): statistics per phase, with
// latency-over-time sparklines under them when samples are given (callers pass them when stdout is a
// terminal), verdicts, recovery and the result.
func writeRunTables(w io.Writer, doc *result.Doc, samples result.SampleSource) error {
	fmt.Fprintf(w, "CLIENT-SIDE LATENCY PER PHASE (ms; phases ending in @cluster come from the in-cluster probe)\n")
	if err := report.WriteStatsTable(w, doc.Stats, true); err != nil {
		return err
	}
	if samples != nil {
		// Drawn before printing: unreadable samples mean no sparklines, not a half-printed one.
		var b bytes.Buffer
		if err := report.WriteSparklinesFrom(&b, samples, doc.Phases, report.SparkWidth); err == nil && b.Len() > 0 {
			fmt.Fprintln(w)
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
		}
	}
	if len(doc.ProbeLag) > 0 {
		fmt.Fprintf(w, "\nPROBE CLIENT SCHEDULING LAG (local probe; above 10%% of the interval the measurement is not fair)\n")
		for _, l := range doc.ProbeLag {
			fmt.Fprintf(w, "  %s: %s\n", l.Phase, l)
		}
	}
	if len(doc.Verdicts) > 0 || doc.CommandName() != result.CommandProbe { // a probe judges nothing
		fmt.Fprintf(w, "\nVERDICTS (vs baseline)\n")
		if err := report.WriteVerdictTable(w, doc.Verdicts); err != nil {
			return err
		}
	}
	if err := report.WriteLoadTable(w, doc.Loads); err != nil { // modes churn, api
		return err
	}
	if err := writePodStartup(w, doc); err != nil { // hollow nodes and pod startup (hollow.go)
		return err
	}
	if doc.Recovery != nil {
		fmt.Fprintf(w, "\nRecovery: %s\n", doc.Recovery.String())
	}
	fmt.Fprintf(w, "Result: %s\n", doc.Outcome.Result)
	for _, r := range doc.Outcome.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	return nil
}

// isTerminal reports whether w is a terminal (and not a pipe or file).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
