package hollow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	restclient "k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// The stages are upstream's files of sigs.k8s.io/kwok@KwokVersion, unchanged (kustomize/stage/...).
func TestStagesPinned(t *testing.T) {
	want := map[string]string{
		"node-initialize.yaml":           "bb38f752d90248528b579a0ae8f0f660ff3428457eb5c1ebe6345c3246cc7ee5",
		"node-heartbeat-with-lease.yaml": "9becfc93321222915bd1ec8ab103fe769afe4b23e1386bf40553deb02e332c9c",
		"pod-ready.yaml":                 "4d04a22c1b9dc6adcd4da90b32ce85687ba0058e15ca1eebcfa7cd64201d4148",
		"pod-complete.yaml":              "86b800597419abbd7d8c43b0dfc4782643cfcfcfc8ac617f1e79e4e3a68533b2",
		"pod-delete.yaml":                "a83bc287bfc7a4f1e3748e01761186128a4042e38b304195e984111ce5626cef",
	}
	for f, sum := range want {
		b, err := os.ReadFile("stages/" + f)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != sum {
			t.Errorf("stages/%s changed (sha256 %s): copy it unchanged from sigs.k8s.io/kwok@%s kustomize/stage", f, got, KwokVersion)
		}
	}
	var names []string
	for _, doc := range strings.Split(Stages(), "---\n")[1:] {
		var s struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &s); err != nil {
			t.Fatalf("stage document does not parse: %v\n%s", err, doc)
		}
		if s.Kind != "Stage" {
			t.Errorf("kind %q, want Stage", s.Kind)
		}
		names = append(names, s.Metadata.Name)
	}
	if !slices.Equal(names, []string{"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"}) {
		t.Errorf("stages %v", names)
	}
}

// The image hack/kwok-image.sh builds and the binary hack/setup.sh builds are the version deployed.
func TestKwokVersionMatchesScripts(t *testing.T) {
	for _, f := range []string{"../../hack/setup.sh", "../../hack/kwok-image.sh"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`KWOK_VERSION=\$\{KWOK_VERSION:-(v[0-9.]+)\}`).FindSubmatch(b)
		if m == nil || string(m[1]) != KwokVersion {
			t.Errorf("%s: KWOK_VERSION default %q, want %s (pkg/hollow.KwokVersion)", f, m, KwokVersion)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Options{RunID: "abcd1234", Namespace: "ns", Nodes: 3}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.RunID = "" }, "run id"},
		{func(o *Options) { o.RunID = "Not/Valid" }, "run id"},
		{func(o *Options) { o.Namespace = "" }, "namespace"},
		{func(o *Options) { o.Nodes = 0 }, "allowed 1..1000"},
		{func(o *Options) { o.Nodes = MaxNodes + 1 }, "1001 nodes asked"},
		{func(o *Options) { o.PodsPerNode = -1 }, "pods per node"},
		{func(o *Options) { o.CPU = "lots" }, "node cpu"},
		{func(o *Options) { o.Memory = "0" }, "node memory"},
	} {
		o := ok
		c.mod(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", o, err, c.want)
		}
	}
}

func opts() Options {
	return Options{RunID: "abcd1234", Namespace: "pyrometer-abcd1234", CreateNamespace: true, Owner: "alice", Nodes: 3,
		PodsPerNode: 7, CPU: "4", Memory: "8Gi", ImagePullSecrets: []string{"pull"},
		ImageMap: func(s string) string { return strings.Replace(s, "registry.k8s.io", "mirror.example", 1) }}
}

func TestDeployObjects(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	h, err := Deploy(ctx, c, opts())
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, "pyrometer-abcd1234", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || ns.Labels[cluster.RunIDLabel] != "abcd1234" ||
		ns.Annotations[cluster.OwnerAnnotation] != "alice" {
		t.Errorf("namespace labels %v annotations %v", ns.Labels, ns.Annotations)
	}
	name := "pyrometer-kwok-abcd1234"
	ctrl := cluster.Labels("abcd1234", ComponentController)
	sa, err := c.CoreV1().ServiceAccounts(ns.Name).Get(ctx, name, metav1.GetOptions{})
	if err != nil || !labelsHave(sa.Labels, ctrl) {
		t.Errorf("service account: %v %v", err, sa)
	}
	cr, err := c.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
	if err != nil || !labelsHave(cr.Labels, ctrl) || cr.Annotations[cluster.OwnerAnnotation] != "alice" {
		t.Fatalf("cluster role: %v %v", err, cr)
	}
	for _, r := range cr.Rules {
		for _, g := range r.APIGroups {
			if g == "kwok.x-k8s.io" {
				t.Errorf("cluster role grants kwok's CRDs, which are not used: %v", r)
			}
		}
	}
	crb, err := c.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
	if err != nil || crb.RoleRef.Name != name || crb.Subjects[0].Namespace != ns.Name || crb.Subjects[0].Name != name {
		t.Errorf("cluster role binding: %v %+v", err, crb)
	}
	cm, err := c.CoreV1().ConfigMaps(ns.Name).Get(ctx, name, metav1.GetOptions{})
	if err != nil || cm.Data["stages.yaml"] != Stages() {
		t.Errorf("config map: %v", err)
	}
	d, err := c.AppsV1().Deployments(ns.Name).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkDeployment(t, d)

	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 3 {
		t.Fatalf("nodes: %v %d", err, len(nodes.Items))
	}
	if got := h.Nodes(); !slices.Equal(got, []string{"pyrometer-hollow-abcd1234-0", "pyrometer-hollow-abcd1234-1", "pyrometer-hollow-abcd1234-2"}) {
		t.Errorf("Nodes() = %v", got)
	}
	sel := NodeSelector("abcd1234")
	tol := Toleration("abcd1234")
	for _, n := range nodes.Items {
		if !labelsHave(n.Labels, cluster.Labels("abcd1234", ComponentNode)) || !labelsHave(n.Labels, sel) || n.Labels[corev1.LabelHostname] != n.Name {
			t.Errorf("node %s labels %v", n.Name, n.Labels)
		}
		if _, ok := n.Annotations["kwok.x-k8s.io/node"]; ok {
			t.Errorf("node %s carries the local kwok's annotation: another kwok would manage it", n.Name)
		}
		if n.Spec.ProviderID != "kwok://"+n.Name {
			t.Errorf("node %s providerID %q", n.Name, n.Spec.ProviderID)
		}
		if len(n.Spec.Taints) != 1 || !tol.ToleratesTaint(&n.Spec.Taints[0]) || n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
			t.Errorf("node %s taints %v not tolerated by %v", n.Name, n.Spec.Taints, tol)
		}
		other := Toleration("ffff0000")
		if other.ToleratesTaint(&n.Spec.Taints[0]) {
			t.Errorf("another run's toleration tolerates node %s", n.Name)
		}
		for _, rl := range []corev1.ResourceList{n.Status.Capacity, n.Status.Allocatable} {
			if rl.Pods().Value() != 7 || !rl.Cpu().Equal(resource.MustParse("4")) || !rl.Memory().Equal(resource.MustParse("8Gi")) {
				t.Errorf("node %s capacity %v", n.Name, rl)
			}
		}
		l, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil || !labelsHave(l.Labels, cluster.Labels("abcd1234", ComponentLease)) || l.Spec.HolderIdentity != nil {
			t.Errorf("lease %s: %v %+v", n.Name, err, l)
		}
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	if !labelsHave(d.Labels, cluster.Labels("abcd1234", ComponentController)) || *d.Spec.Replicas != 1 ||
		d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("deployment %v replicas %d strategy %v", d.Labels, *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	p := d.Spec.Template.Spec
	if p.HostNetwork || p.HostPID || p.HostIPC {
		t.Error("kwok's pod uses the host's namespaces")
	}
	if p.SecurityContext == nil || !*p.SecurityContext.RunAsNonRoot || *p.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod security context %+v", p.SecurityContext)
	}
	if len(p.ImagePullSecrets) != 1 || p.ImagePullSecrets[0].Name != "pull" || p.ServiceAccountName != "pyrometer-kwok-abcd1234" {
		t.Errorf("pull secrets %v service account %q", p.ImagePullSecrets, p.ServiceAccountName)
	}
	ct := p.Containers[0]
	if ct.Image != "mirror.example/kwok/kwok:"+KwokVersion {
		t.Errorf("image %q, want the mapped upstream image", ct.Image)
	}
	sc := ct.SecurityContext
	if sc == nil || *sc.Privileged || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || len(sc.Capabilities.Drop) != 1 {
		t.Errorf("container security context %+v", sc)
	}
	want := map[string]bool{
		"--manage-nodes-with-label-selector=kubepyrometer.io/run-id=abcd1234,kubepyrometer.io/component=hollow-node": true,
		"--manage-nodes-with-annotation-selector=": true, "--manage-all-nodes=false": true, "--kubeconfig=": true,
		"--config=/etc/kwok/stages.yaml": true, "--node-lease-duration-seconds=40": true,
	}
	for _, a := range ct.Args {
		delete(want, a)
		if strings.HasPrefix(a, "--enable-crds") {
			t.Errorf("kwok enables CRDs: %s", a)
		}
	}
	if len(want) > 0 {
		t.Errorf("kwok args %v lack %v", ct.Args, want)
	}
	aff := p.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
	if aff.Key != cluster.ComponentLabel || aff.Operator != corev1.NodeSelectorOpNotIn || aff.Values[0] != ComponentNode {
		t.Errorf("kwok may land on a hollow node: %+v", aff)
	}
}

func labelsHave(l, want map[string]string) bool {
	for k, v := range want {
		if l[k] != v {
			return false
		}
	}
	return true
}

// foreign are objects that are not this run's: the local cluster's kwok node and lease, another run's hollow node.
func foreign() []runtime.Object {
	return []runtime.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0", Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels: map[string]string{"type": "kwok"}}},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0", Namespace: corev1.NamespaceNodeLease}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "pyrometer-hollow-ffff0000-0", Labels: cluster.Labels("ffff0000", ComponentNode)}},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "pyrometer-hollow-ffff0000-0", Namespace: corev1.NamespaceNodeLease,
			Labels: cluster.Labels("ffff0000", ComponentLease)}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "pyrometer-abcd1234", Labels: cluster.Labels("abcd1234", "density")},
			Spec: corev1.PodSpec{NodeName: "vm"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-hollow", Namespace: "pyrometer-abcd1234", Labels: cluster.Labels("abcd1234", "density")},
			Spec: corev1.PodSpec{NodeName: "pyrometer-hollow-abcd1234-1"}},
	}
}

func TestTeardownByLabel(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(foreign()...)
	h, err := Deploy(ctx, c, opts())
	if err != nil {
		t.Fatal(err)
	}
	found, err := Find(ctx, c, "abcd1234", nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range found {
		kinds[o.Kind]++
		if o.RunID != "abcd1234" {
			t.Errorf("Find(abcd1234) found %+v", o)
		}
		if (o.Kind == "Node" || o.Kind == "Lease" || o.Kind == "Deployment" || o.Kind == "ServiceAccount") && o.Resource == "" {
			t.Errorf("%s %s has no resource for cluster.Delete", o.Kind, o.Name)
		}
	}
	wantKinds := map[string]int{"Node": 3, "Lease": 3, "Deployment": 1, "ServiceAccount": 1, "ConfigMap": 1, "ClusterRole": 1, "ClusterRoleBinding": 1}
	for k, n := range wantKinds {
		if kinds[k] != n {
			t.Errorf("Find: %d %s, want %d (%v)", kinds[k], k, n, kinds)
		}
	}
	all, err := Find(ctx, c, "", nil)
	if err != nil || len(all) != len(found)+2 {
		t.Errorf("Find(every run) = %d objects (%v), want %d", len(all), err, len(found)+2)
	}

	objs, err := h.Teardown(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(found)+1 {
		t.Errorf("teardown returned %d objects, want %d (+ namespace)", len(objs), len(found)+1)
	}
	for _, o := range objs {
		if o.Status != "deleted" {
			t.Errorf("%s %s: %q", o.Kind, o.Name, o.Status)
		}
	}
	if left, _ := Find(ctx, c, "abcd1234", nil); len(left) > 0 {
		t.Errorf("left after teardown: %v", left)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "pyrometer-abcd1234", metav1.GetOptions{}); err == nil {
		t.Error("namespace left")
	}
	// foreign objects are untouched; the run's pod bound to a hollow node is gone, the other one is not
	for _, n := range []string{"kwok-node-0", "pyrometer-hollow-ffff0000-0"} {
		if _, err := c.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("node %s: %v", n, err)
		}
		if _, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("lease %s: %v", n, err)
		}
	}
	if _, err := c.CoreV1().Pods("pyrometer-abcd1234").Get(ctx, "on-hollow", metav1.GetOptions{}); err == nil {
		t.Error("the run's pod on a hollow node was not deleted")
	}
	if _, err := c.CoreV1().Pods("pyrometer-abcd1234").Get(ctx, "elsewhere", metav1.GetOptions{}); err != nil {
		t.Errorf("a pod on another node was deleted: %v", err)
	}
	var zero *int64
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && d.GetResource().Resource == "pods" {
			if g := d.GetDeleteOptions().GracePeriodSeconds; g == zero || *g != 0 {
				t.Errorf("pod on a hollow node deleted with grace period %v, want 0", g)
			}
		}
	}
}

// A Deploy that fails half-way returns the handle, whose Teardown removes what was created.
func TestDeployFailureTornDown(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	c.PrependReactor("create", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.CreateAction).GetObject().(*corev1.Node).Name == "pyrometer-hollow-abcd1234-2" {
			return true, nil, errors.New("quota")
		}
		return false, nil, nil
	})
	h, err := Deploy(ctx, c, opts())
	if err == nil || !strings.Contains(err.Error(), "failed to create node pyrometer-hollow-abcd1234-2: quota") || h == nil {
		t.Fatalf("Deploy: %v, %v", h, err)
	}
	if _, err := h.Teardown(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if left, _ := Find(ctx, c, "abcd1234", nil); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
}

func TestWaitReady(t *testing.T) {
	ctx := context.Background()
	o := opts()
	o.Nodes = 2
	c := fake.NewClientset()
	h, err := Deploy(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	err = h.WaitReady(ctx, 1500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "0/2 Ready") || !strings.Contains(err.Error(), "no pod yet") {
		t.Errorf("no pod, no ready node: %v", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kwok-x", Namespace: o.Namespace, Labels: cluster.Labels(o.RunID, ComponentController)},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "kwok-controller",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: "image not present"}}}}}}
	if _, err := c.CoreV1().Pods(o.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = h.WaitReady(ctx, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "cannot start") || !strings.Contains(err.Error(), "ErrImageNeverPull (image not present)") || time.Since(start) > 5*time.Second {
		t.Errorf("image never pulled: %v after %v", err, time.Since(start))
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if _, err := c.CoreV1().Pods(o.Namespace).Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range h.Nodes() {
		node, _ := c.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.WaitReady(ctx, 5*time.Second); err != nil {
		t.Errorf("all ready: %v", err)
	}
}

func TestDetect(t *testing.T) {
	ctx := context.Background()
	objs := foreign()
	objs = append(objs,
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "pyrometer-hollow-abcd1234-0", Labels: cluster.Labels("abcd1234", ComponentNode)}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "real"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.34.4"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "unannotated-kwok"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "kwok-v0.8.0"}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kwok-controller", Namespace: "kube-system"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "registry.k8s.io/kwok/kwok:v0.7.0"}}}}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kwokish", Namespace: "default"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "example.com/kwokish:1"}}}}}},
	)
	c := fake.NewClientset(objs...)
	c.Resources = []*metav1.APIResourceList{{GroupVersion: "kwok.x-k8s.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "stages"}, {Name: "stages/status"}}}}
	o, err := Detect(ctx, c, "abcd1234")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Nodes, []string{"kwok-node-0", "unannotated-kwok"}) || !slices.Equal(o.OtherRuns, []string{"ffff0000"}) ||
		!slices.Equal(o.CRDs, []string{"stages.kwok.x-k8s.io"}) || !slices.Equal(o.Deployments, []string{"kube-system/kwok-controller"}) {
		t.Errorf("Detect = %+v", o)
	}
	if s := o.String(); !strings.Contains(s, "2 node(s) managed by another kwok (kwok-node-0, unannotated-kwok)") || !strings.Contains(s, "uses no CRDs") {
		t.Errorf("String() = %s", s)
	}
	empty, err := Detect(ctx, fake.NewClientset(), "abcd1234")
	if err != nil || empty.Found() || empty.String() != "" {
		t.Errorf("empty cluster: %+v %v", empty, err)
	}
}

func TestTolerateAll(t *testing.T) {
	ds := func(name string, tols ...corev1.Toleration) runtime.Object {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Tolerations: tols}}}}
	}
	c := fake.NewClientset(
		ds("everything", corev1.Toleration{Operator: corev1.TolerationOpExists}),
		ds("noschedule", corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}),
		ds("noexecute-only", corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}),
		ds("our-key", corev1.Toleration{Key: TaintKey, Operator: corev1.TolerationOpExists}),
		ds("specific", corev1.Toleration{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists}),
		ds("none"),
	)
	got, err := TolerateAll(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"kube-system/everything", "kube-system/noschedule", "kube-system/our-key"}; !slices.Equal(got, want) {
		t.Errorf("TolerateAll = %v, want %v", got, want)
	}
}

func TestEstimate(t *testing.T) {
	o := Options{RunID: "abcd1234", Namespace: "ns", Nodes: 100}
	e := Estimate(o, 1000)
	if e.NodeBytes < 800 || e.LeaseBytes < 200 || e.PodBytes < 500 || e.NodeBytes > 8000 || e.LeaseBytes > 2000 || e.PodBytes > 8000 {
		t.Errorf("implausible sizes %+v", e)
	}
	if e.LiveBytes != int64(100*e.NodeBytes+100*e.LeaseBytes+1000*e.PodBytes) {
		t.Errorf("live %d", e.LiveBytes)
	}
	// 30 lease revisions per 5 minutes, a node status write every 905 s on average
	want := float64(100*e.LeaseBytes)*30 + float64(100*e.NodeBytes)*300/905
	if d := float64(e.HistoryBytes) - want; d > 1 || d < -1 {
		t.Errorf("history %d, want %.0f", e.HistoryBytes, want)
	}
	o.Nodes = 200
	if e2 := Estimate(o, 0); e2.NodeBytes < e.NodeBytes || e2.LiveBytes >= e.LiveBytes+int64(100*(e.NodeBytes+e.LeaseBytes))+200 || e2.PodBytes != 0 {
		t.Errorf("200 nodes, no pods: %+v", e2)
	}
	if s := e.String(); !strings.Contains(s, "100 nodes x ") || !strings.Contains(s, "1000 pods x ") || !strings.Contains(s, "estimated") {
		t.Errorf("String() = %s", s)
	}
}

func TestMeasure(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(foreign()...)
	if _, err := Deploy(ctx, c, opts()); err != nil {
		t.Fatal(err)
	}
	e, err := Measure(ctx, c, "abcd1234")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Measured || e.Nodes != 3 || e.Leases != 3 || e.Pods != 1 || e.NodeBytes <= 0 || e.LeaseBytes <= 0 || e.PodBytes <= 0 {
		t.Errorf("Measure = %+v", e)
	}
}

func node(name, cidr string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if cidr != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr, "fd00::/64"}
	}
	return n
}

func TestCheckPodCIDRs(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(node("a", "10.244.0.0/24"), node("b", "10.244.1.0/24"), node("c", "10.244.2.0/24"), node("d", ""))
	p, err := CheckPodCIDRs(ctx, c, "10.244.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allocating || p.MaskSize != 24 || p.Allocated != 3 || p.Total != 256 || p.Free != 253 || !slices.Equal(p.Without, []string{"d"}) {
		t.Errorf("CheckPodCIDRs = %+v", p)
	}
	if !p.Enough(253) || p.Enough(254) {
		t.Errorf("Enough: %+v", p)
	}
	if s := p.String(); !strings.Contains(s, "253 of 256 free") || !strings.Contains(s, "1 node(s) without a block (d)") {
		t.Errorf("String() = %s", s)
	}

	// the cluster CIDR read from a kubeadm controller-manager pod
	kcm := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-controller-manager-cp", Namespace: "kube-system", Labels: map[string]string{"component": "kube-controller-manager"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Command: []string{"kube-controller-manager", "--allocate-node-cidrs=true",
			"--cluster-cidr=10.244.0.0/20,fd00::/48", "--node-cidr-mask-size-ipv4=24"}}}}}
	c = fake.NewClientset(node("a", "10.244.0.0/24"), node("b", "10.244.1.0/24"), kcm)
	p, err = CheckPodCIDRs(ctx, c, "")
	if err != nil || p.ClusterCIDR != "10.244.0.0/20" || p.Total != 16 || p.Free != 14 || p.Source != "kube-controller-manager --cluster-cidr" {
		t.Errorf("from kube-controller-manager: %+v %v", p, err)
	}

	// unknown cluster CIDR: counted, not judged
	c = fake.NewClientset(node("a", "10.244.0.0/24"))
	p, err = CheckPodCIDRs(ctx, c, "")
	if err != nil || p.Free != -1 || !p.Enough(1000) || !strings.Contains(p.String(), "cluster CIDR unknown") {
		t.Errorf("unknown: %+v %v", p, err)
	}
	// no allocation at all
	c = fake.NewClientset(node("a", ""), node("b", ""))
	p, err = CheckPodCIDRs(ctx, c, "10.244.0.0/16")
	if err != nil || p.Allocating || len(p.Without) != 0 || !p.Enough(1000) {
		t.Errorf("no allocation: %+v %v", p, err)
	}
	c = fake.NewClientset(node("a", "10.244.0.0/24"))
	if _, err := CheckPodCIDRs(ctx, c, "not-a-cidr"); err == nil {
		t.Error("bad cluster CIDR accepted")
	}
}

type rawResponse string

func (r rawResponse) DoRaw(context.Context) ([]byte, error) { return []byte(r), nil }
func (r rawResponse) Stream(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(r))), nil
}

func TestUsage(t *testing.T) {
	ctx := context.Background()
	o := opts()
	c := fake.NewClientset()
	h, err := Deploy(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Usage(ctx); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("no pod: %v", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kwok-x", Namespace: o.Namespace, Labels: cluster.Labels(o.RunID, ComponentController)},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if _, err := c.CoreV1().Pods(o.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var path string
	c.PrependProxyReactor("pods", func(a k8stesting.Action) (bool, restclient.ResponseWrapper, error) {
		p := a.(k8stesting.ProxyGetAction)
		path = p.GetName() + ":" + p.GetPort() + p.GetPath()
		return true, rawResponse("# HELP process_cpu_seconds_total x\nprocess_cpu_seconds_total 1.25\nprocess_resident_memory_bytes 6.0817408e+07\ngo_goroutines 42\n"), nil
	})
	u, err := h.Usage(ctx)
	if err != nil || u.CPUSeconds != 1.25 || u.RSSBytes != 60817408 || u.Pod != "kwok-x" || path != "kwok-x:10247/metrics" {
		t.Errorf("Usage = %+v, %v (path %s)", u, err, path)
	}
}

// TestDeletePodsOnHollowNodesByCollection: several pods of the run on one hollow node go with one DeleteCollection
// (label and field selector, grace 0), not one request each; what it leaves (here: the fake clientset ignores
// DeleteCollection) is deleted one by one; pods on other nodes stay.
func TestDeletePodsOnHollowNodesByCollection(t *testing.T) {
	ctx := context.Background()
	var objs []runtime.Object
	for i := range 3 {
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns", Labels: cluster.Labels("abcd1234", "density")},
			Spec: corev1.PodSpec{NodeName: "pyrometer-hollow-abcd1234-0"}})
	}
	objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "real", Namespace: "ns", Labels: cluster.Labels("abcd1234", "density")},
		Spec: corev1.PodSpec{NodeName: "vm"}})
	c := fake.NewClientset(objs...)
	if err := deletePodsOn(ctx, c, "abcd1234", map[string]bool{"pyrometer-hollow-abcd1234-0": true}); err != nil {
		t.Fatal(err)
	}
	collections := 0
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteCollectionAction); ok && a.GetVerb() == "delete-collection" {
			collections++
			if fs := d.GetListRestrictions().Fields.String(); fs != "spec.nodeName=pyrometer-hollow-abcd1234-0" || d.GetNamespace() != "ns" {
				t.Errorf("DeleteCollection in %q with fields %q", d.GetNamespace(), fs)
			}
		}
	}
	if collections != 1 {
		t.Errorf("%d DeleteCollections, want 1 (one node, one namespace)", collections)
	}
	pods, _ := c.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 1 || pods.Items[0].Name != "real" {
		t.Errorf("pods left: %v, want only the one on the real node", pods.Items)
	}
}
