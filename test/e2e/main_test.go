//go:build e2e

// Package e2e runs the built kubectl-pyrometer binary against a real cluster (hack/e2e.sh sets it up).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	binary     string
	kubeconfig string
)

func TestMain(m *testing.M) {
	binary = os.Getenv("PYROMETER_E2E_BINARY")
	kubeconfig = os.Getenv("PYROMETER_E2E_KUBECONFIG")
	if binary == "" || kubeconfig == "" {
		// Never pass silently: e2e tests that cannot run are a failure, not a skip.
		os.Stderr.WriteString("e2e: PYROMETER_E2E_BINARY and PYROMETER_E2E_KUBECONFIG must be set (run hack/e2e.sh)\n")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// result of one run of the plugin binary.
type result struct {
	stdout, stderr string
	code           int
}

// plugin runs the binary with --kubeconfig prepended, bounded by timeout.
func plugin(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return pluginIn(t, "", timeout, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// pluginIn runs the binary exactly with args in dir ("" = a fresh temp dir).
func pluginIn(t *testing.T, dir string, timeout time.Duration, args ...string) result {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent/use-the-flag")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %s: %v", binary, strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within %v\nstderr:\n%s", filepath.Base(binary), strings.Join(args, " "), timeout, r.stderr)
	}
	return r
}

// bindUser creates a ClusterRole with rules bound to user, removed when the test ends (identities for --as).
func bindUser(t *testing.T, prefix, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	c := adminClient(t)
	ctx := context.Background()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: user, APIGroup: "rbac.authorization.k8s.io"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = c.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// adminClient is a client-go clientset for checks the test makes on its own.
func adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", kubeconfig, err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}
