package version

import (
	"runtime/debug"
	"testing"
)

func TestGetPrefersStampedValues(t *testing.T) {
	bi := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.time", Value: "2020"}}}, true
	}
	got := get("v1.2.3", "deadbeef", "2026-01-01T00:00:00Z", bi)
	if got.Version != "v1.2.3" || got.GitCommit != "deadbeef" || got.BuildDate != "2026-01-01T00:00:00Z" {
		t.Fatalf("got %+v", got)
	}
	if got.ProbeImage != "ghcr.io/kubepyrometer/kubectl-pyrometer:v1.2.3" {
		t.Errorf("probe image = %q", got.ProbeImage)
	}
}

func TestGetFallsBackToBuildInfo(t *testing.T) {
	bi := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.time", Value: "2020-01-01T00:00:00Z"}}}, true
	}
	got := get("", "", "", bi)
	if got.Version != "v0.3.0" || got.GitCommit != "abc" || got.BuildDate != "2020-01-01T00:00:00Z" {
		t.Fatalf("got %+v", got)
	}
	none := get("", "", "", func() (*debug.BuildInfo, bool) { return nil, false })
	if none.Version != "v0.0.0-dev" || none.GitCommit != "unknown" {
		t.Fatalf("without build info: %+v", none)
	}
}
