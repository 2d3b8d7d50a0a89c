// Package modes turns the stress-mode catalogue (plugins.yaml plus the user's --plugins files) and the chosen
// settings into the kube-burner jobs of each ramp step and their cost for the safety plan. It does no cluster I/O.
package modes

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Planes a mode can load.
const (
	PlaneData    = "data"
	PlaneControl = "control"
)

// Catalog is the set of stress modes.
type Catalog struct {
	Modes []*Mode `json:"modes"`
}

// Mode is one stress mode of the catalogue.
type Mode struct {
	Name        string            `json:"name"`
	Plane       string            `json:"plane"`
	Description string            `json:"description"`
	Image       string            `json:"image,omitempty"`
	Parameters  []Parameter       `json:"parameters"`
	Job         JobSpec           `json:"job"`
	Objects     []ObjectSpec      `json:"objects"`
	Source      string            `json:"-"` // the file the mode came from ("built-in" for plugins.yaml)
	Templates   map[string]string `json:"-"` // template name -> content
	// Parsed is what each template creates (rendered with placeholder values when the catalogue is loaded).
	Parsed map[string][]TemplateObject `json:"-"`
	// Engine names the native engine that runs the mode instead of kube-burner (EngineChurn, EngineFlood; see
	// engine.go); such a mode has no job and no objects.
	Engine string `json:"engine,omitempty"`
}

// Parameter is a tunable setting of a mode.
type Parameter struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"` // int, float, duration, size or choice (params.go)
	Default float64 `json:"default"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Help    string  `json:"help"`
	// Values are a choice's values; the setting is the index of the chosen one.
	Values []string `json:"values,omitempty"`
}

// JobSpec is the kube-burner job of one ramp step of a mode.
type JobSpec struct {
	Iterations Value `json:"iterations"`
	QPS        Value `json:"qps"`
	Burst      Value `json:"burst"`
	Spread     bool  `json:"spread,omitempty"`
	Wait       bool  `json:"wait,omitempty"`
}

// ObjectSpec is one template created Replicas times per iteration, and what one replica costs.
type ObjectSpec struct {
	Template  string `json:"template"`
	Replicas  Value  `json:"replicas"`
	Group     int    `json:"group,omitempty"`
	Pods      Value  `json:"pods"`
	CPUMillis Value  `json:"cpuMillis,omitempty"`
	MemoryMi  Value  `json:"memoryMi,omitempty"`
}

// Value is a number, a parameter name, or "name+number", written as a YAML number or string.
type Value string

// UnmarshalJSON accepts a number or a string.
func (v *Value) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*v = Value(n.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a number or a parameter name, got %s (quote names YAML reads as booleans, like \"on\" or \"n\")", b)
	}
	*v = Value(s)
	return nil
}

var valueRE = regexp.MustCompile(`^(?:([a-z][a-z0-9]*)(?:\+([0-9.]+))?|([0-9.]+))$`)

// Eval resolves v against a mode's settings. An empty Value is 0.
func (v Value) Eval(settings map[string]float64) (float64, error) {
	if v == "" {
		return 0, nil
	}
	m := valueRE.FindStringSubmatch(strings.TrimSpace(string(v)))
	if m == nil {
		return 0, fmt.Errorf("%q is not a number, a parameter name or name+number", string(v))
	}
	if m[3] != "" {
		return strconv.ParseFloat(m[3], 64)
	}
	base, ok := settings[m[1]]
	if !ok {
		return 0, fmt.Errorf("unknown parameter %q", m[1])
	}
	if m[2] != "" {
		add, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", string(v), err)
		}
		base += add
	}
	return base, nil
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,19}$`)

// LoadCatalog parses the built-in catalogue (templates from builtinTemplates, a directory holding templates/) and
// appends the modes of each user file (templates relative to that file's directory).
func LoadCatalog(builtin []byte, builtinTemplates fs.FS, userFiles ...string) (*Catalog, error) {
	cat := &Catalog{}
	read := func(name string) ([]byte, error) { return fs.ReadFile(builtinTemplates, "templates/"+name) }
	if err := cat.add("built-in plugins.yaml", builtin, read); err != nil {
		return nil, err
	}
	return cat.With(userFiles...)
}

// With returns a catalogue of c's modes followed by the modes of each user file (the --plugins files; templates
// relative to that file's directory), without parsing c again. c is not changed; without files it is returned.
func (c *Catalog) With(userFiles ...string) (*Catalog, error) {
	if len(userFiles) == 0 {
		return c, nil
	}
	cat := &Catalog{Modes: slices.Clone(c.Modes)}
	for _, f := range userFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("invalid --plugins: %w", err)
		}
		dir := filepath.Dir(f)
		read := func(name string) ([]byte, error) {
			if filepath.IsAbs(name) {
				return os.ReadFile(name)
			}
			return os.ReadFile(filepath.Join(dir, name))
		}
		if err := cat.add(f, b, read); err != nil {
			return nil, err
		}
	}
	return cat, nil
}

func (c *Catalog) add(source string, data []byte, readTemplate func(string) ([]byte, error)) error {
	var file struct {
		Modes []*Mode `json:"modes"`
	}
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return fmt.Errorf("plugins file %s: %v", source, strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: "))
	}
	if len(file.Modes) == 0 {
		return fmt.Errorf("plugins file %s: no modes (want a top-level `modes:` list)", source)
	}
	for i, m := range file.Modes {
		where := fmt.Sprintf("plugins file %s: modes[%d]", source, i)
		if m == nil {
			return fmt.Errorf("%s: empty entry", where)
		}
		if m.Name != "" {
			where += fmt.Sprintf(" (%s)", m.Name)
		}
		if err := m.validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if prev := c.Mode(m.Name); prev != nil {
			return fmt.Errorf("%s: name: mode %q is already defined by %s", where, m.Name, prev.Source)
		}
		m.Source = source
		m.Templates = map[string]string{}
		m.Parsed = map[string][]TemplateObject{}
		for j, o := range m.Objects {
			b, err := readTemplate(o.Template)
			if err != nil {
				return fmt.Errorf("%s: objects[%d].template: %v", where, j, err)
			}
			objs, err := m.parseTemplate(b)
			if err != nil {
				return fmt.Errorf("%s: objects[%d].template %s: %v", where, j, o.Template, err)
			}
			m.Templates[o.Template] = string(b)
			m.Parsed[o.Template] = objs
		}
		c.Modes = append(c.Modes, m)
	}
	return nil
}

func (m *Mode) validate() error {
	if !nameRE.MatchString(m.Name) {
		return fmt.Errorf("name: %q must be lowercase letters and digits, starting with a letter, at most 20 characters", m.Name)
	}
	if m.Plane != PlaneData && m.Plane != PlaneControl {
		return fmt.Errorf("plane: %q must be %q or %q", m.Plane, PlaneData, PlaneControl)
	}
	defaults := map[string]float64{}
	for i, p := range m.Parameters {
		f := fmt.Sprintf("parameters[%d]", i)
		switch {
		case !nameRE.MatchString(p.Name):
			return fmt.Errorf("%s.name: %q must be lowercase letters and digits, starting with a letter", f, p.Name)
		case p.Name == "image" || p.Name == "nodeselector":
			return fmt.Errorf("%s.name: %q is reserved", f, p.Name)
		case !slices.Contains([]string{TypeInt, TypeFloat, TypeDuration, TypeSize, TypeChoice}, p.Type):
			return fmt.Errorf("%s.type: %q must be int, float, duration, size or choice", f, p.Type)
		case p.Min > p.Max:
			return fmt.Errorf("%s: min %v is greater than max %v", f, p.Min, p.Max)
		case p.Default < p.Min || p.Default > p.Max:
			return fmt.Errorf("%s.default: %v is outside [%v, %v]", f, p.Default, p.Min, p.Max)
		case p.Type == "int" && (p.Default != math.Trunc(p.Default) || p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)):
			return fmt.Errorf("%s: an int parameter needs whole default, min and max", f)
		case p.Help == "":
			return fmt.Errorf("%s.help: must say what the parameter does", f)
		}
		if err := p.validateType(); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, dup := defaults[p.Name]; dup {
			return fmt.Errorf("%s.name: %q is defined twice", f, p.Name)
		}
		defaults[p.Name] = p.Default
	}
	if m.Engine != "" {
		// run by a native engine (engine.go): no kube-burner job or templates
		return m.validateEngine(defaults)
	}
	if len(m.Objects) == 0 {
		return fmt.Errorf("objects: at least one object template is required")
	}
	check := func(field string, v Value, required bool, min float64) error {
		if v == "" && !required {
			return nil
		}
		if v == "" {
			return fmt.Errorf("%s: required", field)
		}
		n, err := v.Eval(defaults)
		if err != nil {
			return fmt.Errorf("%s: %v", field, err)
		}
		if n < min {
			return fmt.Errorf("%s: %v must be >= %v", field, n, min)
		}
		return nil
	}
	for _, c := range []struct {
		f string
		v Value
	}{{"job.iterations", m.Job.Iterations}, {"job.qps", m.Job.QPS}, {"job.burst", m.Job.Burst}} {
		if err := check(c.f, c.v, true, 1); err != nil {
			return err
		}
	}
	pods := false
	for i, o := range m.Objects {
		f := fmt.Sprintf("objects[%d]", i)
		if o.Template == "" || strings.Contains(o.Template, "..") {
			return fmt.Errorf("%s.template: %q must name a file next to the plugins file", f, o.Template)
		}
		if err := check(f+".replicas", o.Replicas, true, 1); err != nil {
			return err
		}
		if err := check(f+".pods", o.Pods, true, 0); err != nil {
			return err
		}
		if err := check(f+".cpuMillis", o.CPUMillis, false, 0); err != nil {
			return err
		}
		if err := check(f+".memoryMi", o.MemoryMi, false, 0); err != nil {
			return err
		}
		if o.Group < 0 {
			return fmt.Errorf("%s.group: must be >= 0", f)
		}
		if o.Pods != "" && o.Pods != "0" {
			pods = true
		}
	}
	if pods && m.Image == "" {
		return fmt.Errorf("image: required for a mode whose objects run pods")
	}
	return nil
}

// Mode returns the mode named name, or nil.
func (c *Catalog) Mode(name string) *Mode {
	for _, m := range c.Modes {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Names lists the mode names in catalogue order.
func (c *Catalog) Names() []string {
	var n []string
	for _, m := range c.Modes {
		n = append(n, m.Name)
	}
	return n
}

// Parameter returns the parameter named name, or nil.
func (m *Mode) Parameter(name string) *Parameter {
	i := slices.IndexFunc(m.Parameters, func(p Parameter) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &m.Parameters[i]
}
