package churn

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

const (
	// watchRetry is the pause before re-opening a watch that could not be opened.
	watchRetry = time.Second
	// watchReopenPause is the least time between the openings of a watch that keeps ending.
	watchReopenPause = 100 * time.Millisecond
)

// watcher is one of the engine's independent watches on its objects (by the engine's label selector). It opens
// with a list (for a resourceVersion) and a watch from there, then keeps the watch open until stopped: a closed
// watch is re-opened from the last resourceVersion seen, and one the server no longer has is listed again (every
// listed object then counts as an add notification, a duplicate when it was seen already).
type watcher struct {
	idx      int
	objs     objects
	selector string
	timeout  time.Duration
	clk      clock.WithTicker
	tr       *tracker
	emit     func(Sample)

	rv     string
	cancel context.CancelFunc
	done   chan struct{}
}

// start lists and opens the watch, bounded by the request timeout, then consumes it in the background until stop.
func (w *watcher) start(ctx context.Context) error {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.done = make(chan struct{})
	wi, err := w.open(lctx, true)
	if err != nil {
		cancel()
		close(w.done)
		return fmt.Errorf("failed to watch the churned objects (%s): %w", w.selector, err)
	}
	go w.loop(lctx, wi)
	return nil
}

func (w *watcher) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
}

// open lists (when relist, or when there is no resourceVersion) and watches from the resourceVersion, each call
// bounded by the request timeout.
func (w *watcher) open(ctx context.Context, relist bool) (watch.Interface, error) {
	if relist || w.rv == "" {
		lctx, cancel := context.WithTimeout(ctx, w.timeout)
		rv, items, err := w.objs.list(lctx, metav1.ListOptions{LabelSelector: w.selector})
		cancel()
		if err != nil {
			return nil, err
		}
		at := w.clk.Now()
		for i := range items {
			w.observe(EventAdd, &items[i], at)
		}
		w.rv = rv
	}
	return probe.OpenWatch(ctx, w.clk, w.timeout, func(wctx context.Context) (watch.Interface, error) {
		return w.objs.watch(wctx, metav1.ListOptions{LabelSelector: w.selector, ResourceVersion: w.rv, AllowWatchBookmarks: true})
	})
}

func (w *watcher) loop(ctx context.Context, wi watch.Interface) {
	defer close(w.done)
	for {
		relist := false
		if wi != nil {
			opened := w.clk.Now()
			relist = w.consume(ctx, wi)
			wi.Stop()
			// A watch that ends at once (e.g. "too large resource version" from a lagging watch cache) is not
			// re-opened in a busy loop.
			if w.clk.Since(opened) < watchReopenPause {
				t := w.clk.NewTimer(watchReopenPause)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C():
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		if wi, err = w.open(ctx, relist); err != nil {
			wi = nil
			t := w.clk.NewTimer(watchRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			continue
		}
		w.tr.watchReopened(relist)
	}
}

// consume handles events until the watch closes or ctx is done; it reports whether the watch must be listed
// again (the server no longer has its resourceVersion).
func (w *watcher) consume(ctx context.Context, wi watch.Interface) (relist bool) {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return false
			}
			at := w.clk.Now()
			var typ EventType
			switch ev.Type {
			case watch.Added:
				typ = EventAdd
			case watch.Modified:
				typ = EventUpdate
			case watch.Deleted:
				typ = EventDelete
			case watch.Bookmark:
				if m, err := meta.Accessor(ev.Object); err == nil {
					w.rv = m.GetResourceVersion()
				}
				continue
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
			default:
				continue
			}
			m, err := meta.Accessor(ev.Object)
			if err != nil {
				continue
			}
			w.rv = m.GetResourceVersion()
			w.observe(typ, m, at)
		}
	}
}

func (w *watcher) observe(typ EventType, m metav1.Object, at time.Time) {
	if s, ok := w.tr.observe(w.idx, typ, m.GetName(), genOf(m), at); ok {
		w.emit(s)
	}
}
