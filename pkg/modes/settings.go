package modes

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
)

// Override is one user-supplied parameter value and where it came from (for error messages).
type Override struct {
	Mode, Param, Value string
	Origin             string // e.g. "--cpu-replicas" or "--set cpu.replicas"
}

// ParseSet parses a --set value "mode.param=value".
func ParseSet(s string) (Override, error) {
	k, v, ok := strings.Cut(s, "=")
	mode, param, ok2 := strings.Cut(k, ".")
	if !ok || !ok2 || mode == "" || param == "" || v == "" {
		return Override{}, fmt.Errorf("invalid --set %q: want MODE.PARAMETER=VALUE, e.g. --set cpu.replicas=2", s)
	}
	return Override{Mode: strings.TrimSpace(mode), Param: strings.TrimSpace(param), Value: strings.TrimSpace(v), Origin: "--set " + k}, nil
}

// Selection is the chosen modes with their resolved settings.
type Selection struct {
	Modes    []*Mode                       `json:"-"`
	Settings map[string]map[string]float64 `json:"settings"` // mode -> parameter -> value
}

// ParseModes splits --modes and checks every name against the catalogue.
func (c *Catalog) ParseModes(csv string) ([]*Mode, error) {
	var out []*Mode
	seen := map[string]bool{}
	for _, n := range strings.Split(csv, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		m := c.Mode(n)
		if m == nil {
			return nil, fmt.Errorf("invalid --modes: unknown mode %q; valid modes: %s", n, strings.Join(c.Names(), ", "))
		}
		if !seen[n] {
			out = append(out, m)
			seen[n] = true
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("invalid --modes %q: name at least one mode of %s", csv, strings.Join(c.Names(), ", "))
	}
	return out, nil
}

// Select resolves the settings of the chosen modes: defaults, then overrides in order. Overrides of modes that are
// not chosen are still checked (a typo must not pass silently) but do not appear in the selection.
func (c *Catalog) Select(modes []*Mode, overrides []Override) (*Selection, error) {
	sel := &Selection{Modes: modes, Settings: map[string]map[string]float64{}}
	all := map[string]map[string]float64{}
	for _, m := range c.Modes {
		all[m.Name] = map[string]float64{}
		for _, p := range m.Parameters {
			all[m.Name][p.Name] = p.Default
		}
	}
	for _, o := range overrides {
		m := c.Mode(o.Mode)
		if m == nil {
			return nil, fmt.Errorf("invalid %s: unknown mode %q; valid modes: %s", o.Origin, o.Mode, strings.Join(c.Names(), ", "))
		}
		p := m.Parameter(o.Param)
		if p == nil {
			var names []string
			for _, p := range m.Parameters {
				names = append(names, p.Name)
			}
			return nil, fmt.Errorf("invalid %s: mode %s has no parameter %q; its parameters: %s", o.Origin, m.Name, o.Param, strings.Join(names, ", "))
		}
		v, err := p.Parse(o.Value)
		if err != nil {
			return nil, fmt.Errorf("invalid %s %q: %v", o.Origin, o.Value, err)
		}
		all[m.Name][p.Name] = v
	}
	for _, m := range modes {
		sel.Settings[m.Name] = all[m.Name]
		if err := m.checkClosedLoop(all[m.Name]); err != nil {
			return nil, err
		}
	}
	return sel, nil
}

// Parse checks a value against the parameter's type and bounds.
func (p *Parameter) Parse(s string) (float64, error) {
	if p.Type == TypeChoice {
		return p.value(s)
	}
	if p.Type == TypeDuration || p.Type == TypeSize {
		v, err := p.value(s)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < p.Min || v > p.Max {
			return 0, fmt.Errorf("must be a %s between %s and %s", p.Type, p.Format(p.Min), p.Format(p.Max))
		}
		return v, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("must be a %s between %s and %s", p.typeName(), p.format(p.Min), p.format(p.Max))
	}
	if p.Type == "int" && v != math.Trunc(v) {
		return 0, fmt.Errorf("must be a whole number between %s and %s", p.format(p.Min), p.format(p.Max))
	}
	if v < p.Min || v > p.Max {
		return 0, fmt.Errorf("must be between %s and %s", p.format(p.Min), p.format(p.Max))
	}
	return v, nil
}

func (p *Parameter) typeName() string {
	if p.Type == "int" {
		return "whole number"
	}
	return "number"
}

func (p *Parameter) format(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Cost is what one ramp step (or the whole run) creates and requests (the type of run.json's plan).
type Cost = result.Cost

// StepCost is the cost of one ramp step of the selection (each step adds the same load: steps are cumulative).
func (s *Selection) StepCost() (Cost, error) {
	c := Cost{Namespaces: 1}
	for _, m := range s.Modes {
		set := s.Settings[m.Name]
		if m.Engine != "" { // run by a native engine (engine.go)
			c.Objects += m.engineStepCost(set)
			continue
		}
		iter, err := m.Job.Iterations.Eval(set)
		if err != nil {
			return Cost{}, fmt.Errorf("mode %s: job.iterations: %w", m.Name, err)
		}
		for _, o := range m.Objects {
			var r, pods, cpu, mem float64
			for _, e := range []struct {
				dst *float64
				v   Value
			}{{&r, o.Replicas}, {&pods, o.Pods}, {&cpu, o.CPUMillis}, {&mem, o.MemoryMi}} {
				if *e.dst, err = e.v.Eval(set); err != nil {
					return Cost{}, fmt.Errorf("mode %s: %s: %w", m.Name, o.Template, err)
				}
			}
			n := int(iter * r)
			c.Objects += n
			c.Pods += n * int(pods)
			c.CPUMillis += int64(float64(n) * pods * cpu)
			c.MemoryMi += int64(float64(n) * pods * mem)
		}
	}
	return c, nil
}

// FloodDuration is how long the spread (API flood) jobs of one step need at their QPS: objects / QPS.
func (s *Selection) FloodDuration() time.Duration {
	var longest time.Duration
	for _, m := range s.Modes {
		longest = max(longest, m.floodDuration(s.Settings[m.Name])) // the flood engine (engine.go)
		if !m.Job.Spread {
			continue
		}
		set := s.Settings[m.Name]
		iter, _ := m.Job.Iterations.Eval(set)
		qps, _ := m.Job.QPS.Eval(set)
		objs := 0.0
		for _, o := range m.Objects {
			r, _ := o.Replicas.Eval(set)
			objs += iter * r
		}
		if qps >= 1 {
			longest = max(longest, time.Duration(objs/qps*float64(time.Second)))
		}
	}
	return longest
}

// StepOptions are what the jobs of one ramp step need besides the selection.
type StepOptions struct {
	Step         int
	Namespace    string
	Window       time.Duration // the step's probe window, over which "spread" jobs distribute their iterations
	ImageMap     func(string) string
	NodeSelector map[string]string
	PullSecrets  []string
	TemplateDir  string // directory holding the rendered template files (absolute paths go to kube-burner)
	// Placement puts the pods of the named modes on hollow nodes (run --hollow-nodes; templates see
	// {{.tolerations}}, "[]" for every other mode).
	Placement map[string]*Placement
}

// Placement is where a mode's pods go relative to the run's hollow nodes: Toleration tolerates their taint; with
// Select, NodeSelector (added to the run's node selector) selects them (on: hollow), without it the pods may land
// on hollow and real nodes alike (on: any).
type Placement struct {
	NodeSelector map[string]string
	Toleration   corev1.Toleration
	Select       bool
}

// StepJobs returns the kube-burner jobs of one ramp step: first the jobs that wait for readiness (the data-plane
// load must be running before the step is measured), then the spread jobs (run while the step is measured).
func (s *Selection) StepJobs(o StepOptions) (ready, spread []stress.Job) {
	ns, _ := json.Marshal(o.NodeSelector)
	if len(o.NodeSelector) == 0 {
		ns = []byte("{}")
	}
	secrets := []map[string]string{}
	for _, p := range o.PullSecrets {
		secrets = append(secrets, map[string]string{"name": p})
	}
	ps, _ := json.Marshal(secrets)
	for _, m := range s.Modes {
		if m.Engine != "" {
			continue // run by a native engine (EngineLoads), not by kube-burner
		}
		set := s.Settings[m.Name]
		ev := func(v Value) float64 { n, _ := v.Eval(set); return n } // validated when loaded and selected
		image := m.Image
		if o.ImageMap != nil && image != "" {
			image = o.ImageMap(image)
		}
		vars := map[string]any{"image": image, "nodeSelector": string(ns), "imagePullSecrets": string(ps), "step": o.Step, "tolerations": "[]"}
		if pl := o.Placement[m.Name]; pl != nil {
			vars["nodeSelector"], vars["tolerations"] = pl.render(o.NodeSelector)
		}
		for k, v := range set {
			vars[k] = v
			if p := m.Parameter(k); p != nil && p.Type == "int" {
				vars[k] = int64(v)
			}
		}
		j := stress.Job{
			Name:       fmt.Sprintf("%s-step%d", m.Name, o.Step),
			Namespace:  o.Namespace,
			Iterations: int(ev(m.Job.Iterations)),
			QPS:        float32(ev(m.Job.QPS)),
			Burst:      int(ev(m.Job.Burst)),
			Wait:       m.Job.Wait,
		}
		if m.Job.Spread && j.Iterations > 1 && o.Window > 0 {
			j.IterationDelay = o.Window / time.Duration(j.Iterations)
		}
		objs := append([]ObjectSpec(nil), m.Objects...)
		sort.SliceStable(objs, func(a, b int) bool { return objs[a].Group < objs[b].Group })
		for _, ob := range objs {
			j.Objects = append(j.Objects, stress.Object{
				Template: templatePath(o.TemplateDir, m, ob.Template),
				Replicas: int(ev(ob.Replicas)),
				Group:    ob.Group,
				Vars:     vars,
			})
		}
		if m.Job.Spread {
			spread = append(spread, j)
		} else {
			ready = append(ready, j)
		}
	}
	return ready, spread
}

// TemplateFile is the file name a mode's template is written to in the private template directory: the mode name is
// part of it so two modes' same-named templates cannot collide.
func TemplateFile(m *Mode, template string) string {
	return m.Name + "--" + strings.ReplaceAll(template, "/", "_")
}

func templatePath(dir string, m *Mode, template string) string {
	if dir == "" {
		return TemplateFile(m, template)
	}
	return dir + "/" + TemplateFile(m, template)
}

// render is the {{.nodeSelector}} and {{.tolerations}} of a placed mode (JSON, as the templates take them).
func (pl *Placement) render(nodeSelector map[string]string) (string, string) {
	sel := map[string]string{}
	for k, v := range nodeSelector {
		sel[k] = v
	}
	if pl.Select {
		for k, v := range pl.NodeSelector {
			sel[k] = v
		}
	}
	ns, _ := json.Marshal(sel)
	tol, _ := json.Marshal([]corev1.Toleration{pl.Toleration})
	return string(ns), string(tol)
}
