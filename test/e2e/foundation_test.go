//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

func TestVersionReachesServer(t *testing.T) {
	r := plugin(t, time.Minute, "version", "-o", "json")
	if r.code != 0 {
		t.Fatalf("version exited %d: %s", r.code, r.stderr)
	}
	var v struct {
		Client struct{ Version, GitCommit, KubeBurnerVersion string }
		Server *struct{ Host, GitVersion string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r.stdout)
	}
	if v.Server == nil || !strings.HasPrefix(v.Server.GitVersion, "v1.") {
		t.Fatalf("version did not report the server: %s", r.stdout)
	}
	if v.Client.Version == "" || v.Client.KubeBurnerVersion == "" || v.Client.KubeBurnerVersion == "unknown" {
		t.Fatalf("client version incomplete: %s", r.stdout)
	}
	if !strings.HasPrefix(v.Client.KubeBurnerVersion, "v2.") {
		t.Errorf("kube-burner version = %q, want v2.x", v.Client.KubeBurnerVersion)
	}
}

// TestContextFlag proves that --kubeconfig and --context select the cluster, as in kubectl.
func TestContextFlag(t *testing.T) {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	good := cfg.CurrentContext
	// a second context whose cluster is an address where nothing listens
	cfg.Clusters["nowhere"] = cfg.Clusters[cfg.Contexts[good].Cluster].DeepCopy()
	cfg.Clusters["nowhere"].Server = "https://127.0.0.1:1"
	ctx := cfg.Contexts[good].DeepCopy()
	ctx.Cluster = "nowhere"
	cfg.Contexts["nowhere"] = ctx
	// make the broken one current, so only an honoured --context reaches the real apiserver
	cfg.CurrentContext = "nowhere"
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}

	r := pluginIn(t, "", time.Minute, "--kubeconfig", kc, "--context", good, "version", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"gitVersion": "v1.`) {
		t.Fatalf("--context %s: exit %d\nstdout: %s\nstderr: %s", good, r.code, r.stdout, r.stderr)
	}

	r = pluginIn(t, "", time.Minute, "--kubeconfig", kc, "version")
	if r.code == 0 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Fatalf("current context 'nowhere' should fail naming its server; exit %d, stderr: %s", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)

	r = pluginIn(t, "", time.Minute, "--kubeconfig", kc, "--context", "does-not-exist", "version")
	if r.code == 0 || !strings.Contains(r.stderr, `context "does-not-exist" does not exist`) {
		t.Fatalf("unknown --context: exit %d, stderr: %s", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)

	r = pluginIn(t, "", time.Minute, "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "version")
	if r.code == 0 || !strings.Contains(r.stderr, "missing") {
		t.Fatalf("missing --kubeconfig file: exit %d, stderr: %s", r.code, r.stderr)
	}
}

func assertOneErrorLine(t *testing.T, stderr string) {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "error: ") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 {
		t.Errorf("want exactly one 'error: ' line on stderr, got %d:\n%s", len(errs), stderr)
	}
}

// TestLocalClusterNodes checks the test cluster itself: a busybox pod runs and burns CPU on the real node (logs
// work), and pods schedule onto kwok nodes. Other e2e tests rely on both.
func TestLocalClusterNodes(t *testing.T) {
	if os.Getenv("PYROMETER_E2E_EXTERNAL") != "" {
		t.Skip("external cluster: its nodes are not the local cluster's")
	}
	c := adminClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := fmt.Sprintf("e2e-nodes-%d", time.Now().UnixNano())
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("32Mi")}
	pod := func(name string, sel map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			NodeSelector: sel, TerminationGracePeriodSeconds: ptr.To[int64](0),
			Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{Name: "c", Image: "localhost/busybox:local", ImagePullPolicy: corev1.PullNever,
				Command:   []string{"sh", "-c", "echo hello-from-real-node; while true; do :; done"},
				Resources: corev1.ResourceRequirements{Requests: res, Limits: res}}}}}
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod("real", map[string]string{"kubepyrometer.io/real-node": "true"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, pod(fmt.Sprintf("fake-%d", i), map[string]string{"type": "kwok"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 4, nil
	})
	if err != nil {
		pods, _ := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		for _, p := range pods.Items {
			t.Logf("%s on %q: %s %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
		}
		t.Fatalf("pods not Running: %v", err)
	}
	pods, _ := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		if p.Name == "real" && strings.HasPrefix(p.Spec.NodeName, "kwok-") || p.Name != "real" && !strings.HasPrefix(p.Spec.NodeName, "kwok-") {
			t.Errorf("pod %s landed on %s", p.Name, p.Spec.NodeName)
		}
	}
	var logs []byte
	err = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		logs, err = c.CoreV1().Pods(ns).GetLogs("real", &corev1.PodLogOptions{}).DoRaw(ctx)
		return err == nil && strings.Contains(string(logs), "hello-from-real-node"), nil
	})
	if err != nil {
		t.Fatalf("logs of the real-node pod: %q, %v", logs, err)
	}
}
