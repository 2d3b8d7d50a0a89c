package podstartup

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Config says which pods Watch follows.
type Config struct {
	Namespace     string // "" for every namespace
	LabelSelector string // e.g. cluster.Selector(runID)
	// Clock stamps the receive times (nil: the real clock).
	Clock clock.PassiveClock
}

// Watch feeds t from two informers in this process, one on the pods cfg selects and one on the Events about
// pods (cfg.Namespace), each event stamped with the client's receive time. It returns once both have listed (pods
// that exist then are never measured), and they run until ctx is done; wait blocks until they have stopped.
// The receive time is the handler's clock reading: informer handlers run right after the watch event is decoded
// and queued (the queueing is included; microseconds while the handler keeps up).
func Watch(ctx context.Context, c kubernetes.Interface, cfg Config, t *Tracker) (wait func(), err error) {
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	pods := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = cfg.LabelSelector
			return c.CoreV1().Pods(cfg.Namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = cfg.LabelSelector
			return c.CoreV1().Pods(cfg.Namespace).Watch(ctx, o)
		},
	}
	events := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = "involvedObject.kind=Pod"
			return c.CoreV1().Events(cfg.Namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = "involvedObject.kind=Pod"
			return c.CoreV1().Events(cfg.Namespace).Watch(ctx, o)
		},
	}
	pod := func(obj any) *corev1.Pod {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		p, _ := obj.(*corev1.Pod)
		return p
	}
	_, podCtl := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: pods, ObjectType: &corev1.Pod{},
		Handler: cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(obj any, initial bool) {
				if p := pod(obj); p != nil {
					t.Observe(p, clk.Now(), initial)
				}
			},
			UpdateFunc: func(_, obj any) {
				if p := pod(obj); p != nil {
					t.Observe(p, clk.Now(), false)
				}
			},
			DeleteFunc: func(obj any) {
				if p := pod(obj); p != nil {
					t.Deleted(p)
				}
			},
		}})
	event := func(obj any) {
		if e, ok := obj.(*corev1.Event); ok {
			t.ObserveEvent(e, clk.Now())
		}
	}
	_, evCtl := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: events, ObjectType: &corev1.Event{},
		Handler: cache.ResourceEventHandlerDetailedFuncs{
			AddFunc:    func(obj any, _ bool) { event(obj) },
			UpdateFunc: func(_, obj any) { event(obj) },
		}})
	var wg sync.WaitGroup
	for _, ctl := range []cache.Controller{podCtl, evCtl} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctl.RunWithContext(ctx)
		}()
	}
	if !cache.WaitForCacheSync(ctx.Done(), podCtl.HasSynced, evCtl.HasSynced) {
		wg.Wait()
		return wg.Wait, fmt.Errorf("pod startup watch: pods and events not listed: %w", ctx.Err())
	}
	return wg.Wait, nil
}
