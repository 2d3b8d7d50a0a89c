package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWrites(t *testing.T) {
	in := `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 100
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="PATCH",version="v1"} 40
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="DELETE",version="v1"} 30
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"} 999
apiserver_request_total{code="201",component="apiserver",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 7
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 50
apiserver_request_duration_seconds_count{resource="configmaps",verb="POST"} 12345
`
	c, err := parseWrites(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := writeCount{post: 103, patch: 40, del: 30, ok: 170}
	if c != want {
		t.Fatalf("parseWrites = %+v, want %+v", c, want)
	}
	if got := c.total(); got != 173 {
		t.Fatalf("total = %v, want 173", got)
	}
	if d := c.sub(writeCount{post: 3, patch: 0, del: 0, ok: 3}); d.total() != 170 || d.ok != 167 {
		t.Fatalf("sub = %+v", d)
	}
	if _, err := parseWrites(strings.NewReader("process_start_time_seconds 1\n")); err == nil {
		t.Fatal("parseWrites without apiserver_request_total: want an error")
	}
}

func TestValidate(t *testing.T) {
	ok := options{kubeconfig: "k", startRate: 25, maxRate: 3200, stepObjects: 2000, stepSpan: 10 * time.Second,
		minSpan: 3 * time.Second, lifetime: 2 * time.Second, updates: 1, size: 2048, refine: 1}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mut  func(*options)
		flag string
	}{
		{"no kubeconfig", func(o *options) { o.kubeconfig = "" }, "-kubeconfig"},
		{"start above max", func(o *options) { o.startRate = 5000 }, "-start-rate"},
		{"too many objects", func(o *options) { o.stepObjects = 2001 }, "-step-objects"},
		{"long step", func(o *options) { o.stepSpan = 2 * time.Minute }, "-step-duration"},
		{"min above step", func(o *options) { o.minSpan = 11 * time.Second }, "-min-step-duration"},
		{"no lifetime", func(o *options) { o.lifetime = 0 }, "-lifetime"},
		{"refine", func(o *options) { o.refine = 5 }, "-refine"},
	} {
		o := ok
		tc.mut(&o)
		err := o.validate()
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s: validate = %v, want an error naming %s", tc.name, err, tc.flag)
		}
	}
}
