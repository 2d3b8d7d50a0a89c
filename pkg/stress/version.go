package stress

import "runtime/debug"

const kubeBurnerModule = "github.com/kube-burner/kube-burner/v2"

// Version is the version of the kube-burner module linked into this binary.
func Version() string {
	return moduleVersion(debug.ReadBuildInfo)
}

func moduleVersion(read func() (*debug.BuildInfo, bool)) string {
	bi, ok := read()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == kubeBurnerModule {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}
