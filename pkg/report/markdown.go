package report

import (
	"io"
	"strings"
)

// WriteMarkdownTable writes a GitHub-flavoured Markdown table, every cell escaped with EscapeMarkdown; right marks
// right-aligned (numeric) columns (nil: all left-aligned). It is the one Markdown table writer of every command.
func WriteMarkdownTable(w io.Writer, header []string, rows [][]string, right []bool) error {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + EscapeMarkdown(c) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for i := range header {
		if i < len(right) && right[i] {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownEscaper keeps a cell one cell of one row: | would end the cell and a newline the row (it becomes a
// space); \, * and _ are escaped so that text such as a low-count "24.0*" or a name with underscores is shown as
// written, not as emphasis.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `*`, `\*`, `_`, `\_`, "\n", " ")

// EscapeMarkdown escapes s for a Markdown table cell or line (see markdownEscaper).
func EscapeMarkdown(s string) string {
	return markdownEscaper.Replace(s)
}
