package stress

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func validOpts() SpecOptions {
	return SpecOptions{UUID: "u", RunID: "r", Timeout: time.Minute, RequestTimeout: 10 * time.Second, MaxWaitTimeout: 30 * time.Second}
}

// TestBuildSpecSetsYAMLDefaults guards the zero values that break kube-burner when a spec is built in Go.
func TestBuildSpecSetsYAMLDefaults(t *testing.T) {
	spec, err := BuildSpec(validOpts(), []Job{{Name: "cpu", Namespace: "ns", Iterations: 3, QPS: 20, Burst: 40, Wait: true,
		Objects: []Object{{Template: "pyrometer-cpu.yml", Replicas: 2, Vars: map[string]any{"millicores": 50}}}}})
	if err != nil {
		t.Fatal(err)
	}
	g := spec.GlobalConfig
	if g.Timeout <= 0 || g.RequestTimeout <= 0 || g.RUNID == "" || g.UUID == "" || g.GC {
		t.Errorf("global config has unsafe zero values: %+v", g)
	}
	j := spec.Jobs[0]
	if j.IterationsPerNamespace < 1 {
		t.Error("IterationsPerNamespace 0 divides by zero in kube-burner")
	}
	if j.PreLoadImages || j.Cleanup || j.GC || j.NamespacedIterations {
		t.Errorf("job would pre-load images, clean other runs or create its own namespaces: %+v", j)
	}
	if j.MaxWaitTimeout <= 0 || j.MetricsClosing == "" || j.ExecutionMode == "" || j.JobType != "create" {
		t.Errorf("job defaults missing: wait=%v closing=%q mode=%q type=%q", j.MaxWaitTimeout, j.MetricsClosing, j.ExecutionMode, j.JobType)
	}
	if o := j.Objects[0]; o.RepeatEveryNIterations != 1 || o.Replicas != 2 || !o.Wait {
		t.Errorf("object defaults: %+v", o)
	}
}

func TestBuildSpecRejects(t *testing.T) {
	job := Job{Name: "api", Namespace: "ns", Iterations: 1, QPS: 1, Burst: 1, Objects: []Object{{Template: "t", Replicas: 1}}}
	cases := []struct {
		name string
		opts func(*SpecOptions)
		job  func(*Job)
		want string
	}{
		{"qps below 1 hangs kube-burner", nil, func(j *Job) { j.QPS = 0.5 }, "qps and burst must be >= 1"},
		{"zero iterations", nil, func(j *Job) { j.Iterations = 0 }, "iterations must be >= 1"},
		{"zero replicas", nil, func(j *Job) { j.Objects[0].Replicas = 0 }, "replicas must be >= 1"},
		{"no namespace", nil, func(j *Job) { j.Namespace = "" }, "needs a name and a namespace"},
		{"zero timeout", func(o *SpecOptions) { o.Timeout = 0 }, nil, "positive timeouts"},
		{"no run id", func(o *SpecOptions) { o.RunID = "" }, nil, "run id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, j := validOpts(), job
			j.Objects = append([]Object(nil), job.Objects...)
			if tc.opts != nil {
				tc.opts(&o)
			}
			if tc.job != nil {
				tc.job(&j)
			}
			_, err := BuildSpec(o, []Job{j})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestModuleVersion(t *testing.T) {
	bi := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Deps: []*debug.Module{{Path: "x", Version: "v1"}, {Path: kubeBurnerModule, Version: "v2.7.3"}}}, true
	}
	if v := moduleVersion(bi); v != "v2.7.3" {
		t.Errorf("got %q", v)
	}
	replaced := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Deps: []*debug.Module{{Path: kubeBurnerModule, Version: "v2.7.3", Replace: &debug.Module{Version: "v2.7.4"}}}}, true
	}
	if v := moduleVersion(replaced); v != "v2.7.4" {
		t.Errorf("replaced: got %q", v)
	}
	if v := moduleVersion(func() (*debug.BuildInfo, bool) { return nil, false }); v != "unknown" {
		t.Errorf("no build info: got %q", v)
	}
}
