package compare

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
)

var header = []string{"PHASE", "KIND", "N A", "N B", "ERR A", "ERR B", "P50 A ms", "P50 B ms", "P50 CHANGE",
	"P99 A ms", "P99 B ms", "P99 CHANGE", "P-VALUE", "SIGNIFICANT", "ERR P-VALUE", "ERR SIGNIFICANT"}

func (r Row) cells() []string {
	sig := "no"
	pv := "-"
	switch {
	case r.Test == nil:
		sig = r.Note
	case r.Significant:
		sig = "yes"
	}
	if r.Test != nil {
		pv = strconv.FormatFloat(r.Test.P, 'g', 3, 64)
	}
	errPV, errSig := "-", "no"
	if r.ErrorTest != nil {
		errPV = strconv.FormatFloat(r.ErrorTest.P, 'g', 3, 64)
	}
	if r.ErrorSignificant {
		errSig = "yes"
		if r.ErrorPctB > r.ErrorPctA {
			errSig = "yes, B worse"
		}
	}
	return []string{r.Phase, string(r.Kind), strconv.Itoa(r.CountA), strconv.Itoa(r.CountB),
		errCell(r.ErrorsA, r.ErrorPctA), errCell(r.ErrorsB, r.ErrorPctB), ms(r.P50A), ms(r.P50B), pct(r.P50ChangePct),
		ms(r.P99A), ms(r.P99B), pct(r.P99ChangePct), pv, sig, errPV, errSig}
}

// errCell is "3 (1.5%)": the errors and their share of all requests.
func errCell(n int, pct float64) string {
	return fmt.Sprintf("%d (%s%%)", n, strconv.FormatFloat(pct, 'g', 3, 64))
}

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", *v)
}

// WriteTable writes the comparison as the terminal table.
func WriteTable(w io.Writer, r Report) error {
	fmt.Fprintf(w, "A: %s (run %s)\nB: %s (run %s)\n", r.A.Dir, orDash(r.A.RunID), r.B.Dir, orDash(r.B.RunID))
	fmt.Fprintf(w, "Test: %s, significant when p < %g; latency of the successful local samples.\n", r.Test, r.Alpha)
	fmt.Fprintf(w, "Errors: share of all local requests (timeouts included), %s.\n", ErrorTestName)
	if r.Knee != nil {
		fmt.Fprintf(w, "%s\n", r.Knee.line())
	}
	fmt.Fprintln(w)
	if len(r.Rows) == 0 {
		fmt.Fprintln(w, "No phase and probe kind has samples in both runs.")
	} else {
		t := report.NewTable(w, header...)
		for _, row := range r.Rows {
			if err := t.Append(row.cells()); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if r.Comparable {
		_, err := fmt.Fprintln(w, "Comparability: same cluster fingerprint and configuration.")
		return err
	}
	fmt.Fprintln(w, "Comparability: the runs differ; check these before reading the numbers as a regression:")
	t := report.NewTable(w, "FIELD", "A", "B")
	for _, d := range r.Differences {
		if err := t.Append([]string{d.Field, d.A, d.B}); err != nil {
			return err
		}
	}
	return t.Render()
}

// WriteMarkdown writes the comparison as Markdown (for a ticket or a pull request).
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Comparison\n\n- A: `%s` (run %s)\n- B: `%s` (run %s)\n- Test: %s, significant when p < %g; latency of the successful local samples.\n- Errors: share of all local requests (timeouts included), %s.\n\n",
		r.A.Dir, orDash(r.A.RunID), r.B.Dir, orDash(r.B.RunID), r.Test, r.Alpha, ErrorTestName)
	if r.Knee != nil {
		fmt.Fprintf(&b, "- %s\n\n", report.EscapeMarkdown(r.Knee.line()))
	}
	if len(r.Rows) == 0 {
		b.WriteString("No phase and probe kind has samples in both runs.\n")
	} else {
		rows := make([][]string, 0, len(r.Rows))
		for _, row := range r.Rows {
			rows = append(rows, row.cells())
		}
		if err := report.WriteMarkdownTable(&b, header, rows, nil); err != nil {
			return err
		}
	}
	b.WriteString("\n### Comparability\n\n")
	if r.Comparable {
		b.WriteString("Same cluster fingerprint and configuration.\n")
	} else {
		rows := make([][]string, 0, len(r.Differences))
		for _, d := range r.Differences {
			rows = append(rows, []string{d.Field, d.A, d.B})
		}
		if err := report.WriteMarkdownTable(&b, []string{"Field", "A", "B"}, rows, nil); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// line is the two answers in one line: "Knee: A 283 writes/s (found), B 200 writes/s (found): -29.3%; steps are
// compared at the same rate (knee@RATE/s)."
func (k KneeChange) line() string {
	side := func(a KneeAnswer) string {
		if a.Knee == 0 {
			return "no knee (" + a.Status + ")"
		}
		return fmt.Sprintf("%s writes/s (%s)", strconv.FormatFloat(a.Knee, 'f', -1, 64), a.Status)
	}
	change := ""
	if k.ChangePct != nil {
		change = ": " + pct(k.ChangePct)
	}
	return fmt.Sprintf("Knee: A %s, B %s%s; the steps are compared at the same rate (knee@RATE/s).", side(k.A), side(k.B), change)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
