package safety

import (
	"context"
	"errors"
	"slices"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// kindReviewer answers SelfSubjectAccessReviews, denying the given "verb resource namespace" or "verb path"
// keys, and records every review it saw.
func kindReviewer(cs *fake.Clientset, denied ...string) *[]string {
	var seen []string
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		var key string
		if ra := review.Spec.ResourceAttributes; ra != nil {
			key = ra.Verb + " " + ra.Resource + " " + ra.Namespace
		} else {
			key = review.Spec.NonResourceAttributes.Verb + " " + review.Spec.NonResourceAttributes.Path
		}
		seen = append(seen, key)
		review.Status.Allowed = !slices.Contains(denied, key)
		return true, review, nil
	})
	return &seen
}

func TestPermitted(t *testing.T) {
	cfg := probe.Config{Kinds: probe.AllKinds, Namespace: "probe-ns"}
	tests := []struct {
		name      string
		denied    []string
		wantKinds []probe.Kind
		wantNotes []string
	}{
		{name: "everything allowed", wantKinds: probe.AllKinds},
		{
			name:      "no nodes, no /readyz",
			denied:    []string{"list nodes ", "get /readyz"},
			wantKinds: []probe.Kind{probe.KindGet, probe.KindListNamespace, probe.KindMutate, probe.KindWatch},
			wantNotes: []string{"readyz: not permitted (get /readyz)", "list-cluster: not permitted (list nodes)"},
		},
		{
			name:      "no patch drops mutate and watch, not get",
			denied:    []string{"patch configmaps probe-ns"},
			wantKinds: []probe.Kind{probe.KindReadyz, probe.KindGet, probe.KindListNamespace, probe.KindListCluster},
			wantNotes: []string{
				`mutate: not permitted (patch configmaps in namespace "probe-ns")`,
				`watch: not permitted (patch configmaps in namespace "probe-ns")`,
			},
		},
		{
			name:      "list in the default list namespace, several verbs missing",
			denied:    []string{"list configmaps kube-system", "watch configmaps probe-ns", "delete configmaps probe-ns"},
			wantKinds: []probe.Kind{probe.KindReadyz, probe.KindListCluster},
			wantNotes: []string{
				`get: not permitted (delete configmaps in namespace "probe-ns")`,
				`list-namespace: not permitted (list configmaps in namespace "kube-system")`,
				`mutate: not permitted (delete configmaps in namespace "probe-ns")`,
				`watch: not permitted (watch, delete configmaps in namespace "probe-ns")`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			seen := kindReviewer(cs, tc.denied...)
			kinds, notes, err := permitted(context.Background(), cs, cfg)
			if err != nil {
				t.Fatalf("permitted: %v", err)
			}
			if !slices.Equal(kinds, tc.wantKinds) {
				t.Errorf("kinds = %v, want %v", kinds, tc.wantKinds)
			}
			if !slices.Equal(notes, tc.wantNotes) {
				t.Errorf("notes =\n%q\nwant\n%q", notes, tc.wantNotes)
			}
			// Each distinct access is reviewed once: get(3) + create/delete shared, patch, watch, list x2, /readyz.
			if want := 8; len(*seen) != want {
				t.Errorf("%d reviews (%v), want %d distinct ones", len(*seen), *seen, want)
			}
		})
	}
}

func TestPermittedListNamespaceAndSubset(t *testing.T) {
	cs := fake.NewClientset()
	seen := kindReviewer(cs, "list configmaps kube-system")
	kinds, notes, err := permitted(context.Background(), cs, probe.Config{Kinds: []probe.Kind{probe.KindListNamespace}, ListNamespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kinds, []probe.Kind{probe.KindListNamespace}) || len(notes) != 0 {
		t.Errorf("kinds/notes = %v/%v, want list-namespace allowed in --list-namespace apps", kinds, notes)
	}
	if !slices.Equal(*seen, []string{"list configmaps apps"}) {
		t.Errorf("reviews = %v, want only list configmaps in apps", *seen)
	}
}

func TestPermittedReviewError(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	_, _, err := permitted(context.Background(), cs, probe.Config{Kinds: []probe.Kind{probe.KindListCluster}})
	if err == nil || err.Error() != "failed to review access (list nodes): connection refused" {
		t.Errorf("error = %v, want the failed review named", err)
	}
}
