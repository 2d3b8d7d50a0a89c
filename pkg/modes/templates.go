package modes

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
)

// Labels every object a template creates must carry in metadata.labels (checked when a catalogue is loaded, on
// the template rendered with placeholder values: a label in a comment, an annotation or a pod template does not
// count). The run id must be the template's {{.RunID}}.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "kubectl-pyrometer"
	runIDLabel     = "kubepyrometer.io/run-id"
	// placeholderRunID is what {{.RunID}} renders to in the check: a value no literal in a template would match.
	placeholderRunID = "runid0check"
)

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// TemplateObject is one object a template creates, as rendered with placeholder values.
type TemplateObject struct {
	GVK       schema.GroupVersionKind
	Namespace string // metadata.namespace if the template sets one (else: the step namespace)
}

// parseTemplate renders a mode's template with placeholder values (the parameters' defaults, a placeholder image,
// node selector, pull secrets and run id) and checks every object in it: apiVersion, kind, and the two labels in
// metadata.labels.
func (m *Mode) parseTemplate(body []byte) ([]TemplateObject, error) {
	vars := map[string]any{"image": "example.invalid/image:v1", "nodeSelector": "{}", "imagePullSecrets": "[]", "tolerations": "[]", "step": 1}
	for _, p := range m.Parameters {
		vars[p.Name] = p.Default
		if p.Type == "int" {
			vars[p.Name] = int64(p.Default)
		}
	}
	out, err := stress.Render(body, m.Name+"-step1", 0, 1, "00000000-0000-0000-0000-000000000000", placeholderRunID, vars)
	if err != nil {
		return nil, fmt.Errorf("does not render: %v", err)
	}
	var objs []TemplateObject
	for i, doc := range docSep.Split(string(out), -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("document %d is not valid YAML once rendered: %v", i+1, err)
		}
		if len(obj) == 0 {
			continue // empty document or only comments
		}
		where := fmt.Sprintf("document %d", i+1)
		av, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		if av == "" || kind == "" {
			return nil, fmt.Errorf("%s: every object needs a top-level apiVersion and kind", where)
		}
		gv, err := schema.ParseGroupVersion(av)
		if err != nil {
			return nil, fmt.Errorf("%s: apiVersion %q: %v", where, av, err)
		}
		md, _ := obj["metadata"].(map[string]any)
		labels, _ := md["labels"].(map[string]any)
		for _, l := range [][2]string{{managedByLabel, managedBy}, {runIDLabel, placeholderRunID}} {
			if v, _ := labels[l[0]].(string); v != l[1] {
				want := l[1]
				if l[0] == runIDLabel {
					want = `"{{.RunID}}"`
				}
				return nil, fmt.Errorf("%s (%s): every object must carry the label `%s: %s` in metadata.labels", where, kind, l[0], want)
			}
		}
		ns, _ := md["namespace"].(string)
		objs = append(objs, TemplateObject{GVK: gv.WithKind(kind), Namespace: strings.TrimSpace(ns)})
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("creates no object")
	}
	return objs, nil
}

// Kinds returns the kinds the selected modes' templates create, without duplicates, in catalogue order. The run
// looks for every one of them at its end (in every namespace: a template may create objects outside the step
// namespace, or cluster-scoped ones).
func (s *Selection) Kinds() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	seen := map[schema.GroupVersionKind]bool{}
	for _, m := range s.Modes {
		for _, o := range m.Objects {
			for _, to := range m.Parsed[o.Template] {
				if !seen[to.GVK] {
					seen[to.GVK] = true
					out = append(out, to.GVK)
				}
			}
		}
		for _, gvk := range s.engineKinds(m) { // what a native engine creates (engine.go)
			if !seen[gvk] {
				seen[gvk] = true
				out = append(out, gvk)
			}
		}
	}
	return out
}
