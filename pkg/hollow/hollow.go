// Package hollow deploys hollow nodes for one run: kwok's controller (sigs.k8s.io/kwok, pinned KwokVersion) in the
// run's own namespace, and N Node objects that only it manages. A hollow node has no kubelet: kwok renews its Lease
// every 10 s (like a kubelet) and moves the pods bound to it through their phases (the upstream "fast" stages), so
// the control plane sees the nodes' and pods' API traffic but nothing runs.
//
// Everything it creates carries the run's labels (cluster.Labels, component ComponentNode, ComponentLease or
// ComponentController), so Teardown, Find and Cleanup find it by label, also after a crash. It uses no kwok CRDs
// (the stages are handed to kwok as its --config file), so it neither needs nor disturbs another kwok's CRDs, and
// its kwok manages only the nodes labelled with the run id (NodeSelector), never another kwok's nodes.
package hollow

import (
	"context"
	_ "embed" // the stages
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

const (
	// KwokVersion is the kwok release deployed; hack/setup.sh and hack/kwok-image.sh build the same one.
	KwokVersion = "v0.8.0"
	// DefaultImage is kwok's upstream image of KwokVersion (hack/kwok-image.sh builds it from the Go module).
	DefaultImage = "registry.k8s.io/kwok/kwok:" + KwokVersion

	// Components (cluster.ComponentLabel) of what Deploy creates.
	ComponentNode       = "hollow-node"  // the Node objects
	ComponentLease      = "hollow-lease" // their Leases in kube-node-lease
	ComponentController = "hollow-kwok"  // kwok's Deployment, ServiceAccount, stages ConfigMap, ClusterRole(Binding)

	// TaintKey is the key of the per-run NoSchedule taint on every hollow node (value: the run id): only pods that
	// tolerate it (Toleration) land there, and DaemonSets that tolerate every taint (TolerateAll) would.
	TaintKey = "kubepyrometer.io/hollow"

	// MaxNodes is the most nodes one kwok controller is given (its maintainers' advice: about 1k per controller);
	// Deploy does not shard.
	MaxNodes = 1000

	// LeaseDurationSeconds is the hollow nodes' lease duration; kwok renews every quarter of it (10 s), as a kubelet.
	LeaseDurationSeconds = 40

	// DefaultPodCIDR is where kwok takes fake pod IPs from for nodes without spec.podCIDR (with it, kwok uses the
	// node's block). They are never routed anywhere.
	DefaultPodCIDR = "10.250.0.1/16"

	kwokPort      = 10247 // kwok's server: /healthz, /metrics (node-port)
	stagesFile    = "stages.yaml"
	stagesMount   = "/etc/kwok"
	namePrefix    = "pyrometer-hollow-"
	kwokUID       = 65532
	createWorkers = 8
)

// stages are kwok's upstream Stage objects (copied from sigs.k8s.io/kwok@KwokVersion kustomize/stage, see
// stages/SOURCE): node-initialize and node-heartbeat-with-lease (node/fast, node/heartbeat-with-lease) and the pod
// "fast" stages (ready at once, complete Job pods, delete), the set hack/local-cluster.sh gives its own kwok.
var (
	//go:embed stages/node-initialize.yaml
	stageNodeInitialize string
	//go:embed stages/node-heartbeat-with-lease.yaml
	stageNodeHeartbeat string
	//go:embed stages/pod-ready.yaml
	stagePodReady string
	//go:embed stages/pod-complete.yaml
	stagePodComplete string
	//go:embed stages/pod-delete.yaml
	stagePodDelete string
)

// Stages is kwok's --config file: the Stage documents, "---"-separated.
func Stages() string {
	var b strings.Builder
	for _, s := range []string{stageNodeInitialize, stageNodeHeartbeat, stagePodReady, stagePodComplete, stagePodDelete} {
		b.WriteString("---\n")
		b.WriteString(strings.TrimSpace(s))
		b.WriteString("\n")
	}
	return b.String()
}

// Options configures Deploy.
type Options struct {
	RunID string // the run's id (labels, names, taint value); required
	// Namespace is the run's own namespace, where kwok's Deployment, ServiceAccount and stages ConfigMap go.
	Namespace string
	// CreateNamespace makes Deploy create Namespace (Pod Security "restricted" enforced, the run's labels) and
	// Teardown delete it. Otherwise it must exist.
	CreateNamespace bool
	Owner           string // recorded in cluster.OwnerAnnotation on the namespace and cluster-scoped objects

	Nodes int // how many hollow nodes (1..MaxNodes)
	// Node capacity (= allocatable): pods per node (default 110), CPU (default "8") and memory (default "32Gi").
	PodsPerNode int
	CPU         string
	Memory      string

	Image string // kwok's image (default DefaultImage), passed through ImageMap
	// ImageMap rewrites image references (--image-map); nil leaves them as they are.
	ImageMap         func(string) string
	ImagePullSecrets []string // Secrets in Namespace (the run copies --image-pull-secret there)
	PodCIDR          string   // kwok --cidr (default DefaultPodCIDR)
	// Resources of kwok's container (default: requests 100m CPU and 128Mi, memory limit 2Gi).
	Resources *corev1.ResourceRequirements
}

func (o *Options) defaults() {
	if o.PodsPerNode == 0 {
		o.PodsPerNode = 110
	}
	if o.CPU == "" {
		o.CPU = "8"
	}
	if o.Memory == "" {
		o.Memory = "32Gi"
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.PodCIDR == "" {
		o.PodCIDR = DefaultPodCIDR
	}
}

// Validate says what is wrong with o (after defaults), in one line naming the field.
func (o Options) Validate() error {
	o.defaults()
	if errs := validation.IsValidLabelValue(o.RunID); o.RunID == "" || len(errs) > 0 {
		return fmt.Errorf("hollow nodes: run id %q is not a valid label value", o.RunID)
	}
	if o.Namespace == "" {
		return errors.New("hollow nodes: a namespace is required")
	}
	if o.Nodes < 1 || o.Nodes > MaxNodes {
		return fmt.Errorf("hollow nodes: %d nodes asked, allowed 1..%d (one kwok controller)", o.Nodes, MaxNodes)
	}
	if o.PodsPerNode < 1 {
		return fmt.Errorf("hollow nodes: pods per node must be at least 1, got %d", o.PodsPerNode)
	}
	for name, v := range map[string]string{"cpu": o.CPU, "memory": o.Memory} {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("hollow nodes: node %s %q is not a positive quantity", name, v)
		}
	}
	return nil
}

// NodeName is the name of hollow node i of run runID.
func NodeName(runID string, i int) string { return fmt.Sprintf("%s%s-%d", namePrefix, runID, i) }

// controllerName names kwok's Deployment, ServiceAccount, ConfigMap, ClusterRole and ClusterRoleBinding.
func controllerName(runID string) string { return "pyrometer-kwok-" + runID }

// NodeLabels are the labels of run runID's hollow nodes; NodeSelector selects them.
func NodeLabels(runID, name string) map[string]string {
	l := cluster.Labels(runID, ComponentNode)
	l[corev1.LabelHostname] = name
	l[corev1.LabelOSStable] = "linux"
	l[corev1.LabelArchStable] = "amd64"
	l["type"] = "kwok"
	return l
}

// NodeSelector is the nodeSelector of a pod that must land on run runID's hollow nodes (with Toleration).
func NodeSelector(runID string) map[string]string {
	return map[string]string{cluster.RunIDLabel: runID, cluster.ComponentLabel: ComponentNode}
}

// kwokNodeSelector is the label selector kwok manages nodes by.
func kwokNodeSelector(runID string) string {
	return cluster.RunIDLabel + "=" + runID + "," + cluster.ComponentLabel + "=" + ComponentNode
}

// Taint is the per-run taint on run runID's hollow nodes.
func Taint(runID string) corev1.Taint {
	return corev1.Taint{Key: TaintKey, Value: runID, Effect: corev1.TaintEffectNoSchedule}
}

// Toleration tolerates run runID's hollow nodes' taint (and nothing else).
func Toleration(runID string) corev1.Toleration {
	return corev1.Toleration{Key: TaintKey, Operator: corev1.TolerationOpEqual, Value: runID, Effect: corev1.TaintEffectNoSchedule}
}

// Selector selects what Deploy creates: of run runID, or of every run when runID is empty.
func Selector(runID string) string {
	s := cluster.Selector(runID)
	return s + "," + cluster.ComponentLabel + " in (" + ComponentController + "," + ComponentLease + "," + ComponentNode + ")"
}

// Hollow is one run's deployed hollow nodes.
type Hollow struct {
	c         kubernetes.Interface
	opts      Options
	names     []string
	createdNS bool
}

// Deploy creates, for opts.RunID: [the namespace,] kwok's ServiceAccount, ClusterRole and ClusterRoleBinding, its
// stages ConfigMap and Deployment (one replica, unprivileged, not hostNetwork), then opts.Nodes Leases and Nodes.
// It does not wait for them (WaitReady). Whatever happens, a non-nil Hollow is returned once opts are valid, and
// its Teardown deletes what was created (by label).
func Deploy(ctx context.Context, c kubernetes.Interface, opts Options) (*Hollow, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.defaults()
	h := &Hollow{c: c, opts: opts}
	for i := 0; i < opts.Nodes; i++ {
		h.names = append(h.names, NodeName(opts.RunID, i))
	}
	if opts.CreateNamespace {
		if err := h.createNamespace(ctx); err != nil {
			return h, err
		}
	}
	ns, name := opts.Namespace, controllerName(opts.RunID)
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, h.serviceAccount(), metav1.CreateOptions{}); err != nil {
		return h, fmt.Errorf("hollow nodes: failed to create service account %s/%s: %w", ns, name, err)
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, h.clusterRole(), metav1.CreateOptions{}); err != nil {
		return h, fmt.Errorf("hollow nodes: failed to create cluster role %s: %w", name, err)
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, h.clusterRoleBinding(), metav1.CreateOptions{}); err != nil {
		return h, fmt.Errorf("hollow nodes: failed to create cluster role binding %s: %w", name, err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, h.configMap(), metav1.CreateOptions{}); err != nil {
		return h, fmt.Errorf("hollow nodes: failed to create config map %s/%s: %w", ns, name, err)
	}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, h.deployment(), metav1.CreateOptions{}); err != nil {
		return h, fmt.Errorf("hollow nodes: failed to create deployment %s/%s: %w", ns, name, err)
	}
	// Each node's Lease first, labelled (kwok keeps the labels when it takes the lease over and adds the
	// ownerReference to the node itself), so that leases are found by label like everything else.
	err := parallel(ctx, h.names, func(ctx context.Context, node string) error {
		if _, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, h.lease(node), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("hollow nodes: failed to create lease %s/%s: %w", corev1.NamespaceNodeLease, node, err)
		}
		if _, err := c.CoreV1().Nodes().Create(ctx, h.node(node), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("hollow nodes: failed to create node %s: %w", node, err)
		}
		return nil
	})
	return h, err
}

// parallel runs f for each item with createWorkers workers; the first error stops the rest.
func parallel[T any](ctx context.Context, items []T, f func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan T)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < createWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := f(ctx, it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		select {
		case work <- it:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(work)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// Nodes are the names of the hollow nodes.
func (h *Hollow) Nodes() []string { return append([]string(nil), h.names...) }

// RunID is the run the nodes belong to.
func (h *Hollow) RunID() string { return h.opts.RunID }

// ControllerName is the name of kwok's Deployment (and ServiceAccount, ConfigMap, ClusterRole, ClusterRoleBinding).
func (h *Hollow) ControllerName() string { return controllerName(h.opts.RunID) }

// Namespace is where kwok runs.
func (h *Hollow) Namespace() string { return h.opts.Namespace }

func (h *Hollow) labels(component string) map[string]string {
	return cluster.Labels(h.opts.RunID, component)
}

func (h *Hollow) createNamespace(ctx context.Context) error {
	l := cluster.Labels(h.opts.RunID, "hollow")
	l["pod-security.kubernetes.io/enforce"] = "restricted"
	_, err := h.c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.opts.Namespace,
		Labels: l, Annotations: cluster.Annotations(h.opts.Owner)}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("hollow nodes: failed to create namespace %s: it exists already", h.opts.Namespace)
	}
	if err != nil {
		return fmt.Errorf("hollow nodes: failed to create namespace %s: %w", h.opts.Namespace, err)
	}
	h.createdNS = true
	return nil
}

func (h *Hollow) meta(namespace string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: controllerName(h.opts.RunID), Namespace: namespace, Labels: h.labels(ComponentController)}
	if namespace == "" {
		m.Annotations = cluster.Annotations(h.opts.Owner)
	}
	return m
}

func (h *Hollow) serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: h.meta(h.opts.Namespace)}
}

// clusterRole is upstream kwok's ClusterRole (kustomize/rbac/role.yaml) without the kwok.x-k8s.io CRDs it does
// not use, and with the event verbs it needs only.
func (h *Hollow) clusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: h.meta(""), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"nodes/status", "pods/status"}, Verbs: []string{"patch", "update"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete", "get", "list", "patch", "update", "watch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create", "get", "list", "patch", "update", "watch"}},
	}}
}

func (h *Hollow) clusterRoleBinding() *rbacv1.ClusterRoleBinding {
	name := controllerName(h.opts.RunID)
	return &rbacv1.ClusterRoleBinding{ObjectMeta: h.meta(""),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: h.opts.Namespace}}}
}

func (h *Hollow) configMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: h.meta(h.opts.Namespace), Data: map[string]string{stagesFile: Stages()}}
}

// Args are kwok's command line: stages from the ConfigMap, in-cluster credentials, only this run's nodes.
func (h *Hollow) Args() []string {
	return []string{
		"--config=" + stagesMount + "/" + stagesFile,
		"--kubeconfig=", // in-cluster service account
		"--manage-all-nodes=false",
		"--manage-single-node=",
		"--manage-nodes-with-annotation-selector=",
		"--manage-nodes-with-label-selector=" + kwokNodeSelector(h.opts.RunID),
		"--node-ip=$(POD_IP)",
		fmt.Sprintf("--node-port=%d", kwokPort),
		"--cidr=" + h.opts.PodCIDR,
		fmt.Sprintf("--node-lease-duration-seconds=%d", LeaseDurationSeconds),
	}
}

func (h *Hollow) image() string {
	if h.opts.ImageMap != nil {
		return h.opts.ImageMap(h.opts.Image)
	}
	return h.opts.Image
}

func (h *Hollow) deployment() *appsv1.Deployment {
	name := controllerName(h.opts.RunID)
	podLabels := h.labels(ComponentController)
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
	}
	if h.opts.Resources != nil {
		res = *h.opts.Resources
	}
	probe := func(delay, period, failures int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz",
			Port: intstr.FromInt32(kwokPort), Scheme: corev1.URISchemeHTTP}},
			InitialDelaySeconds: delay, PeriodSeconds: period, TimeoutSeconds: 2, FailureThreshold: failures}
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, s := range h.opts.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: s})
	}
	pod := corev1.PodSpec{
		ServiceAccountName:           name,
		AutomountServiceAccountToken: ptr.To(true),
		HostNetwork:                  false,
		ImagePullSecrets:             pullSecrets,
		SecurityContext:              cluster.RestrictedPodSecurity(kwokUID),
		// never on a hollow node (they are tainted anyway)
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: cluster.ComponentLabel, Operator: corev1.NodeSelectorOpNotIn, Values: []string{ComponentNode}},
			}}}}}},
		Containers: []corev1.Container{{
			Name:            "kwok-controller",
			Image:           h.image(),
			ImagePullPolicy: corev1.PullIfNotPresent,
			Args:            h.Args(),
			Env: []corev1.EnvVar{
				{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
				{Name: "HOME", Value: "/tmp"},
			},
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: kwokPort, Protocol: corev1.ProtocolTCP}},
			Resources:       res,
			StartupProbe:    probe(1, 2, 30),
			ReadinessProbe:  probe(0, 10, 3),
			LivenessProbe:   probe(30, 60, 10),
			SecurityContext: cluster.RestrictedContainerSecurity(),
			VolumeMounts:    []corev1.VolumeMount{{Name: "stages", MountPath: stagesMount, ReadOnly: true}, {Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []corev1.Volume{
			{Name: "stages", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	return &appsv1.Deployment{ObjectMeta: h.meta(h.opts.Namespace), Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](1),
		Selector: &metav1.LabelSelector{MatchLabels: podLabels},
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, // never two controllers
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: pod},
	}}
}

func (h *Hollow) lease(node string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease, Labels: h.labels(ComponentLease)},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](LeaseDurationSeconds)}}
}

func (h *Hollow) capacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse(h.opts.CPU),
		corev1.ResourceMemory:           resource.MustParse(h.opts.Memory),
		corev1.ResourcePods:             *resource.NewQuantity(int64(h.opts.PodsPerNode), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

func (h *Hollow) node(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: NodeLabels(h.opts.RunID, name),
			Annotations: withTTL(cluster.Annotations(h.opts.Owner))},
		Spec:   corev1.NodeSpec{ProviderID: "kwok://" + name, Taints: []corev1.Taint{Taint(h.opts.RunID)}},
		Status: corev1.NodeStatus{Capacity: h.capacity(), Allocatable: h.capacity()},
	}
}

func withTTL(a map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	a["node.alpha.kubernetes.io/ttl"] = "0"
	return a
}

// WaitReady waits until kwok's controller is available and every hollow node is Ready, polling every second
// (the node list is served from the apiserver's watch cache). On timeout or when kwok's pod cannot start, the
// error says how many nodes are Ready and why kwok's pod is not.
func (h *Hollow) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		ready, podProblem, fatal, err := h.readiness(ctx)
		if err == nil && fatal {
			return fmt.Errorf("hollow nodes: kwok controller cannot start: %s", podProblem)
		}
		if err == nil && ready == len(h.names) && podProblem == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("hollow nodes: %d/%d Ready after %v", ready, len(h.names), timeout)
			if podProblem != "" {
				msg += "; kwok controller: " + podProblem
			}
			if err != nil {
				msg += fmt.Sprintf(" (last error: %v)", err)
			}
			return errors.New(msg)
		case <-tick.C:
		}
	}
}

// readiness counts the Ready hollow nodes and describes what keeps kwok's pod from being ready ("" when ready);
// fatal is true when it will not get better by waiting.
func (h *Hollow) readiness(ctx context.Context) (ready int, podProblem string, fatal bool, err error) {
	pods, err := h.c.CoreV1().Pods(h.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(h.opts.RunID) + "," +
		cluster.ComponentLabel + "=" + ComponentController})
	if err != nil {
		return 0, "", false, err
	}
	podProblem, fatal = podState(pods.Items)
	nodes, err := h.c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(h.opts.RunID) + "," +
		cluster.ComponentLabel + "=" + ComponentNode, ResourceVersion: "0"})
	if err != nil {
		return 0, podProblem, fatal, err
	}
	for _, n := range nodes.Items {
		if NodeReady(&n) {
			ready++
		}
	}
	return ready, podProblem, fatal, nil
}

// podState describes why none of pods is ready ("" when one is); fatal when waiting will not help.
func podState(pods []corev1.Pod) (problem string, fatal bool) {
	if len(pods) == 0 {
		return "no pod yet", false
	}
	var probs []string
	for _, p := range pods {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return "", false
			}
		}
		desc := fmt.Sprintf("pod %s %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				desc += ": unschedulable: " + c.Message
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "ContainerCreating":
				desc += ": " + cs.State.Waiting.Reason
				if cs.State.Waiting.Message != "" {
					desc += " (" + cs.State.Waiting.Message + ")"
				}
				switch cs.State.Waiting.Reason {
				case "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CrashLoopBackOff":
					fatal = true
				}
			case cs.State.Terminated != nil:
				desc += fmt.Sprintf(": exited %d %s", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
			}
		}
		probs = append(probs, desc)
	}
	sort.Strings(probs)
	return strings.Join(probs, "; "), fatal
}

// NodeReady says whether n's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Teardown deletes everything Deploy created (Cleanup of the run, and the namespace when Deploy created it) and
// waits at most waitFor until it is gone. Call it after the run's pods on the hollow nodes are deleted (or their
// namespaces are): kwok finishes their deletion while it runs; a pod of the run still bound to a hollow node is
// deleted at once (grace period 0) so it cannot outlive its node.
func (h *Hollow) Teardown(ctx context.Context, waitFor time.Duration) ([]cluster.Object, error) {
	objs, err := Cleanup(ctx, h.c, h.opts.RunID, waitFor)
	if !h.createdNS {
		return objs, err
	}
	nsObj := cluster.Object{Kind: "Namespace", Name: h.opts.Namespace, RunID: h.opts.RunID}
	del, nerr := cluster.Delete(ctx, h.c, []cluster.Object{nsObj}, waitFor)
	return append(objs, del...), errors.Join(err, nerr)
}

// Usage is kwok's own resource use, from its process metrics.
type Usage struct {
	Pod        string  `json:"pod"`
	CPUSeconds float64 `json:"cpuSeconds"` // process_cpu_seconds_total: CPU time since kwok started
	RSSBytes   float64 `json:"rssBytes"`   // process_resident_memory_bytes
}

// Usage reads kwok's /metrics through the apiserver's pod proxy (needs get on pods/proxy in its namespace). Two
// readings give kwok's CPU over an interval.
func (h *Hollow) Usage(ctx context.Context) (Usage, error) {
	var u Usage
	pods, err := h.c.CoreV1().Pods(h.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(h.opts.RunID) + "," +
		cluster.ComponentLabel + "=" + ComponentController})
	if err != nil {
		return u, fmt.Errorf("hollow nodes: failed to find kwok's pod: %w", err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			u.Pod = p.Name
		}
	}
	if u.Pod == "" {
		return u, errors.New("hollow nodes: kwok's pod is not running")
	}
	raw, err := h.c.CoreV1().Pods(h.opts.Namespace).ProxyGet("http", u.Pod, fmt.Sprint(kwokPort), "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return u, fmt.Errorf("hollow nodes: failed to read kwok's metrics: %w", err)
	}
	found := 0
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "process_cpu_seconds_total":
			u.CPUSeconds, found = v, found+1
		case "process_resident_memory_bytes":
			u.RSSBytes, found = v, found+1
		}
	}
	if found < 2 {
		return u, errors.New("hollow nodes: kwok's metrics lack process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return u, nil
}
