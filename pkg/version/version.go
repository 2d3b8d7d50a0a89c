// Package version holds the build's version information, stamped with -ldflags -X at release time and read from the
// Go build information otherwise (go install, go build without ldflags).
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by the Makefile / release build:
//
//	-X github.com/kubepyrometer/kubectl-pyrometer/pkg/version.version=v0.1.0
//	-X github.com/kubepyrometer/kubectl-pyrometer/pkg/version.commit=<sha>
//	-X github.com/kubepyrometer/kubectl-pyrometer/pkg/version.date=<RFC3339>
//	-X github.com/kubepyrometer/kubectl-pyrometer/pkg/version.probeImage=<image reference>
var (
	version    = ""
	commit     = ""
	date       = ""
	probeImage = ""
)

// Info is what `kubectl pyrometer version` prints.
type Info struct {
	Version    string `json:"version"`
	GitCommit  string `json:"gitCommit"`
	BuildDate  string `json:"buildDate"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
	KubeBurner string `json:"kubeBurnerVersion,omitempty"` // filled by the caller (pkg/stress knows kube-burner)
	ProbeImage string `json:"probeImage"`
}

// Get returns the version information of this binary.
func Get() Info {
	return get(version, commit, date, readBuildInfo)
}

func readBuildInfo() (*debug.BuildInfo, bool) { return debug.ReadBuildInfo() }

func get(v, c, d string, bi func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: v, GitCommit: c, BuildDate: d, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if b, ok := bi(); ok {
		if info.Version == "" && b.Main.Version != "" && b.Main.Version != "(devel)" {
			info.Version = b.Main.Version
		}
		for _, s := range b.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.GitCommit == "" {
					info.GitCommit = s.Value
				}
			case "vcs.time":
				if info.BuildDate == "" {
					info.BuildDate = s.Value
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "v0.0.0-dev"
	}
	if info.GitCommit == "" {
		info.GitCommit = "unknown"
	}
	if info.BuildDate == "" {
		info.BuildDate = "unknown"
	}
	info.ProbeImage = ProbeImage(info.Version)
	return info
}

// ProbeImage is the image the in-cluster probe Job runs by default: the one stamped at build time, else the plugin's
// own image tagged with this version.
func ProbeImage(v string) string {
	if probeImage != "" {
		return probeImage
	}
	return "ghcr.io/kubepyrometer/kubectl-pyrometer:" + strings.TrimPrefix(v, "+")
}
