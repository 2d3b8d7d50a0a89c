package run

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/podstartup"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// BreakerConfig says when a ramp step is stopped early.
type BreakerConfig struct {
	Interval        time.Duration // how often the step is checked
	SchedulingGrace time.Duration // how long a pod may stay unschedulable
	MaxErrorRate    float64       // fraction of failed probe samples in the step (0 = off)
	MinSamples      int           // samples needed before the error rate counts
	AbortP99MS      float64       // p99 of the step's successful samples above which the ramp stops (0 = off)
}

// breaker watches one ramp step: its namespace's pods and events, and the probe samples of the step. When a check
// trips it cancels the step's context and keeps the reason.
type breaker struct {
	cfg     BreakerConfig
	r       *Runner
	ns      string
	phase   string
	cancel  context.CancelFunc
	mu      sync.Mutex
	reason  string
	tripped time.Time
}

func (r *Runner) startBreaker(ctx context.Context, ns, phase string) (context.Context, *breaker, func()) {
	sctx, cancel := context.WithCancel(ctx)
	b := &breaker{cfg: r.cfg.Breaker, r: r, ns: ns, phase: phase, cancel: cancel}
	if b.cfg.Interval <= 0 {
		b.cfg.Interval = 2 * time.Second
	}
	if b.cfg.SchedulingGrace <= 0 {
		b.cfg.SchedulingGrace = 15 * time.Second
	}
	if b.cfg.MinSamples <= 0 {
		b.cfg.MinSamples = 10
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		defer func() {
			if p := recover(); p != nil { // a bug in a check stops the step (and so the ramp), never the process
				b.trip(fmt.Sprintf("internal error (panic in the breaker: %v)", p))
			}
		}()
		t := time.NewTicker(b.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-done:
				return
			case <-t.C:
				if reason := b.check(sctx); reason != "" {
					b.trip(reason)
					return
				}
			}
		}
	}()
	// The stop waits for the breaker's goroutine: no check of it (a list of pods or events) outlives the step.
	return sctx, b, func() { close(done); cancel(); <-exited }
}

func (b *breaker) trip(reason string) {
	b.mu.Lock()
	if b.reason == "" {
		b.reason, b.tripped = reason, time.Now()
	}
	b.mu.Unlock()
	b.r.logf("%s: breaker: %s; stopping the ramp", b.phase, reason)
	b.cancel()
}

// Reason is why the breaker tripped ("" if it did not).
func (b *breaker) Reason() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reason
}

// check returns a reason to stop the ramp, or "".
func (b *breaker) check(ctx context.Context) string {
	c := b.r.env.Client
	// named pod startup failures (maxPods exhausted, pod CIDR exhausted, sandbox creation failed): density.go
	if reason := b.r.pods.trouble(b.cfg.SchedulingGrace); reason != "" {
		return reason
	}
	pods, err := c.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, p := range pods.Items {
			if isWorkerPod(p) { // the load workers' own start-up check names the worker (workers.go)
				continue
			}
			if reason := podTrouble(p, b.cfg.SchedulingGrace, time.Now()); reason != "" {
				return reason
			}
		}
	}
	evs, err := c.CoreV1().Events(b.ns).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err == nil {
		for _, e := range evs.Items {
			if strings.Contains(e.Message, "exceeded quota") || strings.Contains(e.Message, "forbidden: exceeded") {
				return fmt.Sprintf("quota exceeded in %s: %s %s: %s", b.ns, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
			}
		}
	}
	return b.checkSamples()
}

// podTrouble names what keeps a stress pod from running: unschedulable beyond the grace period, an image that
// cannot be pulled, a container that cannot be created.
func podTrouble(p corev1.Pod, grace time.Duration, now time.Time) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			now.Sub(c.LastTransitionTime.Time) >= grace {
			msg := fmt.Sprintf("pod %s/%s unschedulable for %v: %s", p.Namespace, p.Name, now.Sub(c.LastTransitionTime.Time).Round(time.Second), c.Message)
			if why := podstartup.Classify("FailedScheduling", c.Message); why == podstartup.ReasonMaxPods {
				msg = why + ": " + msg
			}
			return msg
		}
	}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			return fmt.Sprintf("pod %s/%s cannot pull image %s (%s); map it to a reachable registry with --image-map",
				p.Namespace, p.Name, cs.Image, w.Reason)
		case "CreateContainerConfigError", "CreateContainerError":
			return fmt.Sprintf("pod %s/%s cannot start: %s: %s", p.Namespace, p.Name, w.Reason, w.Message)
		}
	}
	return ""
}

// checkSamples applies the probe error-rate and p99 ceilings to the current step's local samples, those of its
// setup sub-phase (setup.go) and of its window, each on its own.
func (b *breaker) checkSamples() string {
	if b.cfg.MaxErrorRate <= 0 && b.cfg.AbortP99MS <= 0 {
		return ""
	}
	for _, phase := range []string{SetupPhase(b.phase), b.phase} {
		if reason := b.checkPhase(phase); reason != "" {
			if phase != b.phase {
				reason += " during the step's setup"
			}
			return reason
		}
	}
	return ""
}

func (b *breaker) checkPhase(phase string) string {
	st := b.r.agg.Pooled(probe.SourceLocal, phase)
	if st.Count < b.cfg.MinSamples {
		return ""
	}
	if b.cfg.MaxErrorRate > 0 && st.ErrorPct/100 > b.cfg.MaxErrorRate {
		return fmt.Sprintf("probe error rate %.1f%% (%d of %d samples) above --max-error-rate %g%%", st.ErrorPct, st.Errors, st.Count, math.Round(b.cfg.MaxErrorRate*100*1e6)/1e6)
	}
	if b.cfg.AbortP99MS > 0 && st.P99 > b.cfg.AbortP99MS {
		return fmt.Sprintf("probe p99 %.1f ms above --abort-p99 %.0f ms", st.P99, b.cfg.AbortP99MS)
	}
	return ""
}
