package hollow_test

// Developer checks against a real cluster (not CI coverage: they skip unless PYROMETER_HOLLOW_KUBECONFIG names a
// kubeconfig). The run integration's e2e tests will cover this through the binary. On the local cluster, with the
// e2e lock held and the kwok image imported:
//
//	flock /tmp/pyrometer-e2e.lock bash -c 'hack/local-cluster.sh load "$(hack/kwok-image.sh)" && \
//	  PYROMETER_HOLLOW_KUBECONFIG=$HOME/.cache/kubectl-pyrometer/cluster/kubeconfig go test -count=1 -v -run TestLive ./pkg/hollow/'
//
// On the local cluster (etcd 3.4.23, no RequestWatchProgress) kwok's watches do not work: kwok watches from
// resourceVersion 0 with bookmarks, which kube-apiserver 1.34 (WatchList on) turns into a streaming list that the
// watch cache refuses without RequestWatchProgress; kwok then only sees changes when it relists (back-off 1-10 s).
// The pod-run figures on hollow nodes measured here are therefore kwok's relist cadence, not the control plane's.
// Reproduce: kubectl get --raw '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?watch=1&resourceVersion=0&allowWatchBookmarks=true'
// answers at once {"type":"ERROR",..."RequestWatchProgress is disabled"...}; without allowWatchBookmarks it streams.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/podstartup"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

func liveClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	kc := os.Getenv("PYROMETER_HOLLOW_KUBECONFIG")
	if kc == "" {
		t.Skip("developer check: set PYROMETER_HOLLOW_KUBECONFIG to a cluster's kubeconfig (with the kwok image loaded) to run it")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfigOrDie(cfg)
}

// otherNodes are the nodes that are not hollow nodes of kubectl-pyrometer, by name -> uid.
func otherNodes(ctx context.Context, t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		if n.Labels[cluster.ComponentLabel] != hollow.ComponentNode {
			out[n.Name] = string(n.UID)
		}
	}
	return out
}

// pods creates n small pods pinned to run runID's hollow nodes, recording each creation in tr just before it.
func pods(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, runID string, n int, interval time.Duration, tr *podstartup.Tracker) {
	t.Helper()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("density-%03d", i)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: cluster.Labels(runID, "density")},
			Spec: corev1.PodSpec{
				NodeSelector: hollow.NodeSelector(runID), Tolerations: []corev1.Toleration{hollow.Toleration(runID)},
				AutomountServiceAccountToken: ptr.To(false), TerminationGracePeriodSeconds: ptr.To[int64](1),
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "pause", Image: "localhost/pause:local", ImagePullPolicy: corev1.PullNever,
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"),
						corev1.ResourceMemory: resource.MustParse("4Mi")}},
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
		tr.Created(ns, name, time.Now())
		if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
		time.Sleep(interval)
	}
}

func envInt(t *testing.T, name string, def, max int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		t.Fatalf("%s=%q: allowed 1..%d", name, v, max)
	}
	return n
}

func percentiles(samples []podstartup.Sample, kind string) (n int, p50, p99, maxMS float64) {
	var v []float64
	for _, s := range samples {
		if s.Kind == kind {
			v = append(v, s.LatencyMS)
		}
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0, 0, 0, 0
	}
	return len(v), probe.Percentile(v, 0.50), probe.Percentile(v, 0.99), v[len(v)-1]
}

func TestLiveHollowNodesPodStartup(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// 20 nodes and 40 pods; PYROMETER_HOLLOW_NODES/PODS change that, at most 50 and 100
	nodes, npods := envInt(t, "PYROMETER_HOLLOW_NODES", 20, 50), envInt(t, "PYROMETER_HOLLOW_PODS", 40, 100)
	runID := cluster.NewRunID()
	ns := "pyrometer-hollow-" + runID
	before := otherNodes(ctx, t, c)

	other, err := hollow.Detect(ctx, c, runID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detect: %s", other)
	ds, err := hollow.TolerateAll(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("daemonsets tolerating every taint: %v", ds)
	opts := hollow.Options{RunID: runID, Namespace: ns, CreateNamespace: true, Nodes: nodes, PodsPerNode: 110}
	t.Logf("plan: %s", hollow.Estimate(opts, npods))
	cidrs, err := hollow.CheckPodCIDRs(ctx, c, "10.244.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan: %s (enough for %d: %v)", cidrs, nodes, cidrs.Enough(nodes))

	start := time.Now()
	h, err := hollow.Deploy(ctx, c, opts)
	torn := false
	defer func() {
		if !torn && h != nil {
			tctx, tcancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer tcancel()
			if _, err := h.Teardown(tctx, 2*time.Minute); err != nil {
				t.Errorf("teardown (deferred): %v", err)
			}
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.WaitReady(ctx, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d hollow nodes Ready %v after Deploy", nodes, time.Since(start).Round(time.Millisecond))

	tr := podstartup.NewTracker(nil)
	tr.SetPhase("density")
	wctx, wcancel := context.WithCancel(ctx)
	wait, err := podstartup.Watch(wctx, c, podstartup.Config{Namespace: ns, LabelSelector: cluster.Selector(runID) + "," + cluster.ComponentLabel + "=density"}, tr)
	if err != nil {
		t.Fatal(err)
	}
	u0, err := h.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	pods(ctx, t, c, ns, runID, npods, 100*time.Millisecond, tr)
	created := time.Now()
	for tr.Counts().Running < npods && ctx.Err() == nil && time.Since(created) < time.Minute {
		time.Sleep(200 * time.Millisecond)
	}
	wcancel()
	wait()
	if got := tr.Counts(); got.Running < npods {
		t.Fatalf("%d/%d pods started within a minute; counts %+v, failures %+v", got.Running, npods, got, tr.Failures())
	}
	ours := map[string]bool{}
	for _, n := range h.Nodes() {
		ours[n] = true
	}
	samples := tr.Samples()
	for _, s := range samples {
		if !ours[s.Node] {
			t.Errorf("pod %s ran on %s, not on a hollow node of the run", s.Pod, s.Node)
		}
	}
	for _, k := range []string{podstartup.KindStartup, podstartup.KindSchedule, podstartup.KindRun, podstartup.KindStartupServer} {
		n, p50, p99, mx := percentiles(samples, k)
		t.Logf("%-19s n=%d p50=%.1fms p99=%.1fms max=%.1fms", k, n, p50, p99, mx)
		if k == podstartup.KindStartup && n < npods {
			t.Errorf("%d %s samples, want >= %d", n, k, npods)
		}
	}
	th := tr.Throughput(t0, created.Add(time.Second), time.Second) // the creation window (+1 s for the last bindings)
	t.Logf("scheduling throughput: %d pods in %v: mean %.1f/s, max %.1f/s (1 s buckets); counts %+v", th.Scheduled, th.Window.Round(time.Millisecond), th.Mean, th.Max, tr.Counts())
	if th.Scheduled != npods {
		t.Errorf("throughput counted %d scheduled pods, want %d", th.Scheduled, npods)
	}
	if e, err := hollow.Measure(ctx, c, runID); err == nil {
		t.Logf("measured %s", e)
	}
	time.Sleep(10 * time.Second) // one lease renewal round for the CPU figure
	u1, err := h.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cpu, wall := u1.CPUSeconds-u0.CPUSeconds, time.Since(t0).Seconds()
	t.Logf("kwok controller: %.2f CPU-s during the pods and 10 s idle (%.1fs wall: %.1f%% of a core), RSS %.1f MiB, %d nodes %d pods",
		cpu, wall, 100*cpu/wall, u1.RSSBytes/(1<<20), nodes, npods)
	if pl, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: cluster.ComponentLabel + "=" + hollow.ComponentController}); err == nil && len(pl.Items) > 0 {
		if raw, err := c.CoreV1().Pods(ns).GetLogs(pl.Items[0].Name, &corev1.PodLogOptions{}).DoRaw(ctx); err == nil {
			t.Logf("kwok log: %d lines, %d errors, %d watch restarts", bytes.Count(raw, []byte("\n")),
				bytes.Count(raw, []byte(`"level":"ERROR"`)), bytes.Count(raw, []byte("watch ended with error")))
			if os.Getenv("PYROMETER_HOLLOW_KWOK_LOG") != "" {
				_ = os.WriteFile(os.Getenv("PYROMETER_HOLLOW_KWOK_LOG"), raw, 0o644)
			}
		}
	}

	// The run's pods go first (kwok completes their deletion), then the hollow nodes and kwok.
	if err := c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: cluster.Selector(runID)}); err != nil {
		t.Fatal(err)
	}
	td := time.Now()
	objs, err := h.Teardown(ctx, 2*time.Minute)
	torn = true
	if err != nil {
		t.Fatalf("teardown: %v", err)
	}
	t.Logf("teardown: %d objects in %v", len(objs), time.Since(td).Round(time.Millisecond))
	left, err := hollow.Find(ctx, c, runID, nil)
	if err != nil || len(left) > 0 {
		t.Errorf("after teardown: %v left (err %v)", left, err)
	}
	pl, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: cluster.Selector(runID)})
	if err != nil || len(pl.Items) > 0 {
		t.Errorf("after teardown: %d pods of the run left (err %v)", len(pl.Items), err)
	}
	leases, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Items {
		if strings.HasPrefix(l.Name, "pyrometer-hollow-"+runID+"-") {
			t.Errorf("after teardown: lease %s left", l.Name)
		}
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after teardown: namespace %s: %v", ns, err)
	}
	after := otherNodes(ctx, t, c)
	for name, uid := range before {
		if after[name] != uid {
			t.Errorf("node %s (not ours) changed: uid %q -> %q", name, uid, after[name])
		}
	}
	// The local cluster's own kwok nodes: still there, still held by their kwok (not ours). Their Ready condition
	// is not asserted: on the local cluster (etcd 3.4) that kwok's lease renewals conflict on their own and its
	// nodes flap NotReady every few minutes, with or without this test.
	for name := range before {
		if !strings.HasPrefix(name, "kwok-node-") {
			continue
		}
		l, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("lease of the local cluster's %s: %v", name, err)
			continue
		}
		if h := ptr.Deref(l.Spec.HolderIdentity, ""); strings.HasPrefix(h, "pyrometer-kwok-") {
			t.Errorf("the local cluster's %s is held by our kwok %s", name, h)
		}
	}
}

// TestLiveMaxPods fills 2 hollow nodes of 3 pods each with 8 pods: 2 stay Pending and the scheduler's
// FailedScheduling "Too many pods" is named maxPods exhausted.
func TestLiveMaxPods(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runID := cluster.NewRunID()
	ns := "pyrometer-hollow-" + runID
	h, err := hollow.Deploy(ctx, c, hollow.Options{RunID: runID, Namespace: ns, CreateNamespace: true, Nodes: 2, PodsPerNode: 3})
	defer func() {
		if h != nil {
			tctx, tcancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer tcancel()
			_ = c.CoreV1().Pods(ns).DeleteCollection(tctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: cluster.Selector(runID)})
			if _, err := h.Teardown(tctx, 2*time.Minute); err != nil {
				t.Errorf("teardown: %v", err)
			}
			if left, err := hollow.Find(tctx, c, runID, nil); err != nil || len(left) > 0 {
				t.Errorf("after teardown: %v left (err %v)", left, err)
			}
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.WaitReady(ctx, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	tr := podstartup.NewTracker(nil)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	if _, err := podstartup.Watch(wctx, c, podstartup.Config{Namespace: ns, LabelSelector: cluster.Selector(runID)}, tr); err != nil {
		t.Fatal(err)
	}
	pods(ctx, t, c, ns, runID, 8, 0, tr)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if p := tr.Pending(time.Now()); tr.Counts().Running == 6 && p.Reasons[podstartup.ReasonMaxPods] == 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	p := tr.Pending(time.Now())
	t.Logf("counts %+v pending %+v failures %+v", tr.Counts(), p, tr.Failures())
	if tr.Counts().Running != 6 || p.Count != 2 || p.Reasons[podstartup.ReasonMaxPods] != 2 {
		t.Fatalf("want 6 running and 2 pending for %q; counts %+v pending %+v", podstartup.ReasonMaxPods, tr.Counts(), p)
	}
	f := tr.Failures()
	if len(f) == 0 || f[0].Reason != podstartup.ReasonMaxPods || f[0].Pods != 2 {
		t.Fatalf("failures %+v, want %q for 2 pods first", f, podstartup.ReasonMaxPods)
	}
}
