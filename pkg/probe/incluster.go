package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// ClusterProbeConfig configures the in-cluster probe: a Job in the probe namespace that runs the plugin's own image
// (`kubectl-pyrometer probe --emit jsonl ...`) under a ServiceAccount allowed only what the chosen kinds need, and
// streams its samples back through the pod's log.
type ClusterProbeConfig struct {
	Probe        Config        // kinds, interval, request timeout, namespace (must exist), list namespace, labels
	Image        string        // the plugin's image
	Duration     time.Duration // how long the pod probes
	StartTimeout time.Duration // how long the pod may take to start (scheduling + image pull)
	PullSecrets  []string
	NodeSelector map[string]string
	Name         string            // name of the Job, ServiceAccount and RBAC objects
	Annotations  map[string]string // of the ServiceAccount and RBAC objects (who created them)
}

// ClusterProbe is a running in-cluster probe.
type ClusterProbe struct {
	cfg    ClusterProbeConfig
	client kubernetes.Interface
	pod    string
	done   chan struct{}
	mu     sync.Mutex
	err    error
	notes  []string
	health *ClusterProbeHealth // set when the stream ended for good
	// reconnects counts how often the log stream broke while the pod still ran and was read again
	reconnects int
}

// ClusterProbeHealth is the state of the in-cluster probe's pod.
type ClusterProbeHealth struct {
	Pod string `json:"pod"`
	// Alive: the pod was still probing when asked.
	Alive bool `json:"alive"`
	// Phase is the pod's phase (Running, Succeeded, Failed), or "Gone" when the pod no longer exists.
	Phase string `json:"phase"`
	// Reason says why it ended: the pod's (Evicted, DeadlineExceeded) or the container's (OOMKilled, Error,
	// Completed).
	Reason   string `json:"reason,omitempty"`
	ExitCode int32  `json:"exitCode,omitempty"`
	Message  string `json:"message,omitempty"`
	// EndedAt is when it stopped probing: the container's finishedAt, else when its log ended.
	EndedAt *time.Time `json:"endedAt,omitempty"`
	// Reconnects counts the times its log stream broke while it still ran (read again; no sample is counted twice).
	Reconnects  int    `json:"reconnects,omitempty"`
	StreamError string `json:"streamError,omitempty"`
}

// String is one line for a person: "running", or how and when it ended.
func (h ClusterProbeHealth) String() string {
	if h.Alive {
		return "running"
	}
	s := "ended"
	if h.EndedAt != nil {
		s += " at " + h.EndedAt.Local().Format("15:04:05")
	}
	s += " (" + h.Phase
	if h.Reason != "" {
		s += ", " + h.Reason
	}
	if h.ExitCode != 0 {
		s += fmt.Sprintf(", exit code %d", h.ExitCode)
	}
	s += ")"
	if h.Message != "" {
		s += ": " + h.Message
	}
	if h.StreamError != "" {
		s += "; " + h.StreamError
	}
	return s
}

// StartClusterProbe creates the RBAC and the Job, waits until the probe pod runs (or says exactly why it cannot
// start), and streams its samples to sink (tagged SourceCluster) until the pod ends or ctx is done. Objects it
// created carry cfg.Probe.Labels: the caller deletes them by label (cluster.Cleanup), also when this fails.
func StartClusterProbe(ctx context.Context, client kubernetes.Interface, cfg ClusterProbeConfig, sink func(Sample)) (*ClusterProbe, error) {
	if cfg.Image == "" || cfg.Name == "" || cfg.Probe.Namespace == "" {
		return nil, errors.New("in-cluster probe needs an image, a name and a namespace")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	cp := &ClusterProbe{cfg: cfg, client: client, done: make(chan struct{})}
	if err := cp.createRBAC(ctx); err != nil {
		return nil, err
	}
	if err := cp.createJob(ctx); err != nil {
		return nil, err
	}
	pod, err := cp.waitRunning(ctx)
	if err != nil {
		return nil, err
	}
	cp.pod = pod
	go cp.stream(ctx, sink)
	return cp, nil
}

// Wait blocks until the pod's log ended (the pod finished) or ctx is done, and returns the stream's error.
func (cp *ClusterProbe) Wait(ctx context.Context) error {
	select {
	case <-cp.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.err
}

// Notes are the pod's non-sample output lines (warnings it printed), at most 20.
func (cp *ClusterProbe) Notes() []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return slices.Clone(cp.notes)
}

func (cp *ClusterProbe) labels() map[string]string { return cp.cfg.Probe.Labels }

// priorityLevels is what the probe reads to name APF priority levels (best effort: Setup goes on without it).
var priorityLevels = authz.Access{Verb: "list", Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"}

// ClusterProbeGrants is what the in-cluster probe's ServiceAccount is granted: what its kinds need with cfg
// (Needs), and the list of APF priority levels. Whoever creates these grants must hold them (or "escalate").
func ClusterProbeGrants(kinds []Kind, cfg Config) []authz.Access {
	return append(Needs(kinds, cfg), priorityLevels)
}

func (cp *ClusterProbe) createRBAC(ctx context.Context) error {
	ns, name := cp.cfg.Probe.Namespace, cp.cfg.Name
	meta := func(namespace string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: cp.labels(), Annotations: cp.cfg.Annotations}
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	if _, err := cp.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta(ns),
		AutomountServiceAccountToken: ptr.To(true)}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster probe: failed to create serviceaccount %s/%s: %w", ns, name, err)
	}
	// Exactly what the kinds need (their table entries), plus the priority level names: a Role in each namespace
	// the kinds work in (the probe's, the list-namespace kind's), a ClusterRole for the rest.
	rules := authz.RulesFor(ClusterProbeGrants(cp.cfg.Probe.Kinds, cp.cfg.Probe))
	for _, rns := range rules.Namespaces {
		if err := cp.role(ctx, rns, meta(rns), rules.Role[rns], subject); err != nil {
			return err
		}
	}
	cr := &rbacv1.ClusterRole{ObjectMeta: meta(""), Rules: rules.Cluster}
	if _, err := cp.client.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster probe: failed to create clusterrole %s: %w", name, err)
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: meta(""), Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}}
	if _, err := cp.client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster probe: failed to create clusterrolebinding %s: %w", name, err)
	}
	return nil
}

func (cp *ClusterProbe) role(ctx context.Context, ns string, meta metav1.ObjectMeta, rules []rbacv1.PolicyRule, subjects []rbacv1.Subject) error {
	if _, err := cp.client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster probe: failed to create role %s/%s: %w", ns, meta.Name, err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: meta, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: meta.Name}}
	if _, err := cp.client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster probe: failed to create rolebinding %s/%s: %w", ns, meta.Name, err)
	}
	return nil
}

// PodArgs are the arguments of the in-cluster `kubectl-pyrometer` process.
func (cfg ClusterProbeConfig) PodArgs() []string {
	var kinds []string
	for _, k := range cfg.Probe.Kinds {
		kinds = append(kinds, string(k))
	}
	var labels []string
	for k, v := range cfg.Probe.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return []string{"probe", "--emit=jsonl", "--in-namespace=" + cfg.Probe.Namespace, "--probe-labels=" + strings.Join(labels, ","),
		"--list-namespace=" + listNamespace(cfg.Probe), "--name-prefix=" + cfg.Name + "-pod",
		"--probes=" + strings.Join(kinds, ","), "--interval=" + cfg.Probe.Interval.String(),
		"--duration=" + cfg.Duration.String(), "--request-timeout=" + cfg.Probe.RequestTimeout.String()}
}

func (cp *ClusterProbe) createJob(ctx context.Context) error {
	ns, name := cp.cfg.Probe.Namespace, cp.cfg.Name
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	var secrets []corev1.LocalObjectReference
	for _, s := range cp.cfg.PullSecrets {
		secrets = append(secrets, corev1.LocalObjectReference{Name: s})
	}
	podLabels := map[string]string{"kubepyrometer.io/app": name}
	for k, v := range cp.labels() {
		podLabels[k] = v
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: cp.labels()},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To(int64((cp.cfg.Duration + cp.cfg.StartTimeout + cp.cfg.Probe.RequestTimeout + time.Minute).Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            name,
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: ptr.To[int64](2),
					ImagePullSecrets:              secrets,
					NodeSelector:                  cp.cfg.NodeSelector,
					EnableServiceLinks:            ptr.To(false),
					SecurityContext:               cluster.RestrictedPodSecurity(65532),
					Containers: []corev1.Container{{
						Name: "probe", Image: cp.cfg.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            cp.cfg.PodArgs(),
						Resources:       corev1.ResourceRequirements{Requests: res, Limits: res},
						SecurityContext: cluster.RestrictedContainerSecurity(),
					}},
				},
			},
		},
	}
	if _, err := cp.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("in-cluster probe: failed to create job %s/%s: %w", ns, name, err)
	}
	return nil
}

// waitRunning waits until the Job's pod runs; it fails fast, naming the reason, when the pod cannot start.
func (cp *ClusterProbe) waitRunning(ctx context.Context) (string, error) {
	ns := cp.cfg.Probe.Namespace
	sel := "kubepyrometer.io/app=" + cp.cfg.Name
	var pod string
	var why string
	wctx, cancel := context.WithTimeout(ctx, cp.cfg.StartTimeout)
	defer cancel()
	err := wait.PollUntilContextCancel(wctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pods, err := cp.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		if len(pods.Items) == 0 {
			why = "no pod created by job " + cp.cfg.Name + cp.jobFailure(ctx)
			return false, nil
		}
		p := pods.Items[0]
		pod = p.Name
		switch p.Status.Phase {
		case corev1.PodRunning, corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, fmt.Errorf("in-cluster probe pod %s/%s failed: %s", ns, p.Name, podMessage(p))
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				why = "pod " + p.Name + " is unschedulable: " + c.Message
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
					return false, fmt.Errorf("in-cluster probe pod %s/%s cannot pull image %s (%s: %s); set --probe-image to an image the nodes can pull, or run with --probe-from local",
						ns, p.Name, cp.cfg.Image, w.Reason, w.Message)
				case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
					return false, fmt.Errorf("in-cluster probe pod %s/%s cannot start: %s: %s", ns, p.Name, w.Reason, w.Message)
				}
				why = fmt.Sprintf("pod %s is waiting: %s %s", p.Name, w.Reason, w.Message)
			}
		}
		return false, nil
	})
	if err == nil {
		return pod, nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if wait.Interrupted(err) {
		if why == "" {
			why = "pod not running"
		}
		return "", fmt.Errorf("in-cluster probe did not start within %v: %s", cp.cfg.StartTimeout, why)
	}
	return "", err
}

func (cp *ClusterProbe) jobFailure(ctx context.Context) string {
	j, err := cp.client.BatchV1().Jobs(cp.cfg.Probe.Namespace).Get(ctx, cp.cfg.Name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			return fmt.Sprintf(" (job %s: %s)", c.Reason, c.Message)
		}
	}
	// quota and admission rejections of the pod surface as events on the Job
	evs, err := cp.client.CoreV1().Events(cp.cfg.Probe.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + cp.cfg.Name})
	if err == nil {
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning {
				return fmt.Sprintf(" (%s: %s)", e.Reason, e.Message)
			}
		}
	}
	return ""
}

func podMessage(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("container exited %d (%s) %s", t.ExitCode, t.Reason, t.Message)
		}
	}
	return p.Status.Reason + " " + p.Status.Message
}

// Done is closed when the probe's log ended for good (the pod ended, or ctx is done).
func (cp *ClusterProbe) Done() <-chan struct{} { return cp.done }

// Health says whether the pod still probes, or how and when it ended (OOMKilled, evicted, failed, deleted).
func (cp *ClusterProbe) Health(ctx context.Context) ClusterProbeHealth {
	select {
	case <-cp.done:
		cp.mu.Lock()
		defer cp.mu.Unlock()
		if cp.health != nil {
			return *cp.health
		}
	default:
	}
	p, err := cp.client.CoreV1().Pods(cp.cfg.Probe.Namespace).Get(ctx, cp.pod, metav1.GetOptions{})
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if err != nil && !apierrors.IsNotFound(err) {
		return ClusterProbeHealth{Pod: cp.pod, Alive: true, Phase: "Unknown", Message: err.Error(), Reconnects: cp.reconnects}
	}
	if err != nil {
		p = nil // not found
	}
	h := healthOf(cp.pod, p, time.Time{})
	h.Reconnects = cp.reconnects
	return h
}

// healthOf describes pod p (nil: gone); logEnded is when its log ended, if it did.
func healthOf(name string, p *corev1.Pod, logEnded time.Time) ClusterProbeHealth {
	h := ClusterProbeHealth{Pod: name, Phase: "Gone", Reason: "the pod was deleted"}
	if p != nil {
		h = ClusterProbeHealth{Pod: name, Phase: string(p.Status.Phase), Reason: p.Status.Reason, Message: p.Status.Message}
		running := p.Status.Phase == corev1.PodRunning
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if t == nil {
				t = cs.LastTerminationState.Terminated
			}
			if cs.State.Running == nil {
				running = false
			}
			if t == nil {
				continue
			}
			if h.Reason == "" {
				h.Reason = t.Reason
			}
			if h.Message == "" {
				h.Message = strings.TrimSpace(t.Message)
			}
			h.ExitCode = t.ExitCode
			if !t.FinishedAt.IsZero() {
				at := t.FinishedAt.Time
				h.EndedAt = &at
			}
		}
		h.Alive = running && logEnded.IsZero()
	}
	if h.EndedAt == nil && !logEnded.IsZero() {
		h.EndedAt = &logEnded
	}
	return h
}

// stream follows the pod's log and hands every sample line to sink. When the stream breaks while the pod still
// runs (the apiserver or kubelet dropped it under load), it reads the log again from the start and skips what was
// delivered (per kind and verb, samples up to the highest seq already delivered).
func (cp *ClusterProbe) stream(ctx context.Context, sink func(Sample)) {
	defer close(cp.done)
	ns := cp.cfg.Probe.Namespace
	delivered := map[string]int64{}
	var streamErr error
	for attempt := 0; ; attempt++ {
		skip := maps.Clone(delivered)
		rc, err := cp.client.CoreV1().Pods(ns).GetLogs(cp.pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
		if err != nil {
			streamErr = fmt.Errorf("in-cluster probe: failed to stream the log of %s/%s: %w", ns, cp.pod, err)
		} else {
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				line := sc.Bytes()
				var s Sample
				if len(line) > 0 && line[0] == '{' && json.Unmarshal(line, &s) == nil && s.Kind != "" {
					key := string(s.Kind) + "/" + s.Verb
					if s.Seq <= skip[key] && attempt > 0 {
						continue
					}
					delivered[key] = max(delivered[key], s.Seq)
					s.Source = SourceCluster
					sink(s)
					continue
				}
				if attempt > 0 {
					continue
				}
				cp.mu.Lock()
				if len(cp.notes) < 20 && len(strings.TrimSpace(string(line))) > 0 {
					cp.notes = append(cp.notes, string(line))
				}
				cp.mu.Unlock()
			}
			streamErr = nil
			if err := sc.Err(); err != nil {
				streamErr = fmt.Errorf("in-cluster probe: reading the log of %s/%s: %w", ns, cp.pod, err)
			}
			_ = rc.Close()
		}
		if ctx.Err() != nil {
			return
		}
		ended := time.Now()
		// The log ended: the pod ended, or only the stream did.
		if attempt < 10 {
			p, err := cp.client.CoreV1().Pods(ns).Get(ctx, cp.pod, metav1.GetOptions{})
			if err == nil && healthOf(cp.pod, p, time.Time{}).Alive {
				cp.mu.Lock()
				cp.reconnects++
				cp.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
		}
		cp.ended(ctx, ended, streamErr)
		return
	}
}

// ended records how the pod ended (waiting a little for its final status) and a failure of the process.
func (cp *ClusterProbe) ended(ctx context.Context, logEnded time.Time, streamErr error) {
	ns := cp.cfg.Probe.Namespace
	p, err := cp.waitTerminated(ctx)
	if err != nil && p == nil {
		p = &corev1.Pod{Status: corev1.PodStatus{Phase: "Unknown", Message: "its status could not be read: " + err.Error()}}
	}
	h := healthOf(cp.pod, p, logEnded)
	cp.mu.Lock()
	defer cp.mu.Unlock()
	h.Reconnects = cp.reconnects
	if streamErr != nil {
		h.StreamError = streamErr.Error()
		if cp.err == nil {
			cp.err = streamErr
		}
	}
	cp.health = &h
	if cp.err == nil && h.ExitCode != 0 {
		cp.err = fmt.Errorf("in-cluster probe pod %s/%s exited %d (%s): %s", ns, cp.pod, h.ExitCode, h.Reason, strings.Join(cp.notes, "; "))
	}
	if cp.err == nil && h.Phase != string(corev1.PodSucceeded) {
		cp.err = fmt.Errorf("in-cluster probe pod %s/%s %s", ns, cp.pod, h)
	}
}

func (cp *ClusterProbe) waitTerminated(ctx context.Context) (*corev1.Pod, error) {
	var pod *corev1.Pod
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := wait.PollUntilContextCancel(wctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		p, err := cp.client.CoreV1().Pods(cp.cfg.Probe.Namespace).Get(ctx, cp.pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, nil
		}
		pod = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	return pod, err
}
