package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// errWatchClosed fails the seqs waiting on a watch that closed: the event may come later on the
// re-established watch, but the client-visible delivery was interrupted, so those seqs count as errors.
var errWatchClosed = errors.New("watch closed before the event was delivered (re-established)")

type watchOutcome struct {
	at  time.Time
	err error
}

// watcher keeps one watch open on the probe's watch ConfigMap (by label selector, in the probe's
// namespace) and hands each event's token to whoever waits for it.
type watcher struct {
	client   kubernetes.Interface
	ns, name string
	selector string
	timeout  time.Duration
	clk      clock.WithTicker

	mu      sync.Mutex
	rv      string // latest resourceVersion seen; "" after the server said it is too old
	pending map[string]chan watchOutcome

	cancel context.CancelFunc
	done   chan struct{}
}

func newWatcher(client kubernetes.Interface, cfg Config, name string, clk clock.WithTicker) *watcher {
	sel := map[string]string{RoleLabel: "watch"}
	for k, v := range cfg.Labels {
		sel[k] = v
	}
	return &watcher{
		client: client, ns: cfg.Namespace, name: name,
		selector: labels.SelectorFromSet(sel).String(),
		timeout:  cfg.RequestTimeout,
		clk:      clk,
		pending:  map[string]chan watchOutcome{},
		done:     make(chan struct{}),
	}
}

// start opens the first watch from rv (failing if it cannot be opened within the request timeout) and
// then keeps a watch open in the background until stop. The watch is not bound to ctx.
func (w *watcher) start(ctx context.Context, rv string) error {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.rv = rv
	wi, err := w.open(lctx)
	if err != nil {
		cancel()
		close(w.done)
		return fmt.Errorf("failed to watch probe ConfigMap %q in namespace %q: %w", w.name, w.ns, err)
	}
	go w.loop(lctx, wi)
	return nil
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

// open starts a watch from the latest resourceVersion, giving up after the request timeout.
func (w *watcher) open(ctx context.Context) (watch.Interface, error) {
	w.mu.Lock()
	opts := metav1.ListOptions{LabelSelector: w.selector, ResourceVersion: w.rv, AllowWatchBookmarks: true}
	w.mu.Unlock()

	return OpenWatch(ctx, w.clk, w.timeout, func(octx context.Context) (watch.Interface, error) {
		return w.client.CoreV1().ConfigMaps(w.ns).Watch(octx, opts)
	})
}

// OpenWatch opens a watch with start, bounding only its opening by timeout (client-go returns once the response
// headers arrived; the stream's context must stay alive after that): the returned watch releases its context when
// stopped, and a watch that opens after the timeout is stopped at once.
func OpenWatch(ctx context.Context, clk clock.Clock, timeout time.Duration, start func(context.Context) (watch.Interface, error)) (watch.Interface, error) {
	octx, cancel := context.WithCancel(ctx)
	type opened struct {
		wi  watch.Interface
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		wi, err := start(octx)
		ch <- opened{wi, err}
	}()
	timer := clk.NewTimer(timeout)
	defer timer.Stop()
	select {
	case o := <-ch:
		if o.err != nil {
			cancel()
			return nil, o.err
		}
		return &cancelOnStop{Interface: o.wi, cancel: cancel}, nil
	case <-timer.C():
		cancel()
		go func() { // reap a watch that opens after all
			if o := <-ch; o.wi != nil {
				o.wi.Stop()
			}
		}()
		return nil, fmt.Errorf("timeout after %s: %w", timeout, context.DeadlineExceeded)
	}
}

// cancelOnStop releases the watch request's context when the watch is stopped.
type cancelOnStop struct {
	watch.Interface
	cancel context.CancelFunc
}

func (c *cancelOnStop) Stop() {
	c.Interface.Stop()
	c.cancel()
}

// loop consumes wi, and re-opens the watch from the latest resourceVersion whenever it closes.
func (w *watcher) loop(ctx context.Context, wi watch.Interface) {
	defer close(w.done)
	for {
		if wi != nil {
			w.consume(ctx, wi)
			wi.Stop()
			w.failPending(errWatchClosed)
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		if wi, err = w.open(ctx); err != nil {
			wi = nil
			t := w.clk.NewTimer(watchRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
	}
}

// consume dispatches events until the watch closes, reports an error, or ctx is done.
func (w *watcher) consume(ctx context.Context, wi watch.Interface) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				at := w.clk.Now()
				cm, ok := ev.Object.(*corev1.ConfigMap)
				if !ok || cm.Name != w.name {
					continue
				}
				w.setRV(cm.ResourceVersion)
				w.deliver(cm.Annotations[TokenAnnotation], watchOutcome{at: at})
			case watch.Bookmark:
				if m, err := meta.Accessor(ev.Object); err == nil {
					w.setRV(m.GetResourceVersion())
				}
			case watch.Error:
				if err := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					w.setRV("") // too old: restart from the current state
				}
				return
			}
		}
	}
}

func (w *watcher) setRV(rv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rv = rv
}

// expect registers interest in token; the returned channel receives one outcome. forget must be called
// when done waiting.
func (w *watcher) expect(token string) (ch <-chan watchOutcome, forget func()) {
	c := make(chan watchOutcome, 1)
	w.mu.Lock()
	w.pending[token] = c
	w.mu.Unlock()
	return c, func() {
		w.mu.Lock()
		delete(w.pending, token)
		w.mu.Unlock()
	}
}

func (w *watcher) deliver(token string, o watchOutcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.pending[token]; ok {
		c <- o
		delete(w.pending, token)
	}
}

func (w *watcher) failPending(err error) {
	at := w.clk.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for token, c := range w.pending {
		c <- watchOutcome{at: at, err: err}
		delete(w.pending, token)
	}
}
