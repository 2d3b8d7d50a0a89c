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
