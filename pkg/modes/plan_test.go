package modes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	pyrometer "github.com/kubepyrometer/kubectl-pyrometer"
)

func builtin(t *testing.T, user ...string) *Catalog {
	t.Helper()
	c, err := LoadCatalog(pyrometer.Catalog, pyrometer.Templates, user...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuiltinCatalogHasTheSeedsModesAndDefaults(t *testing.T) {
	c := builtin(t)
	if got := strings.Join(c.Names(), ","); got != "cpu,mem,disk,network,api,churn,density" {
		t.Fatalf("modes = %s", got)
	}
	want := map[string]map[string]float64{
		"cpu":     {"replicas": 1, "millicores": 50},
		"mem":     {"replicas": 1, "mb": 32},
		"disk":    {"replicas": 1, "mb": 64},
		"network": {"replicas": 1, "interval": 0.5},
		"api":     {"qps": 20, "burst": 40, "iterations": 50, "replicas": 5},
		// churn: 20/s, 30 s, 1 update, 2 KiB, configmap (index 0), poisson (index 0), 1 watcher
		"churn":   {"rate": 20, "lifetime": 30, "updates": 1, "size": 2048, "kind": 0, "arrival": 0, "watchers": 1, "workers": 0},
		"density": {"pods": 100, "qps": 5},
	}
	modes, _ := c.ParseModes("cpu,mem,disk,network,api,churn,density")
	sel, err := c.Select(modes, nil)
	if err != nil {
		t.Fatal(err)
	}
	for m, ps := range want {
		for p, v := range ps {
			if got := sel.Settings[m][p]; got != v {
				t.Errorf("%s.%s default = %v, want %v (the seed's default)", m, p, got, v)
			}
		}
	}
	if c.Mode("api").Plane != PlaneControl || c.Mode("cpu").Plane != PlaneData || c.Mode("density").Plane != PlaneData {
		t.Error("planes")
	}
}

func TestStepCost(t *testing.T) {
	c := builtin(t)
	cases := []struct {
		modes string
		set   []string
		want  Cost
	}{
		{"cpu", nil, Cost{Namespaces: 1, Objects: 1, Pods: 1, CPUMillis: 50, MemoryMi: 16}},
		{"cpu", []string{"cpu.replicas=4", "cpu.millicores=250"}, Cost{Namespaces: 1, Objects: 4, Pods: 4, CPUMillis: 1000, MemoryMi: 64}},
		{"mem", nil, Cost{Namespaces: 1, Objects: 1, Pods: 1, CPUMillis: 10, MemoryMi: 48}},
		// the seed: iterations x replicas x 2 objects per step
		{"api", nil, Cost{Namespaces: 1, Objects: 500}},
		{"network", []string{"network.replicas=3"}, Cost{Namespaces: 1, Objects: 5, Pods: 4, CPUMillis: 250, MemoryMi: 80}},
	}
	for _, tc := range cases {
		t.Run(tc.modes+strings.Join(tc.set, ","), func(t *testing.T) {
			var ov []Override
			for _, s := range tc.set {
				o, err := ParseSet(s)
				if err != nil {
					t.Fatal(err)
				}
				ov = append(ov, o)
			}
			modes, err := c.ParseModes(tc.modes)
			if err != nil {
				t.Fatal(err)
			}
			sel, err := c.Select(modes, ov)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sel.StepCost()
			if err != nil || got != tc.want {
				t.Fatalf("cost = %+v (%v), want %+v", got, err, tc.want)
			}
		})
	}
}

func TestSelectRejectsBadSettingsNamingTheFlag(t *testing.T) {
	c := builtin(t)
	modes, _ := c.ParseModes("cpu")
	cases := []struct {
		o    Override
		want string
	}{
		{Override{"cpu", "replicas", "0", "--cpu-replicas"}, "invalid --cpu-replicas \"0\": must be between 1 and 1000"},
		{Override{"cpu", "replicas", "1.5", "--cpu-replicas"}, "must be a whole number"},
		{Override{"cpu", "replicas", "lots", "--cpu-replicas"}, "must be a whole number between 1 and 1000"},
		{Override{"cpu", "cores", "1", "--set cpu.cores"}, `mode cpu has no parameter "cores"; its parameters: replicas, millicores`},
		{Override{"gpu", "x", "1", "--set gpu.x"}, `unknown mode "gpu"`},
	}
	for _, tc := range cases {
		_, err := c.Select(modes, []Override{tc.o})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: err = %v, want %q", tc.o.Origin, tc.o.Value, err, tc.want)
		}
	}
	if _, err := c.ParseModes("cpu,gpu"); err == nil || !strings.Contains(err.Error(), `unknown mode "gpu"; valid modes: cpu, mem, disk, network, api, churn`) {
		t.Errorf("ParseModes: %v", err)
	}
	if _, err := ParseSet("cpu.replicas"); err == nil || !strings.Contains(err.Error(), "MODE.PARAMETER=VALUE") {
		t.Errorf("ParseSet: %v", err)
	}
}

func TestStepJobs(t *testing.T) {
	c := builtin(t)
	modes, _ := c.ParseModes("cpu,api,network")
	sel, _ := c.Select(modes, nil)
	ready, spread := sel.StepJobs(StepOptions{Step: 2, Namespace: "ns", Window: 10 * time.Second, TemplateDir: "/tmp/x",
		ImageMap: func(s string) string { return "mirror/" + s }, NodeSelector: map[string]string{"a": "b"}, PullSecrets: []string{"regcred"}})
	// the API flood is the native engine's now: no kube-burner job
	if len(ready) != 2 || len(spread) != 0 {
		t.Fatalf("ready=%d spread=%d", len(ready), len(spread))
	}
	loads := sel.EngineLoads(2)
	if len(loads) != 2 || loads[0].Kind != "configmap" || loads[1].Kind != "secret" {
		t.Fatalf("api flood loads: %+v", loads)
	}
	for _, l := range loads {
		// 50 iterations x 5 replicas of each kind at 20 objects/s in all, every step the same
		if l.Count != 250 || l.Rate != 10 || l.Lifetime != 0 || l.Arrival != "uniform" {
			t.Errorf("api flood load: %+v", l)
		}
	}
	if d := sel.FloodDuration(); d != 25*time.Second {
		t.Errorf("api flood: 500 objects at 20/s -> %v, want 25s", d)
	}
	cpu := ready[0]
	if cpu.Objects[0].Template != "/tmp/x/cpu--pyrometer-cpu.yaml" || cpu.Objects[0].Vars["image"] != "mirror/docker.io/library/busybox:1.36.1" ||
		cpu.Objects[0].Vars["millicores"] != int64(50) || cpu.Objects[0].Vars["nodeSelector"] != `{"a":"b"}` ||
		cpu.Objects[0].Vars["imagePullSecrets"] != `[{"name":"regcred"}]` || !cpu.Wait {
		t.Errorf("cpu job: %+v", cpu.Objects[0])
	}
	net := ready[1]
	if net.Objects[2].Group != 1 || net.Objects[0].Group != 0 {
		t.Errorf("network clients must come after the server and service: %+v", net.Objects)
	}
}

func TestLoadCatalogRejectsMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	good := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n"
	os.WriteFile(filepath.Join(dir, "ok.yaml"), []byte(good), 0o600)
	os.WriteFile(filepath.Join(dir, "nolabel.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\n"), 0o600)
	mode := func(body string) string {
		return "modes:\n- name: mine\n  plane: control\n  description: d\n  parameters:\n  - {name: count, type: int, default: 1, min: 1, max: 5, help: h}\n" +
			"  job: {iterations: count, qps: 5, burst: 5}\n" + body
	}
	objs := "  objects:\n  - {template: ok.yaml, replicas: count, pods: 0}\n"
	cases := []struct{ name, body, want string }{
		{"unknown field", mode(objs) + "  colour: red\n", `unknown field "colour"`},
		{"bad plane", strings.Replace(mode(objs), "plane: control", "plane: both", 1), `modes[0] (mine): plane: "both"`},
		{"duplicate builtin", strings.Replace(mode(objs), "name: mine", "name: cpu", 1), `name: mode "cpu" is already defined by built-in plugins.yaml`},
		{"default out of bounds", strings.Replace(mode(objs), "default: 1,", "default: 9,", 1), "parameters[0].default: 9 is outside [1, 5]"},
		{"unknown parameter ref", strings.Replace(mode(objs), "replicas: count", "replicas: m", 1), `objects[0].replicas: unknown parameter "m"`},
		{"missing template", strings.Replace(mode(objs), "ok.yaml", "absent.yaml", 1), "objects[0].template: open"},
		{"unlabelled template", strings.Replace(mode(objs), "ok.yaml", "nolabel.yaml", 1), "every object must carry the label"},
		{"no objects", mode(""), "objects: at least one object template is required"},
		{"pods need an image", strings.Replace(mode(objs), "pods: 0", "pods: 1", 1), "image: required"},
		{"not yaml", "modes: [\n", "plugins file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, "plugins.yaml")
			os.WriteFile(f, []byte(tc.body), 0o600)
			_, err := LoadCatalog(pyrometer.Catalog, pyrometer.Templates, f)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), f) {
				t.Fatalf("err = %v, want the file and %q", err, tc.want)
			}
		})
	}
	f := filepath.Join(dir, "plugins.yaml")
	os.WriteFile(f, []byte(mode(objs)), 0o600)
	c, err := LoadCatalog(pyrometer.Catalog, pyrometer.Templates, f)
	if err != nil || c.Mode("mine") == nil || c.Mode("mine").Templates["ok.yaml"] != good {
		t.Fatalf("a valid user mode must load: %v", err)
	}
}

func TestParseImageMap(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "images.txt")
	os.WriteFile(f, []byte("# mirror\n docker.io/library/busybox:1.36.1 = registry.local/busybox:1.36.1 \n\n"), 0o600)
	m, err := ParseImageMap(f)
	if err != nil || m.Rewrite("docker.io/library/busybox:1.36.1") != "registry.local/busybox:1.36.1" || m.Rewrite("x") != "x" {
		t.Fatalf("%v %v", m, err)
	}
	for body, want := range map[string]string{
		"a = b\nbroken line\n": "images.txt:2",
		"a =\n":                "images.txt:1",
		"a = b\na = c\n":       "mapped twice",
		"a b = c\n":            "images.txt:1",
	} {
		os.WriteFile(f, []byte(body), 0o600)
		if _, err := ParseImageMap(f); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--image-map") {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

func TestFloodDuration(t *testing.T) {
	c := builtin(t)
	modes, _ := c.ParseModes("cpu,api")
	sel, _ := c.Select(modes, nil)
	// the seed's api defaults: 50 iterations x 5 x 2 objects at 20 QPS
	if d := sel.FloodDuration(); d != 25*time.Second {
		t.Errorf("flood duration %v, want 25s", d)
	}
	modes, _ = c.ParseModes("cpu")
	sel, _ = c.Select(modes, nil)
	if d := sel.FloodDuration(); d != 0 {
		t.Errorf("no flood: %v", d)
	}
}

func TestImageRewritesWinOverTheFile(t *testing.T) {
	m := ImageMap{"a:1": "file/a:1", "b:1": "file/b:1"}
	if err := m.AddRewrites([]string{"a:1=flag/a:1", " c:1 = flag/c:1 "}); err != nil {
		t.Fatal(err)
	}
	if m.Rewrite("a:1") != "flag/a:1" || m.Rewrite("b:1") != "file/b:1" || m.Rewrite("c:1") != "flag/c:1" {
		t.Errorf("%v", m)
	}
	for _, bad := range []string{"a:1", "=x", "a:1=", "a b=c", "a=b=c"} {
		if err := m.AddRewrites([]string{bad}); err == nil || !strings.Contains(err.Error(), "--image-rewrite") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// TestTemplateLabelCheckParsesYAML: the two labels must be real metadata.labels of every object of the rendered
// template; a label in a comment, an annotation, a pod template or a hard-coded run id is rejected (issue 12
// item 14; the old check matched a substring anywhere in the file).
func TestTemplateLabelCheckParsesYAML(t *testing.T) {
	const labels = "    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-{{.Iteration}}-{{.Replica}}\n"
	cases := []struct{ name, tmpl, want string }{
		{"labels only in a comment", "# app.kubernetes.io/managed-by: kubectl-pyrometer\n# kubepyrometer.io/run-id: \"{{.RunID}}\"\n" + cm,
			"document 1 (ConfigMap): every object must carry the label `app.kubernetes.io/managed-by: kubectl-pyrometer` in metadata.labels"},
		{"labels only as annotations", cm + "  annotations:\n" + labels, "every object must carry the label `app.kubernetes.io/managed-by"},
		{"labels only on the pod template", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    metadata:\n      labels:\n" +
			strings.ReplaceAll(labels, "    ", "        "), "document 1 (Deployment): every object must carry the label"},
		{"hard-coded run id", cm + "  labels:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"1a2b3c4d\"\n",
			"every object must carry the label `kubepyrometer.io/run-id: \"{{.RunID}}\"`"},
		{"second document unlabelled", cm + "  labels:\n" + labels + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n",
			"document 2 (Secret): every object must carry the label `kubepyrometer.io/run-id"},
		{"no kind", "apiVersion: v1\nmetadata:\n  labels:\n" + labels, "every object needs a top-level apiVersion and kind"},
		{"unknown variable", cm + "  labels:\n" + labels + "data: {x: \"{{.nosuch}}\"}\n", "does not render"},
		{"not YAML once rendered", cm + "  labels:\n" + labels + "data: [\n", "not valid YAML once rendered"},
	}
	dir := t.TempDir()
	plugins := func(tmpl string) string {
		os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(tmpl), 0o600)
		f := filepath.Join(dir, "plugins.yaml")
		os.WriteFile(f, []byte("modes:\n- name: mine\n  plane: control\n  description: d\n"+
			"  parameters:\n  - {name: count, type: int, default: 1, min: 1, max: 5, help: h}\n"+
			"  job: {iterations: count, qps: 5, burst: 5}\n  objects:\n  - {template: t.yaml, replicas: count, pods: 0}\n"), 0o600)
		return f
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCatalog(pyrometer.Catalog, pyrometer.Templates, plugins(tc.tmpl))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "objects[0].template t.yaml") {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
		})
	}
	// Good: two objects, one cluster-scoped and one in another namespace, labels in flow style; their kinds are known.
	good := "# a comment\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: p-{{.RunID}}\n" +
		"  labels: {app.kubernetes.io/managed-by: kubectl-pyrometer, kubepyrometer.io/run-id: \"{{.RunID}}\"}\nvalue: {{.count}}\n---\n" +
		cm + "  namespace: default\n  labels:\n" + labels
	cat, err := LoadCatalog(pyrometer.Catalog, pyrometer.Templates, plugins(good))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cat.Select([]*Mode{cat.Mode("mine"), cat.Mode("api")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(sel.Kinds())
	if want := "[scheduling.k8s.io/v1, Kind=PriorityClass /v1, Kind=ConfigMap /v1, Kind=Secret]"; got != want {
		t.Errorf("kinds %s, want %s", got, want)
	}
	if objs := cat.Mode("mine").Parsed["t.yaml"]; len(objs) != 2 || objs[1].Namespace != "default" {
		t.Errorf("parsed %+v", objs)
	}
	// Every built-in template passes the check.
	for _, m := range cat.Modes {
		if m.Source == "built-in plugins.yaml" && len(m.Parsed) != len(m.Templates) {
			t.Errorf("built-in mode %s: %d of %d templates parsed", m.Name, len(m.Parsed), len(m.Templates))
		}
	}
}

func TestStepJobsPlacesModesOnHollowNodes(t *testing.T) {
	c := builtin(t)
	ms, _ := c.ParseModes("cpu,density")
	sel, err := c.Select(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	tol := corev1.Toleration{Key: "kubepyrometer.io/hollow", Operator: corev1.TolerationOpEqual, Value: "abc", Effect: corev1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		sel                   bool
		wantSelector, wantTol string
	}{
		{true, `{"pool":"load","run":"abc"}`, `[{"key":"kubepyrometer.io/hollow","operator":"Equal","value":"abc","effect":"NoSchedule"}]`},
		{false, `{"pool":"load"}`, `[{"key":"kubepyrometer.io/hollow","operator":"Equal","value":"abc","effect":"NoSchedule"}]`},
	} {
		ready, _ := sel.StepJobs(StepOptions{Step: 1, Namespace: "ns", NodeSelector: map[string]string{"pool": "load"},
			Placement: map[string]*Placement{"density": {NodeSelector: map[string]string{"run": "abc"}, Toleration: tol, Select: tc.sel}}})
		for _, j := range ready {
			vars := j.Objects[0].Vars
			switch {
			case strings.HasPrefix(j.Name, "density"):
				if vars["nodeSelector"] != tc.wantSelector || vars["tolerations"] != tc.wantTol {
					t.Errorf("select=%v: density placed at %v / %v, want %s / %s", tc.sel, vars["nodeSelector"], vars["tolerations"], tc.wantSelector, tc.wantTol)
				}
				if j.QPS != 5 || j.Objects[0].Replicas != 100 {
					t.Errorf("density job qps %v replicas %d, want 5 and 100", j.QPS, j.Objects[0].Replicas)
				}
			default: // not placed: the run's node selector, no toleration
				if vars["nodeSelector"] != `{"pool":"load"}` || vars["tolerations"] != "[]" {
					t.Errorf("cpu placed at %v / %v", vars["nodeSelector"], vars["tolerations"])
				}
			}
		}
	}
}
