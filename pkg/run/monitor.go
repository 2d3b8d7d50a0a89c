package run

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// MonitorRecord is one line of monitor.jsonl.
type MonitorRecord struct {
	Time    time.Time      `json:"ts"`
	Phase   string         `json:"phase"`
	Type    string         `json:"type"` // node-usage, pod-usage, node-conditions, event, note
	Node    string         `json:"node,omitempty"`
	Pod     string         `json:"pod,omitempty"`
	CPU     string         `json:"cpu,omitempty"`
	Memory  string         `json:"memory,omitempty"`
	Ready   string         `json:"ready,omitempty"`
	Flags   []string       `json:"pressure,omitempty"` // node conditions other than Ready that are True
	Event   map[string]any `json:"event,omitempty"`
	Message string         `json:"message,omitempty"`
}

// monitor samples, every interval until ctx ends: node and pod usage from the metrics API (when metrics-server is
// there), node conditions, and the events of the run's namespaces, into monitor.jsonl.
func (r *Runner) monitor(ctx context.Context, interval time.Duration) (stop func()) {
	w, err := result.CreateJSONL(filepath.Join(r.dir, result.MonitorFile))
	if err != nil {
		r.note("monitor not started: " + err.Error())
		return func() {}
	}
	mc, err := metricsclient.NewForConfig(r.env.RestConfig)
	if err != nil {
		mc = nil
	}
	mctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer w.Close()
		metricsOK := mc != nil
		seen := map[string]bool{} // events already written
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			phase := r.phase.Load().(string)
			now := time.Now()
			emit := func(rec MonitorRecord) { rec.Time, rec.Phase = now, phase; _ = w.Write(rec) }
			if metricsOK {
				if err := r.monitorUsage(mctx, mc, emit); err != nil {
					metricsOK = false
					msg := "metrics API unavailable (metrics-server absent?): node conditions and events only: " + err.Error()
					emit(MonitorRecord{Type: "note", Message: msg})
					r.note(msg)
				}
			}
			if nodes, err := r.env.Client.CoreV1().Nodes().List(mctx, metav1.ListOptions{}); err == nil {
				for _, n := range nodes.Items {
					rec := MonitorRecord{Type: "node-conditions", Node: n.Name}
					for _, c := range n.Status.Conditions {
						if c.Type == corev1.NodeReady {
							rec.Ready = string(c.Status)
						} else if c.Status == corev1.ConditionTrue {
							rec.Flags = append(rec.Flags, string(c.Type))
						}
					}
					emit(rec)
				}
			}
			if nss, err := r.env.Client.CoreV1().Namespaces().List(mctx, metav1.ListOptions{LabelSelector: cluster.Selector(r.env.RunID)}); err == nil {
				for _, ns := range nss.Items {
					evs, err := r.env.Client.CoreV1().Events(ns.Name).List(mctx, metav1.ListOptions{})
					if err != nil {
						continue
					}
					for _, e := range evs.Items {
						key := fmt.Sprintf("%s/%d", e.UID, e.Count)
						if seen[key] {
							continue
						}
						seen[key] = true
						emit(MonitorRecord{Type: "event", Event: map[string]any{"namespace": e.Namespace, "type": e.Type, "reason": e.Reason,
							"object": e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name, "message": e.Message, "count": e.Count}})
					}
				}
			}
			select {
			case <-mctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func (r *Runner) monitorUsage(ctx context.Context, mc metricsclient.Interface, emit func(MonitorRecord)) error {
	nm, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, n := range nm.Items {
		emit(MonitorRecord{Type: "node-usage", Node: n.Name, CPU: n.Usage.Cpu().String(), Memory: n.Usage.Memory().String()})
	}
	nss, err := r.env.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(r.env.RunID)})
	if err != nil {
		return nil
	}
	for _, ns := range nss.Items {
		pm, err := mc.MetricsV1beta1().PodMetricses(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, p := range pm.Items {
			cpu, mem := int64(0), int64(0)
			for _, c := range p.Containers {
				cpu += c.Usage.Cpu().MilliValue()
				mem += c.Usage.Memory().Value()
			}
			emit(MonitorRecord{Type: "pod-usage", Pod: p.Namespace + "/" + p.Name, CPU: fmt.Sprintf("%dm", cpu), Memory: fmt.Sprintf("%dMi", mem>>20)})
		}
	}
	return nil
}
