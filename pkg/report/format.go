// Package report renders results: the run document (pkg/result) and the other commands' results as tables, JSON,
// YAML, CSV, Markdown (one table writer, WriteMarkdownTable), report.html and sparklines; and it packs a results
// directory into a bundle. The run document's types and logic live in pkg/result.
package report

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// Write encodes v as "json" (indented) or "yaml".
func Write(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("failed to encode yaml: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("unsupported output format %q", format)
}
