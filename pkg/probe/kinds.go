// Package probe measures Kubernetes API latency from inside the process, open loop.
//
// A Prober fires one request per kind on a fixed schedule, each in its own goroutine, and reports one
// Sample per request: a slow or timed-out response is a sample, never a gap, and never delays the next
// one. Stats turns samples into nearest-rank percentiles; SnapshotServer/DiffServer read the apiserver's
// own request-duration histograms for the same window. The package never loads a kubeconfig: callers
// pass clients built from DedicatedConfig.
package probe

import (
	"fmt"
	"strings"
)

// Kind is one probe kind; each covers one sig-scalability API call SLO bucket.
type Kind string

const (
	KindReadyz        Kind = "readyz"         // GET /readyz
	KindGet           Kind = "get"            // GET one ConfigMap (single-object read)
	KindListNamespace Kind = "list-namespace" // LIST ConfigMaps in one namespace
	KindListCluster   Kind = "list-cluster"   // LIST nodes (cluster-scoped)
	KindMutate        Kind = "mutate"         // create + patch + delete a tiny ConfigMap
	KindWatch         Kind = "watch"          // write an object, time until our own watch delivers it
)

// AllKinds lists every kind in display order.
var AllKinds = []Kind{KindReadyz, KindGet, KindListNamespace, KindListCluster, KindMutate, KindWatch}

// KindNames returns the names of AllKinds.
func KindNames() []string {
	names := make([]string, len(AllKinds))
	for i, k := range AllKinds {
		names[i] = string(k)
	}
	return names
}

// Valid reports whether k is one of AllKinds.
func (k Kind) Valid() bool {
	for _, known := range AllKinds {
		if k == known {
			return true
		}
	}
	return false
}

// ParseKinds parses a --probes value: "all", or a comma-separated list of kinds. Blanks around names and
// empty items are ignored, duplicates are dropped, order is kept.
func ParseKinds(csv string) ([]Kind, error) {
	var kinds []Kind
	seen := map[Kind]bool{}
	all := false
	for _, item := range strings.Split(csv, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		if item == "all" {
			all = true
			continue
		}
		k := Kind(item)
		if !k.Valid() {
			return nil, fmt.Errorf("unknown probe kind %q; valid kinds: %s (or all)", item, strings.Join(KindNames(), ", "))
		}
		if !seen[k] {
			seen[k] = true
			kinds = append(kinds, k)
		}
	}
	if all {
		return append([]Kind(nil), AllKinds...), nil
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no probe kinds given; valid kinds: %s (or all)", strings.Join(KindNames(), ", "))
	}
	return kinds, nil
}

// needsNamespace reports whether the kind creates or reads objects in Config.Namespace.
func (k Kind) needsNamespace() bool {
	return k == KindGet || k == KindMutate || k == KindWatch
}
