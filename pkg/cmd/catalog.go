package cmd

import (
	"slices"
	"sync"

	"github.com/spf13/cobra"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// catalogue is the built-in stress-mode catalogue (plugins.yaml), parsed at most once per process and only for the
// command that runs, when it uses it: run and plan take their generated --<mode>-<parameter> flags (and run the
// mode list of its help) from it, and their Complete adds the --plugins files to it without parsing it again.
// Every other command (version, probe, cleanup, ...) never parses it.
type catalogue struct {
	parse func() (*modes.Catalog, error) // the built-in catalogue

	once sync.Once
	cat  *modes.Catalog
	err  error

	// users are the commands whose flags or help come from the catalogue, with what adds them; they must be
	// readied (ready, readyFor) before their command line is parsed.
	users map[*cobra.Command]func(*modes.Catalog, error)
}

func newCatalogue() *catalogue {
	return &catalogue{parse: func() (*modes.Catalog, error) { return modes.LoadCatalog(pyrometer.Catalog, pyrometer.Templates) }}
}

// builtin returns the built-in catalogue, parsing it on the first call.
func (c *catalogue) builtin() (*modes.Catalog, error) {
	c.once.Do(func() { c.cat, c.err = c.parse() })
	return c.cat, c.err
}

// withPlugins returns the built-in catalogue followed by the modes of the --plugins files.
func (c *catalogue) withPlugins(files []string) (*modes.Catalog, error) {
	cat, err := c.builtin()
	if err != nil {
		return nil, err
	}
	return cat.With(files...)
}

// use registers cmd as a command whose flags or help come from the catalogue: add adds them when cmd is readied
// (with the catalogue, or the error parsing it).
func (c *catalogue) use(cmd *cobra.Command, add func(*modes.Catalog, error)) {
	if c.users == nil {
		c.users = map[*cobra.Command]func(*modes.Catalog, error){}
	}
	c.users[cmd] = add
}

// ready adds to cmd, once, what it takes from the catalogue; for a command that uses none it does nothing (and
// the catalogue is not parsed).
func (c *catalogue) ready(cmd *cobra.Command) {
	add, ok := c.users[cmd]
	if !ok {
		return
	}
	delete(c.users, cmd)
	add(c.builtin())
}

// readyFor readies the command that args (a command line without the program's name) runs, also when it is asked
// for through "help CMD" or cobra's completion request "__complete CMD ...".
func (c *catalogue) readyFor(root *cobra.Command, args []string) {
	if len(args) > 0 && slices.Contains([]string{cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd}, args[0]) {
		args = args[1:]
	}
	root.InitDefaultHelpCmd()
	cmd, rest, err := root.Find(args)
	if err == nil && cmd.Name() == "help" && cmd.Parent() == root {
		cmd, _, err = root.Find(rest)
	}
	if err == nil {
		c.ready(cmd)
	}
}
