package churn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// cleanupPoll is how often Cleanup lists while waiting for the deleted objects to be gone.
const cleanupPoll = 200 * time.Millisecond

// Cleanup deletes every object of the engine (by its selector: Config.Labels, IDLabel, component) and waits until
// none is left, bounded by ctx. Call it after Wait (a create still in flight could otherwise land after it). It
// returns how many objects were there.
func (e *Engine) Cleanup(ctx context.Context) (int, error) {
	e.mu.Lock()
	running := e.started && !e.waited
	e.mu.Unlock()
	if running {
		return 0, errors.New("churn cleanup called while the engine may still write: call Wait first")
	}
	return Cleanup(ctx, e.client, e.cfg.Kind, e.cfg.Namespace, e.selector)
}

// Cleanup deletes every object of kind in namespace ns that selector selects (one delete-collection request) and
// waits until a list finds none, bounded by ctx. The selector must name cluster.ManagedByLabel, so that nothing
// kubectl-pyrometer did not create is ever deleted (e.g. cluster.Selector(runID)). It returns how many objects
// the first list found.
func Cleanup(ctx context.Context, c kubernetes.Interface, kind Kind, ns, selector string) (int, error) {
	if !strings.Contains(selector, cluster.ManagedByLabel+"="+cluster.ManagedBy) {
		return 0, fmt.Errorf("refusing to clean up churn objects with selector %q: it must select %s=%s", selector, cluster.ManagedByLabel, cluster.ManagedBy)
	}
	objs := objectsFor(c, kind, ns)
	opts := metav1.ListOptions{LabelSelector: selector}
	_, items, err := objs.list(ctx, opts)
	if err != nil {
		return 0, fmt.Errorf("failed to list churned %ss in namespace %q: %w", kind, ns, err)
	}
	found := len(items)
	if found == 0 {
		return 0, nil
	}
	if err := objs.deleteCollection(ctx, opts); err != nil {
		return found, fmt.Errorf("failed to delete churned %ss in namespace %q: %w", kind, ns, err)
	}
	for {
		_, items, err := objs.list(ctx, opts)
		if err != nil {
			return found, fmt.Errorf("failed to list churned %ss in namespace %q: %w", kind, ns, err)
		}
		if len(items) == 0 {
			return found, nil
		}
		t := time.NewTimer(cleanupPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return found, fmt.Errorf("%d churned %ss still in namespace %q: %w", len(items), kind, ns, ctx.Err())
		case <-t.C:
		}
	}
}
