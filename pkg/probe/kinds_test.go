package probe

import (
	"slices"
	"testing"
)

func TestParseKinds(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Kind
		wantErr string
	}{
		{name: "all", in: "all", want: AllKinds},
		{name: "all with others", in: "get, all", want: AllKinds},
		{name: "list keeps order", in: "watch,get", want: []Kind{KindWatch, KindGet}},
		{name: "blanks, case and duplicates", in: " Get ,,list-cluster,get", want: []Kind{KindGet, KindListCluster}},
		{name: "unknown", in: "get,lsit", wantErr: `unknown probe kind "lsit"; valid kinds: readyz, get, list-namespace, list-cluster, mutate, watch (or all)`},
		{name: "unknown beside all", in: "all,nope", wantErr: `unknown probe kind "nope"; valid kinds: readyz, get, list-namespace, list-cluster, mutate, watch (or all)`},
		{name: "empty", in: " , ", wantErr: "no probe kinds given; valid kinds: readyz, get, list-namespace, list-cluster, mutate, watch (or all)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKinds(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseKinds(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKinds(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseKinds(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseKindsAllIsACopy(t *testing.T) {
	got, err := ParseKinds("all")
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "changed"
	if AllKinds[0] != KindReadyz {
		t.Fatalf("ParseKinds(\"all\") returned AllKinds itself; mutating it changed AllKinds[0] to %q", AllKinds[0])
	}
}

// TestKindTable: every kind is declared completely, and what the rest of the code derives from the table is what
// it hard-coded before (namespace need, SLO class, needs).
func TestKindTable(t *testing.T) {
	if len(kindTable) != len(AllKinds) {
		t.Fatalf("AllKinds has %d kinds, the table %d", len(AllKinds), len(kindTable))
	}
	cfg := Config{Namespace: "probe-ns", ListNamespace: "apps"}
	for i, s := range kindTable {
		if AllKinds[i] != s.kind {
			t.Errorf("AllKinds[%d] = %s, the table's entry %s (display order is the table's)", i, AllKinds[i], s.kind)
		}
		if s.request == nil || len(s.needs) == 0 || s.slo == SLONone {
			t.Errorf("kind %s: every kind needs a request function, its permissions and an SLO class: %+v", s.kind, s)
		}
		if !s.kind.Valid() || s.kind.spec() != &kindTable[i] {
			t.Errorf("kind %s is not found in the table", s.kind)
		}
		for _, a := range s.kind.Needs(cfg) {
			if a.Namespace == "" && a.Path == "" && a.Resource == "configmaps" {
				t.Errorf("kind %s needs configmaps in every namespace: %s", s.kind, a)
			}
		}
	}
	for _, k := range AllKinds {
		want := k == KindGet || k == KindMutate || k == KindWatch
		if k.NeedsNamespace() != want {
			t.Errorf("%s.NeedsNamespace() = %v, want %v", k, !want, want)
		}
		wantSLO := SLOSingleObject
		if k == KindListNamespace || k == KindListCluster {
			wantSLO = SLOList
		}
		if k.SLOClass() != wantSLO {
			t.Errorf("%s.SLOClass() = %q, want %q", k, k.SLOClass(), wantSLO)
		}
	}
	if Kind("all").SLOClass() != SLONone || Kind("all").NeedsNamespace() || Kind("nope").Needs(cfg) != nil {
		t.Error("an unknown kind (the all row) has no SLO, namespace or needs")
	}
	if got := namespaceKinds(); got != "the get, mutate and watch probes" {
		t.Errorf("namespaceKinds() = %q", got)
	}
	// What the kinds need, as requiredAccess listed it by hand before the table.
	want := map[Kind][]string{
		KindReadyz:        {"get /readyz"},
		KindGet:           {`get configmaps in namespace "probe-ns"`, `create configmaps in namespace "probe-ns"`, `delete configmaps in namespace "probe-ns"`},
		KindListNamespace: {`list configmaps in namespace "apps"`},
		KindListCluster:   {"list nodes"},
		KindMutate:        {`create configmaps in namespace "probe-ns"`, `patch configmaps in namespace "probe-ns"`, `delete configmaps in namespace "probe-ns"`},
		KindWatch: {`watch configmaps in namespace "probe-ns"`, `create configmaps in namespace "probe-ns"`, `patch configmaps in namespace "probe-ns"`,
			`delete configmaps in namespace "probe-ns"`},
	}
	for k, w := range want {
		var got []string
		for _, a := range k.Needs(cfg) {
			got = append(got, a.String())
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s needs %q, want %q", k, got, w)
		}
	}
	if got := KindListNamespace.Needs(Config{})[0].Namespace; got != DefaultListNamespace {
		t.Errorf("list-namespace without --list-namespace lists in %q, want %q", got, DefaultListNamespace)
	}
	if n := len(Needs(AllKinds, cfg)); n != 8 {
		t.Errorf("Needs(all kinds) has %d distinct accesses, want 8 (duplicates dropped)", n)
	}
}
