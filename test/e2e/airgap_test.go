//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPullSecretAndMonitor: --image-pull-secret is copied into the run's namespaces before any pod and referenced by
// the stress pods; --monitor writes monitor.jsonl and, without metrics-server, says so once.
func TestPullSecretAndMonitor(t *testing.T) {
	c := adminClient(t)
	ctx := context.Background()
	secret := "e2e-regcred"
	_, err := c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secret},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Secrets("default").Delete(context.Background(), secret, metav1.DeleteOptions{}) })

	id := runID(t)
	dir := t.TempDir()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	copied, referenced := false, false
	go func() {
		for wctx.Err() == nil {
			if s, err := c.CoreV1().Secrets("pyrometer-"+id+"-step-1").Get(wctx, secret, metav1.GetOptions{}); err == nil && string(s.Type) == string(corev1.SecretTypeDockerConfigJson) {
				mu.Lock()
				copied = true
				mu.Unlock()
			}
			for _, p := range runningStressPods(wctx, t, id) {
				for _, ref := range p.Spec.ImagePullSecrets {
					if ref.Name == secret {
						mu.Lock()
						referenced = true
						mu.Unlock()
					}
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	r := pluginIn(t, dir, 6*time.Minute, "--kubeconfig", kubeconfig, "--namespace", "default", "run", "--modes", "cpu", "--steps", "1",
		"--baseline", "2s", "--step-duration", "4s", "--recovery", "2s", "--image-map", localImages(t), "--node-selector", realNode,
		"--image-pull-secret", secret, "--monitor", "--monitor-interval", "2s", "--run-id", id, "--output-dir", "out")
	cancel()
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	mu.Lock()
	if !copied || !referenced {
		t.Errorf("pull secret copied into the step namespace: %v; referenced by the stress pods: %v", copied, referenced)
	}
	mu.Unlock()
	b, err := os.ReadFile(filepath.Join(dir, "out", "monitor.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	m := string(b)
	if strings.Count(m, "metrics API unavailable") != 1 || !strings.Contains(m, `"type":"node-conditions"`) || !strings.Contains(m, `"ready":"True"`) {
		t.Errorf("monitor.jsonl must note once that metrics-server is absent and keep node conditions:\n%.600s", m)
	}
	if !strings.Contains(m, `"type":"event"`) {
		t.Errorf("monitor.jsonl must hold the run's events")
	}
	assertNothingLeft(t, id)
}
