package hollow

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// kwokGroupVersion is the API group of kwok's CRDs (Stage, Metric, ...), which this package never uses.
const kwokGroupVersion = "kwok.x-k8s.io/v1alpha1"

// OtherKwok is what Detect found of kwok controllers that are not this run's.
type OtherKwok struct {
	// Nodes managed by another kwok: annotated kwok.x-k8s.io/node, or with a kwok kubelet version, or
	// providerID kwok://, and not hollow nodes of kubectl-pyrometer.
	Nodes []string
	// OtherRuns are the ids of other kubectl-pyrometer runs whose hollow nodes exist.
	OtherRuns []string
	// CRDs are kwok's custom resources served by the cluster (another kwok installed them).
	CRDs []string
	// Deployments ("namespace/name") running a kwok image that are not kubectl-pyrometer's.
	Deployments []string
}

// Found says whether anything of another kwok was found.
func (o OtherKwok) Found() bool {
	return len(o.Nodes)+len(o.OtherRuns)+len(o.CRDs)+len(o.Deployments) > 0
}

// String says what was found and why it does not interfere ("" when nothing was).
func (o OtherKwok) String() string {
	if !o.Found() {
		return ""
	}
	var parts []string
	if n := len(o.Nodes); n > 0 {
		parts = append(parts, fmt.Sprintf("%d node(s) managed by another kwok (%s)", n, list(o.Nodes)))
	}
	if len(o.OtherRuns) > 0 {
		parts = append(parts, "hollow nodes of other runs ("+list(o.OtherRuns)+")")
	}
	if len(o.CRDs) > 0 {
		parts = append(parts, "kwok CRDs ("+list(o.CRDs)+")")
	}
	if len(o.Deployments) > 0 {
		parts = append(parts, "kwok deployments ("+list(o.Deployments)+")")
	}
	return "another kwok runs in this cluster: " + strings.Join(parts, "; ") +
		"; this run's kwok manages only nodes labelled with its run id and uses no CRDs (stages from its --config), " +
		"so neither manages the other's nodes (a kwok started with --manage-all-nodes would manage ours too)"
}

// list names the first three of s and counts the rest.
func list(s []string) string {
	const max = 3
	if len(s) <= max {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:max], ", ") + fmt.Sprintf(" and %d more", len(s)-max)
}

// Detect looks for another kwok: nodes it manages, kwok's CRDs, Deployments running a kwok image; runID's own
// objects do not count. Kinds the identity may not list are left out.
func Detect(ctx context.Context, c kubernetes.Interface, runID string) (OtherKwok, error) {
	var o OtherKwok
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil && !apierrors.IsForbidden(err) {
		return o, fmt.Errorf("failed to list nodes: %w", err)
	}
	runs := map[string]bool{}
	if err == nil {
		for _, n := range nodes.Items {
			if n.Labels[cluster.ComponentLabel] == ComponentNode && n.Labels[cluster.ManagedByLabel] == cluster.ManagedBy {
				if id := n.Labels[cluster.RunIDLabel]; id != runID {
					runs[id] = true
				}
				continue
			}
			_, annotated := n.Annotations["kwok.x-k8s.io/node"]
			if annotated || strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "kwok") || strings.HasPrefix(n.Spec.ProviderID, "kwok://") {
				o.Nodes = append(o.Nodes, n.Name)
			}
		}
	}
	for id := range runs {
		o.OtherRuns = append(o.OtherRuns, id)
	}
	sort.Strings(o.OtherRuns)
	if rl, err := c.Discovery().ServerResourcesForGroupVersion(kwokGroupVersion); err == nil {
		for _, r := range rl.APIResources {
			if !strings.Contains(r.Name, "/") {
				o.CRDs = append(o.CRDs, r.Name+".kwok.x-k8s.io")
			}
		}
		sort.Strings(o.CRDs)
	}
	deps, err := c.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, d := range deps.Items {
			if d.Labels[cluster.ManagedByLabel] == cluster.ManagedBy && d.Labels[cluster.ComponentLabel] == ComponentController {
				continue
			}
			for _, ct := range d.Spec.Template.Spec.Containers {
				if isKwokImage(ct.Image) {
					o.Deployments = append(o.Deployments, d.Namespace+"/"+d.Name)
					break
				}
			}
		}
	} else if !apierrors.IsForbidden(err) {
		return o, fmt.Errorf("failed to list deployments: %w", err)
	}
	return o, nil
}

func isKwokImage(image string) bool {
	repo := image
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == "kwok" || strings.HasSuffix(repo, "/kwok")
}

// TolerateAll returns the DaemonSets ("namespace/name") whose pods tolerate every taint (a toleration with
// operator Exists and no key, for every effect or for NoSchedule): the DaemonSet controller would put one of their
// pods on every hollow node, where it never runs (no kubelet; kwok marks it Running) but adds a pod per node.
func TolerateAll(ctx context.Context, c kubernetes.Interface) ([]string, error) {
	dss, err := c.AppsV1().DaemonSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list daemonsets: %w", err)
	}
	var out []string
	for _, ds := range dss.Items {
		if TolerateAny(ds.Spec.Template.Spec.Tolerations, Taint("x")) {
			out = append(out, ds.Namespace+"/"+ds.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// TolerateAny says whether tolerations tolerate every hollow-node taint like t (any run id): a toleration with no
// key and operator Exists, or with TaintKey and operator Exists, of t's effect or of every effect.
func TolerateAny(tolerations []corev1.Toleration, t corev1.Taint) bool {
	for _, tol := range tolerations {
		if tol.Operator != corev1.TolerationOpExists || (tol.Effect != "" && tol.Effect != t.Effect) {
			continue
		}
		if tol.Key == "" || tol.Key == t.Key {
			return true
		}
	}
	return false
}

// Etcd is the estimated (or, from Measure, measured) etcd storage the hollow nodes add.
//
// Sizes are what the apiserver writes to etcd per object: the protobuf encoding (4-byte "k8s\0" prefix, the
// runtime.Unknown envelope with apiVersion and kind, the object) plus the key twice (the key index and the stored
// KeyValue) and about 40 bytes of revision bookkeeping. Estimate's objects are the Node as Deploy creates it with the
// status kwok's node-initialize stage adds, the Lease as kwok renews it and a small one-container pod as kwok's
// pod-ready stage leaves it, each with managedFields like those the apiserver records for their writers; Measure
// sizes the real objects instead (the figure to quote once they exist).
//
// History is what the objects' updates write between two compactions (the apiserver compacts every 5 minutes by
// default, --etcd-compaction-interval): each lease is renewed every LeaseDurationSeconds/4 = 10 s (30 revisions per
// 5 minutes), each node's status is rewritten by kwok's heartbeat stage every 600-1210 s (on average once per
// 905 s). The database grows by Live + History until compaction (and defragmentation) reclaims the history.
type Etcd struct {
	Nodes, Leases, Pods              int
	NodeBytes, LeaseBytes, PodBytes  int   // per object (averages when measured)
	LiveBytes                        int64 // Nodes*NodeBytes + Leases*LeaseBytes + Pods*PodBytes
	HistoryBytes                     int64 // per compaction interval, see above
	Measured                         bool  // sizes of the real objects (Measure), else Estimate's
	CompactionInterval, LeaseRenewal time.Duration
}

const (
	compactionInterval = 5 * time.Minute
	leaseRenewal       = LeaseDurationSeconds * time.Second / 4
	heartbeatMean      = 905 * time.Second // kwok's node-heartbeat-with-lease: delay 600 s + jitter up to 610 s
	etcdKeyOverhead    = 40
)

// String is one line for the safety plan.
func (e Etcd) String() string {
	how := "estimated"
	if e.Measured {
		how = "measured"
	}
	s := fmt.Sprintf("etcd: +%s live (%d nodes x %s, %d leases x %s", bytes(e.LiveBytes), e.Nodes, bytes(int64(e.NodeBytes)),
		e.Leases, bytes(int64(e.LeaseBytes)))
	if e.Pods > 0 {
		s += fmt.Sprintf(", %d pods x %s", e.Pods, bytes(int64(e.PodBytes)))
	}
	return s + fmt.Sprintf("), +%s of revisions per %v compaction interval (lease renewals every %v), %s",
		bytes(e.HistoryBytes), e.CompactionInterval, e.LeaseRenewal, how)
}

func bytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

type sizer interface{ Size() int }

// stored is the bytes etcd holds for obj under key (see Etcd).
func stored(obj sizer, apiVersion, kind, key string) int {
	envelope := 4 + 2 + len(apiVersion) + 2 + len(kind) + 4 // magic, TypeMeta fields, raw field header
	return envelope + obj.Size() + 2*len(key) + etcdKeyOverhead
}

func nodeKey(name string) string { return "/registry/minions/" + name }
func leaseKey(name string) string {
	return "/registry/leases/" + corev1.NamespaceNodeLease + "/" + name
}
func podKey(ns, name string) string {
	return "/registry/pods/" + ns + "/" + name
}

func (e *Etcd) finish() {
	e.LiveBytes = int64(e.Nodes)*int64(e.NodeBytes) + int64(e.Leases)*int64(e.LeaseBytes) + int64(e.Pods)*int64(e.PodBytes)
	e.CompactionInterval, e.LeaseRenewal = compactionInterval, leaseRenewal
	perLease := float64(compactionInterval) / float64(leaseRenewal)
	perNode := float64(compactionInterval) / float64(heartbeatMean)
	e.HistoryBytes = int64(math.Round(float64(e.Leases)*float64(e.LeaseBytes)*perLease + float64(e.Nodes)*float64(e.NodeBytes)*perNode))
}

// Estimate is the etcd storage opts.Nodes hollow nodes and pods pods on them add (see Etcd), before any exists.
func Estimate(opts Options, pods int) Etcd {
	opts.defaults()
	h := &Hollow{opts: opts}
	name := NodeName(opts.RunID, opts.Nodes-1) // the longest name
	n := h.node(name)
	n.UID, n.ResourceVersion, n.CreationTimestamp = "00000000-0000-0000-0000-000000000000", "1234567", metav1.Now()
	now := metav1.Now()
	for _, c := range []struct{ t, s, reason, msg string }{
		{"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
		{"MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		{"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		{"NetworkUnavailable", "False", "RouteCreated", "RouteController created a route"},
	} {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeConditionType(c.t),
			Status: corev1.ConditionStatus(c.s), Reason: c.reason, Message: c.msg, LastHeartbeatTime: now, LastTransitionTime: now})
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.244.100.100"}, {Type: corev1.NodeHostName, Address: name}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = kwokPort
	kv := "kwok-" + KwokVersion
	n.Status.NodeInfo = corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux", KernelVersion: kv,
		KubeletVersion: kv, ContainerRuntimeVersion: kv}
	n.Status.Phase = corev1.NodeRunning
	n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.100.0/24", []string{"10.244.100.0/24"}

	l := h.lease(name)
	l.UID, l.ResourceVersion, l.CreationTimestamp = n.UID, n.ResourceVersion, now
	l.Spec.HolderIdentity = ptr.To(controllerName(opts.RunID) + "-0123456789-abcde_00000000-0000-0000-0000-000000000000")
	l.Spec.RenewTime = ptr.To(metav1.NowMicro())
	l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: n.UID}}

	// managedFields as the apiserver records them: the creator's fields, kwok's (status, lease renewal) and the
	// controller-manager's (the node's pod CIDR)
	n.ManagedFields = []metav1.ManagedFieldsEntry{
		managed("kubectl-pyrometer", "", map[string]any{"metadata": map[string]any{"labels": n.Labels, "annotations": n.Annotations},
			"spec": map[string]any{"providerID": n.Spec.ProviderID, "taints": n.Spec.Taints}, "status": map[string]any{"capacity": n.Status.Capacity, "allocatable": n.Status.Allocatable}}),
		managed("kube-controller-manager", "", map[string]any{"spec": map[string]any{"podCIDR": n.Spec.PodCIDR, "podCIDRs": n.Spec.PodCIDRs}}),
		managed("kwok", "status", map[string]any{"status": map[string]any{"conditions": n.Status.Conditions, "addresses": n.Status.Addresses,
			"daemonEndpoints": n.Status.DaemonEndpoints, "nodeInfo": n.Status.NodeInfo, "phase": n.Status.Phase}}),
	}
	l.ManagedFields = []metav1.ManagedFieldsEntry{
		managed("kubectl-pyrometer", "", map[string]any{"metadata": map[string]any{"labels": l.Labels}, "spec": map[string]any{"leaseDurationSeconds": 40}}),
		managed("kwok", "", map[string]any{"metadata": map[string]any{"ownerReferences": l.OwnerReferences}, "spec": map[string]any{"holderIdentity": "", "renewTime": ""}}),
	}
	e := Etcd{Nodes: opts.Nodes, Leases: opts.Nodes, Pods: pods,
		NodeBytes:  stored(n, "v1", "Node", nodeKey(name)),
		LeaseBytes: stored(l, "coordination.k8s.io/v1", "Lease", leaseKey(name))}
	if pods > 0 {
		p := samplePod(opts.RunID, name)
		e.PodBytes = stored(p, "v1", "Pod", podKey(p.Namespace, p.Name))
	}
	e.finish()
	return e
}

// samplePod is a small one-container pod on a hollow node, with the status kwok's pod-ready stage gives it.
func samplePod(runID, node string) *corev1.Pod {
	now := metav1.Now()
	name := "pyrometer-density-" + runID + "-00000"
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "pyrometer-density-" + runID, Labels: cluster.Labels(runID, "density"),
			UID: "00000000-0000-0000-0000-000000000000", ResourceVersion: "1234567", CreationTimestamp: now},
		Spec: corev1.PodSpec{NodeName: node, NodeSelector: NodeSelector(runID), Tolerations: []corev1.Toleration{Toleration(runID)},
			Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10", ImagePullPolicy: corev1.PullIfNotPresent,
				Resources:              corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("4Mi")}},
				TerminationMessagePath: corev1.TerminationMessagePathDefault, TerminationMessagePolicy: corev1.TerminationMessageReadFile}},
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: corev1.DefaultSchedulerName,
			TerminationGracePeriodSeconds: ptr.To[int64](30), ServiceAccountName: "default", EnableServiceLinks: ptr.To(true),
			PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority), Priority: ptr.To[int32](0)},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "10.244.100.100", PodIP: "10.244.100.2", StartTime: &now,
			HostIPs: []corev1.HostIP{{IP: "10.244.100.100"}}, PodIPs: []corev1.PodIP{{IP: "10.244.100.2"}}, QOSClass: corev1.PodQOSBurstable},
	}
	for _, t := range []corev1.PodConditionType{corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pause", Image: "registry.k8s.io/pause:3.10", Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	p.ManagedFields = []metav1.ManagedFieldsEntry{
		managed("kube-burner", "", map[string]any{"metadata": map[string]any{"labels": p.Labels}, "spec": p.Spec}),
		managed("kube-scheduler", "status", map[string]any{"status": map[string]any{"conditions": p.Status.Conditions[3:]}}),
		managed("kwok", "status", map[string]any{"status": p.Status}),
	}
	return p
}

// managed is a managedFields entry of manager owning the fields of v (a FieldsV1 set: "f:<field>" per map key,
// "k:{...}" per keyed list item, as the apiserver writes them).
func managed(manager, subresource string, v any) metav1.ManagedFieldsEntry {
	raw, _ := json.Marshal(v)
	var doc any
	_ = json.Unmarshal(raw, &doc)
	set, _ := json.Marshal(fieldSet(doc))
	now := metav1.Now()
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &now,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: set}, Subresource: subresource}
}

func fieldSet(v any) any {
	out := map[string]any{}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out["f:"+k] = fieldSet(e)
		}
	case []any:
		for i, e := range x {
			key := fmt.Sprintf("i:%d", i)
			if m, ok := e.(map[string]any); ok {
				for _, id := range []string{"name", "type", "key", "ip", "uid"} {
					if v, ok := m[id]; ok {
						key = fmt.Sprintf("k:{%q:%q}", id, fmt.Sprint(v))
						break
					}
				}
			}
			f := fieldSet(e).(map[string]any)
			f["."] = map[string]any{}
			out[key] = f
		}
	}
	return out
}

// Measure is Etcd from the real objects of run runID: its hollow nodes, their leases and the run's pods on them
// (managedFields included).
func Measure(ctx context.Context, c kubernetes.Interface, runID string) (Etcd, error) {
	e := Etcd{Measured: true}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(runID) + "," + cluster.ComponentLabel + "=" + ComponentNode})
	if err != nil {
		return e, fmt.Errorf("failed to list hollow nodes: %w", err)
	}
	leases, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(runID) + "," +
		cluster.ComponentLabel + "=" + ComponentLease})
	if err != nil {
		return e, fmt.Errorf("failed to list hollow nodes' leases: %w", err)
	}
	pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(runID)})
	if err != nil {
		return e, fmt.Errorf("failed to list the run's pods: %w", err)
	}
	on := map[string]bool{}
	var sum int
	for i := range nodes.Items {
		n := &nodes.Items[i]
		on[n.Name] = true
		sum += stored(n, "v1", "Node", nodeKey(n.Name))
	}
	e.Nodes = len(nodes.Items)
	e.NodeBytes = avg(sum, e.Nodes)
	sum = 0
	for i := range leases.Items {
		l := &leases.Items[i]
		sum += stored(l, "coordination.k8s.io/v1", "Lease", leaseKey(l.Name))
	}
	e.Leases = len(leases.Items)
	e.LeaseBytes = avg(sum, e.Leases)
	sum = 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if on[p.Spec.NodeName] {
			sum += stored(p, "v1", "Pod", podKey(p.Namespace, p.Name))
			e.Pods++
		}
	}
	e.PodBytes = avg(sum, e.Pods)
	e.finish()
	return e, nil
}

func avg(sum, n int) int {
	if n == 0 {
		return 0
	}
	return (sum + n/2) / n
}

// PodCIDRs is the pod CIDR allocation check: with --allocate-node-cidrs the controller-manager gives every node a
// block of the cluster CIDR (hollow nodes too), and a node that gets none has no pod network (a real one; a hollow
// node's pods get kwok's fake IPs from --cidr). Free = Total - Allocated counts the blocks left, when the cluster
// CIDR is known (given, or read from a kube-controller-manager pod's --cluster-cidr in kube-system).
type PodCIDRs struct {
	Allocating  bool     // some node has spec.podCIDR
	MaskSize    int      // prefix length of the nodes' blocks (the most common one)
	Allocated   int      // nodes with a block (IPv4)
	Without     []string // nodes without a block while others have one
	ClusterCIDR string   // "" when unknown
	Source      string   // where ClusterCIDR comes from
	Total, Free int      // blocks in ClusterCIDR and not allocated; -1 when unknown
	// CIDRNotAvailable counts the node events saying the controller-manager had no block left.
	CIDRNotAvailable int
}

// Enough says whether want more nodes get a block (true when nodes get none at all, or the total is unknown).
func (p PodCIDRs) Enough(want int) bool { return !p.Allocating || p.Free < 0 || p.Free >= want }

// String is one line for the safety plan.
func (p PodCIDRs) String() string {
	if !p.Allocating {
		return "pod CIDRs: nodes get no spec.podCIDR (no per-node allocation to exhaust)"
	}
	s := fmt.Sprintf("pod CIDRs: %d node(s) hold a /%d block", p.Allocated, p.MaskSize)
	if p.Free >= 0 {
		s += fmt.Sprintf(" of %s (%s): %d of %d free", p.ClusterCIDR, p.Source, p.Free, p.Total)
	} else {
		s += "; cluster CIDR unknown, free blocks not counted"
	}
	if len(p.Without) > 0 {
		s += fmt.Sprintf("; %d node(s) without a block (%s)", len(p.Without), list(p.Without))
	}
	if p.CIDRNotAvailable > 0 {
		s += fmt.Sprintf("; %d CIDRNotAvailable event(s)", p.CIDRNotAvailable)
	}
	return s
}

// CheckPodCIDRs counts the pod CIDR blocks allocated to nodes and, when the cluster CIDR is known (clusterCIDR, or
// the --cluster-cidr of a kube-controller-manager pod in kube-system, as kubeadm runs it), the free ones.
func CheckPodCIDRs(ctx context.Context, c kubernetes.Interface, clusterCIDR string) (PodCIDRs, error) {
	p := PodCIDRs{Total: -1, Free: -1}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return p, fmt.Errorf("failed to list nodes: %w", err)
	}
	masks := map[int]int{}
	var blocks []netip.Prefix
	for _, n := range nodes.Items {
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		got := false
		for _, s := range cidrs {
			if pf, err := netip.ParsePrefix(s); err == nil && pf.Addr().Is4() {
				blocks = append(blocks, pf)
				masks[pf.Bits()]++
				got = true
				break
			}
		}
		if !got {
			p.Without = append(p.Without, n.Name)
		}
	}
	p.Allocating = len(blocks) > 0
	if !p.Allocating {
		p.Without = nil
		return p, nil
	}
	sort.Strings(p.Without)
	best := 0
	for m, k := range masks {
		if k > best || (k == best && m > p.MaskSize) {
			p.MaskSize, best = m, k
		}
	}
	p.Allocated = len(blocks)
	p.Source = "given"
	maskSize := 0
	if clusterCIDR == "" {
		clusterCIDR, maskSize = controllerManagerCIDR(ctx, c)
		p.Source = "kube-controller-manager --cluster-cidr"
	}
	if maskSize > 0 {
		p.MaskSize = maskSize
	}
	if ev, err := c.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "reason=CIDRNotAvailable"}); err == nil {
		p.CIDRNotAvailable = len(ev.Items)
	}
	if clusterCIDR == "" {
		p.Source = ""
		return p, nil
	}
	cc, err := netip.ParsePrefix(clusterCIDR)
	if err != nil || !cc.Addr().Is4() {
		return p, fmt.Errorf("cluster CIDR %q is not an IPv4 prefix", clusterCIDR)
	}
	p.ClusterCIDR = cc.Masked().String()
	if p.MaskSize < cc.Bits() {
		return p, fmt.Errorf("node blocks /%d are larger than the cluster CIDR %s", p.MaskSize, p.ClusterCIDR)
	}
	p.Total = 1 << (p.MaskSize - cc.Bits())
	inside := 0
	for _, b := range blocks {
		if cc.Contains(b.Addr()) {
			inside++
		}
	}
	p.Free = max(p.Total-inside, 0)
	return p, nil
}

// controllerManagerCIDR reads --cluster-cidr and --node-cidr-mask-size(-ipv4) of a kube-controller-manager pod in
// kube-system ("", 0 when there is none or it does not say).
func controllerManagerCIDR(ctx context.Context, c kubernetes.Interface) (cidr string, mask int) {
	pods, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "component=kube-controller-manager"})
	if err != nil {
		return "", 0
	}
	for _, p := range pods.Items {
		for _, ct := range p.Spec.Containers {
			for _, a := range append(append([]string(nil), ct.Command...), ct.Args...) {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					continue
				}
				switch k {
				case "--cluster-cidr":
					for _, s := range strings.Split(v, ",") {
						if pf, err := netip.ParsePrefix(s); err == nil && pf.Addr().Is4() {
							cidr = s
						}
					}
				case "--node-cidr-mask-size", "--node-cidr-mask-size-ipv4":
					mask, _ = strconv.Atoi(v)
				}
			}
		}
		if cidr != "" {
			return cidr, mask
		}
	}
	return "", 0
}
