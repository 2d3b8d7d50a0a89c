package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
)

// startPoll is how often a worker reads the start ConfigMap while it waits for the start time.
const startPoll = 100 * time.Millisecond

// RunAgent is worker index's process (the pod's hidden `__load-worker` command): it waits for the start time the
// plugin writes into the start ConfigMap, runs its share of every load of spec (WorkerConfig) from then for
// spec.Window, and writes every sample, then every load's result, as JSON lines (Line) to out. Cancelling ctx
// (SIGTERM: the Job was deleted) stops the engines at once; their results are still written.
func RunAgent(ctx context.Context, spec Spec, index int, rc *rest.Config, out io.Writer) error {
	if index < 0 || index >= spec.Workers {
		return fmt.Errorf("invalid worker index %d: the job has %d workers", index, spec.Workers)
	}
	rc = rest.CopyConfig(rc)
	rc.Timeout = 0
	writes, watches, err := churn.NewClients(rc)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	emit := func(l Line) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(l)
	}
	start, err := waitStart(ctx, writes, spec)
	if err != nil {
		emit(Line{Error: err.Error()})
		return err
	}
	if d := time.Until(start); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			emit(Line{Error: "stopped before the start time", Done: true})
			return nil
		case <-t.C:
		}
	}
	engs := make([]*churn.Engine, len(spec.Loads))
	for j, base := range spec.Loads {
		cfg := WorkerConfig(base, spec.Workers, index)
		if base.Count > 0 && cfg.Count == 0 {
			continue // fewer objects than workers: this worker has none of this load
		}
		e, err := churn.New(cfg, writes, watches, nil)
		if err == nil {
			j := j
			err = e.Start(ctx, func(s churn.Sample) { emit(Line{Load: j, Sample: &s}) })
		}
		if err != nil {
			for _, o := range engs {
				if o != nil {
					o.Stop()
					_, _ = o.Wait()
				}
			}
			emit(Line{Error: fmt.Sprintf("failed to start load %d (%s): %v", j, base.NamePrefix, err), Done: true})
			return err
		}
		engs[j] = e
	}
	now := time.Now()
	emit(Line{Started: &now})
	t := time.NewTimer(time.Until(start.Add(spec.Window)))
	interrupted := false
	select {
	case <-ctx.Done():
		interrupted = true
	case <-t.C:
	}
	t.Stop()
	for _, e := range engs {
		if e != nil {
			e.Stop()
		}
	}
	for j, e := range engs {
		var res churn.Result
		if e != nil {
			res, _ = e.Wait() // context.Canceled only says it was stopped
		} else {
			res = churn.Result{Delivery: churn.Delivery{Ratio: 1}, Verdict: churn.Verdict{Delivered: true, Ratio: 1}}
		}
		emit(Line{Load: j, Result: &res})
	}
	emit(Line{Done: true, Interrupted: interrupted})
	return nil
}

// waitStart reads the start ConfigMap until it holds the start time (bounded by spec.StartTimeout).
func waitStart(ctx context.Context, c kubernetes.Interface, spec Spec) (time.Time, error) {
	timeout := spec.StartTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cm, err := c.CoreV1().ConfigMaps(spec.Namespace).Get(wctx, spec.StartConfigMap, metav1.GetOptions{})
		if err == nil {
			if v := cm.Data[StartKey]; v != "" {
				t, perr := time.Parse(time.RFC3339Nano, v)
				if perr != nil {
					return time.Time{}, fmt.Errorf("invalid start time %q in configmap %s: %w", v, spec.StartConfigMap, perr)
				}
				return t, nil
			}
		} else {
			last = err
		}
		t := time.NewTimer(startPoll)
		select {
		case <-wctx.Done():
			t.Stop()
			if last != nil {
				return time.Time{}, fmt.Errorf("no start time in configmap %s/%s: %w (last error: %v)", spec.Namespace, spec.StartConfigMap, wctx.Err(), last)
			}
			return time.Time{}, fmt.Errorf("no start time in configmap %s/%s: %w", spec.Namespace, spec.StartConfigMap, wctx.Err())
		case <-t.C:
		}
	}
}
