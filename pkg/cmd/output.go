package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// outputFormats are the values a command's -o/--output takes; the first is its default. Across commands: every
// command whose default is for people accepts table (version and plan call theirs text, and take table as the
// same), and every command that offers json offers yaml too.
type outputFormats []string

// The -o values of each command.
var (
	runFormats     = outputFormats{"table", "json", "yaml", "csv", "markdown"} // run and probe
	textFormats    = outputFormats{"text", "json", "yaml"}                     // plan and version (+ table)
	compareFormats = outputFormats{"table", "json", "yaml", "markdown"}
	reportFormats  = outputFormats{"table", "json", "yaml", "markdown", "html"}
	listFormats    = outputFormats{"table", "json", "yaml"} // cleanup and bundle
)

// allowed lists the accepted values: the formats, and table where the default is text.
func (f outputFormats) allowed() []string {
	if f[0] == "text" {
		return append(slices.Clone(f), "table")
	}
	return f
}

// addFlag adds -o/--output to cmd, bound to value; the first format is the default.
func (f outputFormats) addFlag(cmd *cobra.Command, value *string) {
	*value = f[0]
	list := strings.Join(f, ", ")
	if f[0] == "text" {
		list = "text (or table), " + strings.Join(f[1:], ", ")
	}
	cmd.Flags().StringVarP(value, "output", "o", f[0], "Output format. One of: "+list+".")
}

// validate checks *value against the formats, in one line naming the flag and the allowed values; table, where
// the default is text, becomes text.
func (f outputFormats) validate(value *string) error {
	switch {
	case *value == "table" && f[0] == "text":
		*value = "text"
	case !slices.Contains(f, *value):
		return fmt.Errorf("invalid --output %q: allowed values are %s", *value, strings.Join(f.allowed(), ", "))
	}
	return nil
}
