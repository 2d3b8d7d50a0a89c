package cmd

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// probeEnv carries the permission checks of the probe kinds (allowedKinds, can) that probe, run and plan use; the
// cluster connection itself is the run.Session. (Moved here unchanged from probe.go; issue 13 item 3 replaces them
// with one function in pkg/safety or pkg/probe.)
type probeEnv struct {
	client kubernetes.Interface
}

// allowedKinds drops (default kinds) or refuses (explicit --probes) kinds the identity may not use.
func (e *probeEnv) allowedKinds(ctx context.Context, f *ProbeFlags, cfg probe.Config, needNamespace bool) ([]probe.Kind, []string, error) {
	kinds, notes, err := probe.Permitted(ctx, e.client, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to check permissions: %w", err)
	}
	if needNamespace {
		ok, err := e.can(ctx, authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			var keep []probe.Kind
			for _, k := range kinds {
				if k == probe.KindGet || k == probe.KindMutate || k == probe.KindWatch {
					notes = append(notes, fmt.Sprintf("%s: not permitted (create namespaces, for the probe's own namespace)", k))
					continue
				}
				keep = append(keep, k)
			}
			kinds = keep
		}
	}
	if f.explicitKinds && len(notes) > 0 {
		return nil, nil, fmt.Errorf("not permitted: %s", strings.Join(notes, "; "))
	}
	if len(kinds) == 0 {
		return nil, nil, fmt.Errorf("no probe kind is permitted for this identity: %s", strings.Join(notes, "; "))
	}
	return kinds, notes, nil
}

func (e *probeEnv) can(ctx context.Context, ra authorizationv1.ResourceAttributes) (bool, error) {
	r, err := e.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
		&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("failed to check permission to %s %s: %w", ra.Verb, ra.Resource, err)
	}
	return r.Status.Allowed, nil
}
