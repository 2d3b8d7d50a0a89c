// Package config applies a run configuration file (--config) and a profile (--profile) to a command's flags, with
// the precedence flags > config file > profile > built-in defaults. Every flag of the command is a key of the file,
// spelled as the flag (steps, step-duration, cpu-replicas, ...).
package config

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Profiles are the built-in profiles. "large" follows the seed's profile-large: smaller increments, longer probe
// windows, tighter safety limits, for large or production clusters.
var Profiles = map[string]string{
	"small": `# the built-in defaults, spelled out: 100 samples per probe kind and phase
steps: 2
baseline: 20s
step-duration: 20s
recovery: 20s
interval: 200ms
`,
	"large": `# safer defaults for large or production clusters: smaller increments, a lighter probe over longer windows
# (120 samples per probe kind and phase), tighter limits
steps: 3
baseline: 60s
step-duration: 60s
recovery: 60s
interval: 500ms
cpu-millicores: 25
mem-mb: 16
disk-mb: 32
api-qps: 10
api-burst: 20
api-iterations: 25
max-pods: 500
max-namespaces: 20
max-objects-per-step: 1000
`,
}

// Origin says where each flag's value came from: "flag", "config <file>", "profile <name>" or "default".
type Origin map[string]string

// never reads these keys from a file: they select the file, are per-invocation, or ask questions.
var notFileKeys = map[string]bool{"config": true, "profile": true, "print-config": true, "save-config": true, "help": true,
	"yes": true, "interactive": true, "interactive-modes": true, "interactive-images": true}

// Exclusive are groups of keys that set one thing two ways (--rate is --interval as a frequency). The precedence
// holds for a group as a whole: the highest level that sets any key of it decides, and a lower level's value of a
// partner is ignored (--rate 5 on the command line beats the large profile's interval: 2s). Two keys of a group
// at the same level are an error.
var Exclusive = [][]string{{"rate", "interval"}}

// partners are the other keys of key's Exclusive groups.
func partners(key string) []string {
	var out []string
	for _, g := range Exclusive {
		if slices.Contains(g, key) {
			for _, k := range g {
				if k != key {
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// Apply sets, on fs (the command's own flags: never the kubectl connection flags, so a file holds no
// credentials), every key of the profile and then of the config file that the command line did not set (nor,
// for a key of an Exclusive group, one of its partners; the profile also yields to the config file's partners).
// profile is a built-in name or the path of a profile file; either may be empty.
func Apply(fs *pflag.FlagSet, configFile, profile string) (Origin, error) {
	origin := Origin{}
	cmdline := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		origin[f.Name] = "default"
		if f.Changed {
			origin[f.Name] = "flag"
			cmdline[f.Name] = true
		}
	})
	var configData []byte
	if configFile != "" {
		var err error
		if configData, err = os.ReadFile(configFile); err != nil {
			return nil, fmt.Errorf("invalid --config: %w", err)
		}
	}
	// above are the keys set at a higher level than the one being applied
	apply := func(name string, data []byte, what string, above map[string]bool) error {
		if err := checkExclusive(name, data); err != nil {
			return err
		}
		allowed := func(key string) bool {
			if above[key] {
				return false
			}
			for _, p := range partners(key) {
				if above[p] {
					return false
				}
			}
			return true
		}
		return applyYAML(fs, name, data, allowed, func(key string) { origin[key] = what })
	}
	if profile != "" {
		above := map[string]bool{}
		for k := range cmdline {
			above[k] = true
		}
		for k := range keysOf(configData) {
			above[k] = true
		}
		if body, ok := Profiles[profile]; ok {
			if err := apply("profile "+profile, []byte(body), "profile "+profile, above); err != nil {
				return nil, err
			}
		} else {
			data, err := os.ReadFile(profile)
			if err != nil {
				return nil, fmt.Errorf("invalid --profile %q: not a built-in profile (%s) nor a readable file: %v", profile, names(), err)
			}
			if err := apply(profile, data, "profile "+profile, above); err != nil {
				return nil, err
			}
		}
	}
	if configFile != "" {
		if err := apply(configFile, configData, "config "+configFile, cmdline); err != nil {
			return nil, err
		}
	}
	return origin, nil
}

// keysOf returns the top-level keys of a YAML mapping and their lines (none when data is not one: applyYAML
// reports that).
func keysOf(data []byte) map[string]int {
	keys := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return keys
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if _, dup := keys[m.Content[i].Value]; !dup {
			keys[m.Content[i].Value] = m.Content[i].Line
		}
	}
	return keys
}

// checkExclusive refuses a file that sets two keys of an Exclusive group.
func checkExclusive(file string, data []byte) error {
	keys := keysOf(data)
	for _, g := range Exclusive {
		var set []string
		for _, k := range g {
			if _, ok := keys[k]; ok {
				set = append(set, k)
			}
		}
		if len(set) > 1 {
			return fmt.Errorf("%s:%d: keys %s are mutually exclusive: give one", file, keys[set[1]], strings.Join(set, " and "))
		}
	}
	return nil
}

func names() string {
	var n []string
	for k := range Profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// applyYAML sets the keys of a YAML mapping on fs; errors name file:line and the key.
func applyYAML(fs *pflag.FlagSet, file string, data []byte, allowed func(string) bool, set func(string)) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %v", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of flag names to values (steps: 3)", file, m.Line)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := k.Value
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("%s:%d: key %q given twice (also line %d)", file, k.Line, key, prev)
		}
		seen[key] = k.Line
		f := fs.Lookup(key)
		if key == "run-id" && f != nil {
			// A run id names one run: pinned in a file, the second use of the file would share it (and be refused).
			return fmt.Errorf("%s:%d: key \"run-id\" is not allowed in a file: a run id names one run; pass --run-id on the command line, or leave it out for a fresh random id", file, k.Line)
		}
		if f == nil || notFileKeys[key] || f.Hidden {
			return fmt.Errorf("%s:%d: unknown key %q (keys are the flags of the command, e.g. steps, modes, cpu-replicas)", file, k.Line, key)
		}
		var values []string
		switch v.Kind {
		case yaml.ScalarNode:
			values = []string{v.Value}
		case yaml.SequenceNode:
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return fmt.Errorf("%s:%d: key %q: list items must be plain values", file, item.Line, key)
				}
				values = append(values, item.Value)
			}
		case yaml.MappingNode:
			var pairs []string
			for j := 0; j+1 < len(v.Content); j += 2 {
				pairs = append(pairs, v.Content[j].Value+"="+v.Content[j+1].Value)
			}
			values = []string{strings.Join(pairs, ",")}
		default:
			return fmt.Errorf("%s:%d: key %q: unsupported value", file, v.Line, key)
		}
		if !allowed(key) {
			continue
		}
		if isList(f) && v.Kind == yaml.ScalarNode {
			values = strings.Split(v.Value, ",")
		}
		for _, val := range values {
			if err := f.Value.Set(strings.TrimSpace(val)); err != nil {
				return fmt.Errorf("%s:%d: key %q: invalid value %q: %v", file, v.Line, key, val, err)
			}
		}
		f.Changed = true
		set(key)
	}
	return nil
}

// perRun keys name one run: a printed configuration holds them commented out, so that reusing it never
// makes two runs share a run id or write into the same directory.
var perRun = map[string]bool{"run-id": true, "output-dir": true}

func orDefault(o string) string {
	if o == "" {
		return "default"
	}
	return o
}

func isList(f *pflag.Flag) bool {
	t := f.Value.Type()
	return strings.HasSuffix(t, "Slice") || strings.HasSuffix(t, "Array")
}

// Print writes the resolved configuration (every flag except the ones that select files) as YAML, each value
// commented with where it came from. It is itself a valid --config file: values that are built-in defaults are
// written commented out ("# steps: ..."), so that the file pins only what was chosen (not --rate beside
// --interval), and so are the run id and the output directory, which belong to one run.
func Print(fs *pflag.FlagSet, origin Origin) string {
	var b bytes.Buffer
	fs.VisitAll(func(f *pflag.Flag) {
		if notFileKeys[f.Name] || f.Hidden {
			return
		}
		val := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			items := sv.GetSlice()
			quoted := make([]string, len(items))
			for i, it := range items {
				quoted[i] = fmt.Sprintf("%q", it)
			}
			val = "[" + strings.Join(quoted, ", ") + "]"
		} else if f.Value.Type() == "stringToString" {
			val = strings.Trim(val, "[]")
			val = fmt.Sprintf("%q", val)
		} else {
			val = fmt.Sprintf("%q", val)
		}
		o := origin[f.Name]
		if perRun[f.Name] {
			fmt.Fprintf(&b, "# %s: %s  # %s; per run, never pinned here\n", f.Name, val, orDefault(o))
			return
		}
		if o == "" || o == "default" {
			fmt.Fprintf(&b, "# %s: %s  # default\n", f.Name, val)
			return
		}
		fmt.Fprintf(&b, "%s: %s  # %s\n", f.Name, val, o)
	})
	return b.String()
}
