// Package probe measures Kubernetes API latency from inside the process, open loop.
//
// A Prober fires one request per kind on a fixed schedule, each in its own goroutine, and reports one
// Sample per request: a slow or timed-out response is a sample, never a gap, and never delays the next
// one. Stats turns samples into nearest-rank percentiles; SnapshotServer/DiffServer read the apiserver's
// own request-duration histograms for the same window. The package never loads a kubeconfig: callers
// pass clients built from DedicatedConfig.
package probe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
)

// Kind is one probe kind; each covers one sig-scalability API call SLO bucket. Every kind is declared once, in
// the table kindTable below.
type Kind string

const (
	KindReadyz        Kind = "readyz"         // GET /readyz
	KindGet           Kind = "get"            // GET one ConfigMap (single-object read)
	KindListNamespace Kind = "list-namespace" // LIST ConfigMaps in one namespace
	KindListCluster   Kind = "list-cluster"   // LIST nodes (cluster-scoped)
	KindMutate        Kind = "mutate"         // create + patch + delete a tiny ConfigMap
	KindWatch         Kind = "watch"          // write an object, time until our own watch delivers it
)

// SLOClass is the sig-scalability API call latency SLO a kind is judged by (the thresholds are the verdict's).
type SLOClass string

const (
	SLONone         SLOClass = ""              // not a kind (e.g. the "all" summary row): no SLO
	SLOSingleObject SLOClass = "single-object" // mutating and single-object read calls: p99 <= 1 s
	SLOList         SLOClass = "list"          // LIST calls, namespace- and cluster-scoped: p99 <= 30 s
)

// scope is where a permission of a kind applies.
type scope int

const (
	clusterScoped    scope = iota // a cluster-scoped resource, or a non-resource URL
	inProbeNamespace              // Config.Namespace, the namespace the probe owns (it must exist)
	inListNamespace               // Config.ListNamespace (DefaultListNamespace when empty)
)

// permission is what a kind needs: verbs on a core-group resource in a scope, or on a non-resource URL (path).
type permission struct {
	verbs    []string
	resource string
	path     string
	in       scope
}

func configMaps(in scope, verbs ...string) permission {
	return permission{verbs: verbs, resource: "configmaps", in: in}
}

// shot is one scheduled request of a kind: its sample so far (Kind and Seq set), the number of the Run it belongs
// to, and its intended start.
type shot struct {
	base     Sample
	run      int
	seq      int64
	intended time.Time
}

// kindSpec declares a probe kind: everything the rest of the code knows about it is derived from here.
type kindSpec struct {
	kind Kind
	// request makes one scheduled request and returns its samples (mutate: one per verb, with the same seq).
	request func(p *Prober, ctx context.Context, s shot) []Sample
	// setup prepares the kind in Setup (get: its ConfigMap; watch: its ConfigMap and the watch); nil: nothing to
	// prepare. Teardown deletes every ConfigMap the probe may have created.
	setup func(p *Prober, ctx context.Context) error
	// needs are the permissions of request, setup and Teardown: checked before a run (preflight) and granted to the
	// in-cluster probe's ServiceAccount. A kind needs the probe's namespace when one of them is in it.
	needs []permission
	slo   SLOClass
}

// kindTable declares every probe kind, in display order. A new kind is one entry here plus its request function.
var kindTable = []kindSpec{
	{kind: KindReadyz, request: (*Prober).readyz, slo: SLOSingleObject,
		needs: []permission{{verbs: []string{"get"}, path: "/readyz"}}},
	{kind: KindGet, request: (*Prober).getOne, setup: (*Prober).setupGet, slo: SLOSingleObject,
		needs: []permission{configMaps(inProbeNamespace, "get", "create", "delete")}},
	{kind: KindListNamespace, request: (*Prober).listInNamespace, slo: SLOList,
		needs: []permission{configMaps(inListNamespace, "list")}},
	{kind: KindListCluster, request: (*Prober).listNodes, slo: SLOList,
		needs: []permission{{verbs: []string{"list"}, resource: "nodes"}}},
	{kind: KindMutate, request: (*Prober).mutate, slo: SLOSingleObject,
		needs: []permission{configMaps(inProbeNamespace, "create", "patch", "delete")}},
	{kind: KindWatch, request: (*Prober).watchOnce, setup: (*Prober).setupWatch, slo: SLOSingleObject,
		needs: []permission{configMaps(inProbeNamespace, "watch", "create", "patch", "delete")}},
}

// AllKinds lists every kind in display order.
var AllKinds = func() []Kind {
	out := make([]Kind, len(kindTable))
	for i, s := range kindTable {
		out[i] = s.kind
	}
	return out
}()

// spec is the table entry of k; nil for an unknown kind.
func (k Kind) spec() *kindSpec {
	for i := range kindTable {
		if kindTable[i].kind == k {
			return &kindTable[i]
		}
	}
	return nil
}

// KindNames returns the names of AllKinds.
func KindNames() []string {
	names := make([]string, len(AllKinds))
	for i, k := range AllKinds {
		names[i] = string(k)
	}
	return names
}

// Valid reports whether k is one of AllKinds.
func (k Kind) Valid() bool { return k.spec() != nil }

// SLOClass is the SLO the kind is judged by; SLONone for anything but a kind (the "all" row).
func (k Kind) SLOClass() SLOClass {
	if s := k.spec(); s != nil {
		return s.slo
	}
	return SLONone
}

// NeedsNamespace reports whether the kind creates or reads objects in Config.Namespace (the probe's own namespace,
// which must exist).
func (k Kind) NeedsNamespace() bool {
	if s := k.spec(); s != nil {
		for _, p := range s.needs {
			if p.in == inProbeNamespace {
				return true
			}
		}
	}
	return false
}

// urlPath is the non-resource URL the kind requests (with the REST client), "" when none.
func (k Kind) urlPath() string {
	if s := k.spec(); s != nil {
		for _, p := range s.needs {
			if p.path != "" {
				return p.path
			}
		}
	}
	return ""
}

// Needs lists what the kind needs with cfg, including what Setup and Teardown do for it (the get and watch kinds
// create and delete their ConfigMap).
func (k Kind) Needs(cfg Config) []authz.Access {
	s := k.spec()
	if s == nil {
		return nil
	}
	var out []authz.Access
	for _, p := range s.needs {
		for _, v := range p.verbs {
			a := authz.Access{Verb: v, Resource: p.resource, Path: p.path}
			switch p.in {
			case inProbeNamespace:
				a.Namespace = cfg.Namespace
			case inListNamespace:
				a.Namespace = listNamespace(cfg)
			}
			out = append(out, a)
		}
	}
	return out
}

// Needs lists, without duplicates and in order, what the kinds need with cfg (Kind.Needs): for a preflight check of
// a whole run, and for the in-cluster probe's RBAC (ClusterProbeGrants).
func Needs(kinds []Kind, cfg Config) []authz.Access {
	var out []authz.Access
	seen := map[authz.Key]bool{}
	for _, k := range kinds {
		for _, a := range k.Needs(cfg) {
			if !seen[a.Key()] {
				seen[a.Key()] = true
				out = append(out, a)
			}
		}
	}
	return out
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

// namespaceKinds is "the get, mutate and watch probes": the kinds that need the probe's namespace, for errors.
func namespaceKinds() string {
	var names []string
	for _, k := range AllKinds {
		if k.NeedsNamespace() {
			names = append(names, string(k))
		}
	}
	if n := len(names); n > 1 {
		return "the " + strings.Join(names[:n-1], ", ") + " and " + names[n-1] + " probes"
	}
	return "the " + strings.Join(names, "") + " probe"
}
