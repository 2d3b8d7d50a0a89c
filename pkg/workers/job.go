package workers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// Name is the name of a step's worker Job, its ServiceAccount, Role and RoleBinding (in the step namespace).
const Name = "pyrometer-load-workers"

// StartLead is how far ahead of now the plugin sets the start time once every worker runs: enough for every worker
// to read it (each polls every 100 ms) and open its watches.
const StartLead = 2 * time.Second

// appLabel selects a Job's pods.
const appLabel = "kubepyrometer.io/app"

// offsetSamples is how many samples a worker's clock offset is estimated from (as for the in-cluster probe).
const offsetSamples = 30

// JobConfig configures the workers of one step.
type JobConfig struct {
	Spec         Spec
	Image        string // the plugin's own image
	PullSecrets  []string
	NodeSelector map[string]string
	Labels       map[string]string // managed-by, run-id, component: on everything created
	Annotations  map[string]string // of the ServiceAccount and RBAC objects (who created them)
	CPUMillis    int64             // requests = limits per worker (Size)
	MemoryMi     int64
	// StartTimeout bounds how long the workers may take to run (scheduling, image pull).
	StartTimeout time.Duration
	// UnschedulableGrace is how long a worker may stay unschedulable before the step fails (default 10 s).
	UnschedulableGrace time.Duration
	// Names are the loads' names for messages ("churn configmap"), by index of Spec.Loads.
	Names []string
}

// Job is a running step's workers.
type Job struct {
	cfg    JobConfig
	client kubernetes.Interface
	sink   func(churn.Sample)
	start  time.Time

	mu      sync.Mutex
	workers []*worker
	merge   []*Merger
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	killed  bool
}

type worker struct {
	index    int
	pod      string
	node     string
	results  []*churn.Result
	done     bool // its last line arrived
	ended    bool // its stream ended for good
	failure  string
	offset   float64 // ms, NaN until estimated
	nOffset  int
	samples  int
	errors   int
	lines    int
	started  bool
	endedAt  time.Time
	agentErr string
}

// Start creates the workers' ServiceAccount, Role, RoleBinding and Indexed Job, waits until every worker runs (or
// fails naming the worker that cannot: image pull, unschedulable, failed), streams their logs, and writes the start
// time into the start ConfigMap; it returns at the start time, when the load begins. Every raw sample goes to sink
// (on the plugin's clock). Everything created carries cfg.Labels: the caller deletes it by label, also when Start
// fails (the step namespace's teardown does).
func Start(ctx context.Context, client kubernetes.Interface, cfg JobConfig, sink func(churn.Sample)) (*Job, error) {
	n := cfg.Spec.Workers
	if n < 1 || cfg.Image == "" || cfg.Spec.Namespace == "" {
		return nil, errors.New("load workers need at least one worker, an image and a namespace")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.UnschedulableGrace <= 0 {
		cfg.UnschedulableGrace = 10 * time.Second
	}
	cfg.Spec.StartConfigMap = Name + "-start"
	cfg.Spec.StartTimeout = cfg.StartTimeout + time.Minute
	j := &Job{cfg: cfg, client: client, sink: sink}
	for i := range n {
		j.workers = append(j.workers, &worker{index: i, offset: math.NaN(), results: make([]*churn.Result, len(cfg.Spec.Loads))})
	}
	for range cfg.Spec.Loads {
		j.merge = append(j.merge, NewMerger())
	}
	if err := j.createRBAC(ctx); err != nil {
		return nil, err
	}
	if err := j.createJob(ctx); err != nil {
		return nil, err
	}
	if err := j.waitRunning(ctx); err != nil {
		return j, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancel = cancel
	for _, w := range j.workers {
		j.wg.Add(1)
		go j.stream(sctx, w)
	}
	j.start = time.Now().Add(StartLead)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Spec.StartConfigMap, Namespace: cfg.Spec.Namespace, Labels: cfg.Labels},
		Data: map[string]string{StartKey: j.start.UTC().Format(time.RFC3339Nano)}}
	if _, err := client.CoreV1().ConfigMaps(cfg.Spec.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return j, fmt.Errorf("load workers: failed to create the start configmap %s/%s: %w", cfg.Spec.Namespace, cm.Name, err)
	}
	t := time.NewTimer(time.Until(j.start))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return j, ctx.Err()
	case <-t.C:
	}
	return j, nil
}

// StartTime is when the workers start (the plugin's clock).
func (j *Job) StartTime() time.Time { return j.start }

func (j *Job) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: Name, Namespace: j.cfg.Spec.Namespace, Labels: j.cfg.Labels, Annotations: j.cfg.Annotations}
}

// Rules are what a worker's ServiceAccount is granted in the step namespace: its engines' writes, lists and watches
// of their kinds, and reading the start ConfigMap.
func Rules(loads []churn.Config) []rbacv1.PolicyRule {
	var res []string
	for _, l := range loads {
		r := "configmaps"
		if l.Kind == churn.Secret {
			r = "secrets"
		}
		if !slices.Contains(res, r) {
			res = append(res, r)
		}
	}
	rules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: res, Verbs: []string{"create", "patch", "delete", "list", "watch"}}}
	return append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: []string{Name + "-start"}})
}

func (j *Job) createRBAC(ctx context.Context) error {
	ns := j.cfg.Spec.Namespace
	if _, err := j.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: j.meta(),
		AutomountServiceAccountToken: ptr.To(true)}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("load workers: failed to create serviceaccount %s/%s: %w", ns, Name, err)
	}
	if _, err := j.client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: j.meta(), Rules: Rules(j.cfg.Spec.Loads)}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("load workers: failed to create role %s/%s: %w", ns, Name, err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: j.meta(), Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: ns}},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: Name}}
	if _, err := j.client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("load workers: failed to create rolebinding %s/%s: %w", ns, Name, err)
	}
	return nil
}

func (j *Job) createJob(ctx context.Context) error {
	ns, n := j.cfg.Spec.Namespace, int32(j.cfg.Spec.Workers)
	spec, err := j.cfg.Spec.Encode()
	if err != nil {
		return err
	}
	res := corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(j.cfg.CPUMillis, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(j.cfg.MemoryMi*1024*1024, resource.BinarySI)}
	var secrets []corev1.LocalObjectReference
	for _, s := range j.cfg.PullSecrets {
		secrets = append(secrets, corev1.LocalObjectReference{Name: s})
	}
	podLabels := map[string]string{appLabel: Name}
	for k, v := range j.cfg.Labels {
		podLabels[k] = v
	}
	deadline := j.cfg.StartTimeout + StartLead + j.cfg.Spec.Window + 2*time.Minute
	job := &batchv1.Job{
		ObjectMeta: j.meta(),
		Spec: batchv1.JobSpec{
			CompletionMode:        ptr.To(batchv1.IndexedCompletion),
			Completions:           ptr.To(n),
			Parallelism:           ptr.To(n),
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To(int64(deadline.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            Name,
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: ptr.To[int64](2),
					ImagePullSecrets:              secrets,
					NodeSelector:                  j.cfg.NodeSelector,
					EnableServiceLinks:            ptr.To(false),
					// spread over the nodes, but never unschedulable for it: a small cluster still gets its workers
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelHostname,
						WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{appLabel: Name}}}},
					SecurityContext: cluster.RestrictedPodSecurity(65532),
					Containers: []corev1.Container{{
						Name: "worker", Image: j.cfg.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            []string{"__load-worker", "--spec=" + spec},
						Resources:       corev1.ResourceRequirements{Requests: res, Limits: res},
						SecurityContext: cluster.RestrictedContainerSecurity(),
					}},
				},
			},
		},
	}
	if _, err := j.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("load workers: failed to create job %s/%s: %w", ns, Name, err)
	}
	return nil
}

// label is "worker 3 of 8 (pod p)": workers are numbered from 1 for people; the pod's name holds its index from 0.
func (j *Job) label(w *worker) string {
	s := fmt.Sprintf("worker %d of %d", w.index+1, j.cfg.Spec.Workers)
	if w.pod != "" {
		s += " (pod " + w.pod + ")"
	}
	return s
}

func podIndex(p corev1.Pod) int {
	v := p.Labels[batchv1.JobCompletionIndexAnnotation]
	if v == "" {
		v = p.Annotations[batchv1.JobCompletionIndexAnnotation]
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return i
}

// waitRunning waits until every worker's pod runs; it fails fast, naming the worker and why, when one cannot start.
func (j *Job) waitRunning(ctx context.Context) error {
	ns := j.cfg.Spec.Namespace
	deadline := time.Now().Add(j.cfg.StartTimeout)
	why := "no pod yet"
	for {
		pods, err := j.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + Name})
		if err == nil {
			running := map[int]bool{}
			for _, p := range pods.Items {
				i := podIndex(p)
				if i < 0 || i >= len(j.workers) {
					continue
				}
				w := j.workers[i]
				w.pod, w.node = p.Name, p.Spec.NodeName
				if reason := startTrouble(p, j.cfg.UnschedulableGrace, time.Now()); reason != "" {
					w.failure = reason
					return fmt.Errorf("%s: %s %s", churn.LoadNotDelivered, j.label(w), reason)
				}
				if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded {
					running[i] = true
				} else {
					why = fmt.Sprintf("%s is %s", j.label(w), podWaiting(p))
				}
			}
			if len(running) == len(j.workers) {
				return nil
			}
			if len(pods.Items) < len(j.workers) {
				why = fmt.Sprintf("%d of %d worker pods created%s", len(pods.Items), len(j.workers), j.jobFailure(ctx))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: the workers did not all run within %v: %s", churn.LoadNotDelivered, j.cfg.StartTimeout, why)
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// startTrouble names what keeps a worker pod from running: it failed, it cannot pull its image or create its
// container, or it stayed unschedulable for grace.
func startTrouble(p corev1.Pod, grace time.Duration, now time.Time) string {
	if p.Status.Phase == corev1.PodFailed {
		return "failed: " + terminated(p)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			now.Sub(c.LastTransitionTime.Time) >= grace {
			return fmt.Sprintf("is unschedulable (for %v): %s", now.Sub(c.LastTransitionTime.Time).Round(time.Second), c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
				return fmt.Sprintf("cannot pull image %s (%s); set --probe-image (or --image-map) to the plugin's image in a registry the nodes can pull from", cs.Image, w.Reason)
			case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return fmt.Sprintf("cannot start: %s: %s", w.Reason, w.Message)
			}
		}
	}
	return ""
}

func podWaiting(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return "waiting: " + strings.TrimSpace(w.Reason+" "+w.Message)
		}
	}
	return string(p.Status.Phase)
}

// terminated says how a pod's container ended: its reason (OOMKilled, Error), exit code and message, or the pod's
// reason (Evicted, DeadlineExceeded).
func terminated(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		t := cs.State.Terminated
		if t == nil {
			t = cs.LastTerminationState.Terminated
		}
		if t != nil {
			s := t.Reason
			if t.ExitCode != 0 {
				s += fmt.Sprintf(" (exit code %d)", t.ExitCode)
			}
			if m := strings.TrimSpace(t.Message); m != "" {
				s += ": " + m
			}
			return strings.TrimSpace(s)
		}
	}
	if p.Status.Reason != "" {
		return strings.TrimSpace(p.Status.Reason + " " + p.Status.Message)
	}
	return string(p.Status.Phase)
}

func (j *Job) jobFailure(ctx context.Context) string {
	jb, err := j.client.BatchV1().Jobs(j.cfg.Spec.Namespace).Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	for _, c := range jb.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			return fmt.Sprintf(" (job %s: %s)", c.Reason, c.Message)
		}
	}
	evs, err := j.client.CoreV1().Events(j.cfg.Spec.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + Name})
	if err == nil {
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning {
				return fmt.Sprintf(" (%s: %s)", e.Reason, e.Message)
			}
		}
	}
	return ""
}

// stream follows worker w's log: samples go (on the plugin's clock) to the sink and its load's Merger, results are
// kept. A stream that breaks while the pod still runs is read again, skipping the lines already read.
func (j *Job) stream(ctx context.Context, w *worker) {
	defer j.wg.Done()
	ns := j.cfg.Spec.Namespace
	for attempt := 0; ; attempt++ {
		skip := w.lines
		read := 0
		rc, err := j.client.CoreV1().Pods(ns).GetLogs(w.pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
		if err == nil {
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 64*1024), 8*1024*1024)
			for sc.Scan() {
				read++
				if read <= skip {
					continue
				}
				j.line(w, sc.Bytes(), time.Now())
			}
			_ = rc.Close()
		}
		if ctx.Err() != nil {
			j.endWorker(w, "")
			return
		}
		j.mu.Lock()
		done := w.done
		j.mu.Unlock()
		if done {
			j.endWorker(w, "")
			return
		}
		p, perr := j.client.CoreV1().Pods(ns).Get(ctx, w.pod, metav1.GetOptions{})
		if attempt < 10 && perr == nil && p.Status.Phase == corev1.PodRunning {
			time.Sleep(time.Second)
			continue
		}
		// The log ended without the worker's account: it died (or was deleted). Say how, once its status says.
		ended := time.Now()
		j.mu.Lock()
		w.endedAt = ended
		j.mu.Unlock()
		j.endWorker(w, j.deathReason(ctx, w))
		return
	}
}

func (j *Job) deathReason(ctx context.Context, w *worker) string {
	ns := j.cfg.Spec.Namespace
	for i := 0; i < 20; i++ {
		p, err := j.client.CoreV1().Pods(ns).Get(ctx, w.pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "was deleted before it sent its account"
		}
		if err == nil && (p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded) {
			return terminated(*p)
		}
		select {
		case <-ctx.Done():
			return "ended before it sent its account"
		case <-time.After(250 * time.Millisecond):
		}
	}
	return "its log ended before it sent its account"
}

func (j *Job) endWorker(w *worker, failure string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	w.ended = true
	if w.endedAt.IsZero() {
		w.endedAt = time.Now()
	}
	if failure != "" && w.failure == "" && !w.done && !j.killed { // deleted by us (a cancel): not the worker's failure
		w.failure = failure
	}
}

// line handles one log line of w, which arrived at arrival.
func (j *Job) line(w *worker, b []byte, arrival time.Time) {
	var l Line
	j.mu.Lock()
	w.lines++
	j.mu.Unlock()
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &l) != nil {
		return
	}
	switch {
	case l.Sample != nil:
		s := *l.Sample
		j.mu.Lock()
		if !s.Notification() {
			finished := s.Start.Add(time.Duration(s.LatencyMS * float64(time.Millisecond)))
			d := float64(finished.Sub(arrival)) / float64(time.Millisecond)
			if math.IsNaN(w.offset) || d > w.offset && w.nOffset < offsetSamples {
				w.offset = d
			}
			w.nOffset++
			w.samples++
			if s.Error != "" {
				w.errors++
			}
		}
		off := time.Duration(w.offset * float64(time.Millisecond))
		if l.Load >= 0 && l.Load < len(j.merge) {
			j.merge[l.Load].Add(s)
		}
		j.mu.Unlock()
		s.TS, s.Start = s.TS.Add(-off), s.Start.Add(-off)
		j.sink(s)
	case l.Result != nil:
		j.mu.Lock()
		if l.Load >= 0 && l.Load < len(w.results) {
			w.results[l.Load] = l.Result
		}
		j.mu.Unlock()
	case l.Started != nil:
		j.mu.Lock()
		w.started = true
		j.mu.Unlock()
	}
	if l.Error != "" {
		j.mu.Lock()
		w.agentErr = l.Error
		j.mu.Unlock()
	}
	if l.Done {
		j.mu.Lock()
		w.done = true
		if l.Interrupted && !j.killed && w.failure == "" {
			// SIGTERM that the plugin did not send: the pod was deleted, evicted or preempted mid-window
			w.failure, w.endedAt = "was stopped (SIGTERM) before the window's end (pod deleted, evicted or preempted)", arrival
		}
		j.mu.Unlock()
	}
}

// Failure is the first worker failure so far ("" when none): "worker 3 of 8 (pod p) OOMKilled".
func (j *Job) Failure() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failureLocked()
}

func (j *Job) failureLocked() string {
	var failed []*worker
	for _, w := range j.workers {
		if w.failure != "" || (w.done && w.agentErr != "" && !w.started) {
			failed = append(failed, w)
		}
	}
	if len(failed) == 0 {
		return ""
	}
	// the first to fail, a worker deleted (by the Job controller once another failed) after any other
	deleted := func(w *worker) bool { return strings.Contains(w.failure, "was deleted") }
	sort.SliceStable(failed, func(a, b int) bool {
		if deleted(failed[a]) != deleted(failed[b]) {
			return !deleted(failed[a])
		}
		return failed[a].endedAt.Before(failed[b].endedAt)
	})
	w := failed[0]
	why := w.failure
	if why == "" {
		why = "failed: " + w.agentErr
	}
	s := j.label(w) + " " + why
	if len(failed) > 1 {
		s += fmt.Sprintf(" (and %d more worker(s) failed)", len(failed)-1)
	}
	return s
}

// Outcome is the workers' account of every load of the step.
type Outcome struct {
	Results []churn.Result       // merged, by load
	Rows    [][]result.WorkerRow // per worker, by load
	// Failure names the first worker that did not deliver its share ("" when every worker did).
	Failure string
}

// Wait waits until every worker sent its account (bounded by ctx; a worker whose stream ends without one failed),
// then merges. Call it after the window (the workers stop at start + window on their own).
func (j *Job) Wait(ctx context.Context) Outcome {
	done := make(chan struct{})
	go func() {
		j.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		j.mu.Lock()
		for _, w := range j.workers {
			if !w.done && w.failure == "" {
				w.failure = "did not send its account in time"
				w.endedAt = time.Now()
			}
		}
		j.mu.Unlock()
	}
	return j.outcome()
}

// Outcome is the workers' account so far (after a failed Start: which worker failed, and why).
func (j *Job) Outcome() Outcome { return j.outcome() }

func (j *Job) outcome() Outcome {
	j.mu.Lock()
	defer j.mu.Unlock()
	o := Outcome{Failure: j.failureLocked()}
	for li := range j.cfg.Spec.Loads {
		var results []churn.Result
		var rows []result.WorkerRow
		for _, w := range j.workers {
			off := 0.0
			if !math.IsNaN(w.offset) {
				off = w.offset
			}
			row := result.WorkerRow{Index: w.index, Pod: w.pod, Node: w.node, Rate: WorkerConfig(j.cfg.Spec.Loads[li], j.cfg.Spec.Workers, w.index).Rate,
				Samples: w.samples, Errors: w.errors, ClockOffsetMS: math.Round(off*1000) / 1000, Failure: w.failure}
			if r := w.results[li]; r != nil {
				res := *r
				shift(&res, time.Duration(off*float64(time.Millisecond)))
				results = append(results, res)
				row.Delivery, row.Verdict = res.Delivery, res.Verdict
			} else if row.Failure == "" {
				row.Failure = "sent no account of this load"
			}
			rows = append(rows, row)
		}
		m := j.merge[li].Merge(results)
		if len(results) < len(j.workers) {
			// a worker without an account delivered nothing we can prove: the merged verdict cannot be "delivered"
			m.Verdict.Delivered = false
		}
		o.Results = append(o.Results, m)
		o.Rows = append(o.Rows, rows)
	}
	return o
}

// Delete deletes the Job in the foreground (its pods first: a worker gets SIGTERM and stops its engines at once,
// SIGKILL 2 s later) and waits, bounded by ctx, until none of its pods is left. Safe to call more than once.
func (j *Job) Delete(ctx context.Context) error {
	j.mu.Lock()
	j.killed = true
	j.mu.Unlock()
	ns := j.cfg.Spec.Namespace
	err := j.client.BatchV1().Jobs(ns).Delete(ctx, Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("load workers: failed to delete job %s/%s: %w", ns, Name, err)
	}
	// the Job's pods directly too: foreground deletion waits for them, but a pod deleted now gets its SIGTERM sooner
	_ = j.client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: appLabel + "=" + Name})
	for {
		pods, err := j.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + Name})
		if err == nil && len(pods.Items) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("load workers: pods of job %s/%s still there: %w", ns, Name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if j.cancel != nil {
		// their logs have ended with them; give the streams a moment to read the last lines
		done := make(chan struct{})
		go func() { j.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			j.cancel()
		}
	}
	return nil
}
