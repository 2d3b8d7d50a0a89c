//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

// overCPU asks for 50 one-core pods per step on the real node (about 2 CPU): far over its free CPU.
var overCPU = []string{"--modes", "cpu", "--cpu-replicas", "50", "--cpu-millicores", "1000", "--node-selector", realNode}

// planReport is the part of `plan -o json` the tests read.
type planReport struct {
	RunID   string `json:"runID"`
	Allowed bool   `json:"allowed"`
	Blocked bool   `json:"blocked"`
	Checks  []struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Value int64  `json:"value"`
		Limit int64  `json:"limit"`
	} `json:"checks"`
	Capacity struct {
		Nodes     int      `json:"nodes"`
		CPUMillis int64    `json:"cpuMillis"`
		Excluded  []string `json:"excluded"`
	} `json:"capacity"`
	MissingPermissions []struct {
		Verb, Group, Resource, Namespace, Path string
		Optional                               bool
	} `json:"missingPermissions"`
}

func TestSafetyPlanBlockedCreatesNothing(t *testing.T) {
	id := runID(t)
	before := countOurNamespaces(t)
	r := plugin(t, 2*time.Minute, append([]string{"plan", "--run-id", id}, overCPU...)...)
	if r.code == 0 {
		t.Fatalf("50 x 1000m on the real node must be blocked; stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	if !strings.Contains(r.stderr, "error: safety plan blocked: cpu: the run requests 100000m, ") ||
		!strings.Contains(r.stderr, "free on 1 schedulable node ("+realNode+")") {
		t.Errorf("the error must name the cpu check, by how much and where:\n%s", r.stderr)
	}
	for _, w := range []string{"BLOCKED  cpu: the run requests 100000m", "OK       pods: the run creates 100 pods", "VERDICT: BLOCKED by cpu, fit",
		"does not match --node-selector", "BLOCKED  fit: ", "(1000m cpu, 16Mi memory)", "pods fit in all"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("plan text lacks %q:\n%s", w, r.stdout)
		}
	}

	// the same as JSON: the blocking check and the real node's capacity
	r = plugin(t, 2*time.Minute, append([]string{"plan", "--run-id", id, "-o", "json"}, overCPU...)...)
	var rep planReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("plan -o json: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if r.code == 0 || rep.Allowed || !rep.Blocked || rep.Capacity.Nodes != 1 || rep.Capacity.CPUMillis <= 0 || rep.Capacity.CPUMillis > 100000 {
		t.Errorf("plan -o json: exit %d, report %+v", r.code, rep)
	}
	for _, c := range rep.Checks {
		if (c.Name == "cpu" || c.Name == "fit") == c.OK {
			t.Errorf("only the cpu and fit checks must fail: %+v", c)
		}
	}
	assertNothingLeft(t, id)
	if after := countOurNamespaces(t); after > before {
		t.Errorf("plan created namespaces: %d before, %d after", before, after)
	}
}

func TestSafetyPlanDefaultsAllowed(t *testing.T) {
	id := runID(t)
	r := plugin(t, 2*time.Minute, "plan", "--run-id", id)
	if r.code != 0 {
		t.Fatalf("the default plan must be allowed; exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{"VERDICT: ALLOWED", "OK       every permission the run needs is granted"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("plan text lacks %q:\n%s", w, r.stdout)
		}
	}
	// on the local cluster only the real node counts: the kwok nodes are tainted NoSchedule
	r = plugin(t, 2*time.Minute, "plan", "--run-id", id, "-o", "json")
	var rep planReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("plan -o json: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if r.code != 0 || !rep.Allowed || rep.Blocked {
		t.Errorf("default plan -o json: exit %d, %+v", r.code, rep)
	}
	if os.Getenv("PYROMETER_E2E_EXTERNAL") == "" {
		if rep.Capacity.Nodes != 1 {
			t.Errorf("local cluster: only the real node is schedulable for the stress pods, got %d nodes; excluded %v", rep.Capacity.Nodes, rep.Capacity.Excluded)
		}
		for _, e := range rep.Capacity.Excluded {
			if strings.HasPrefix(e, "kwok-node") && !strings.Contains(e, "taint kwok.x-k8s.io/node=fake:NoSchedule") && !strings.Contains(e, "not Ready") {
				t.Errorf("kwok node excluded for the wrong reason: %s", e)
			}
		}
	}
	assertNothingLeft(t, id)
}

func TestSafetyRunBlockedWithoutYesCreatesNothing(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	before := countOurNamespaces(t)
	r := pluginIn(t, dir, 2*time.Minute, append([]string{"--kubeconfig", kubeconfig, "run", "--run-id", id, "--output-dir", "out"}, overCPU...)...)
	if r.code == 0 {
		t.Fatalf("a blocked run without --yes must fail; stderr:\n%s", r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	for _, w := range []string{"error: safety plan blocked: cpu: the run requests 100000m", "kubectl pyrometer plan", "pass --yes to proceed anyway"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("nothing on stdout, got %q", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a refused run must not create its --output-dir")
	}
	assertNothingLeft(t, id)
	if after := countOurNamespaces(t); after > before {
		t.Errorf("a refused run created namespaces: %d before, %d after", before, after)
	}
}

// TestSafetyReadOnlyIdentity runs as a user (--as) who may only get, list and watch: every missing permission is
// listed at once and nothing is created.
func TestSafetyReadOnlyIdentity(t *testing.T) {
	user := "e2e-read-only"
	bindUser(t, "e2e-safety-read-only", user, []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
		{NonResourceURLs: []string{"/readyz", "/version", "/api", "/api/*", "/apis", "/apis/*"}, Verbs: []string{"get"}},
	})

	id := runID(t)
	before := countOurNamespaces(t)
	dir := t.TempDir()
	r := pluginIn(t, dir, 2*time.Minute, "--kubeconfig", kubeconfig, "--as", user, "run", "--modes", "cpu,api", "--probe-from", "both",
		"--run-id", id, "--output-dir", "out")
	if r.code == 0 {
		t.Fatalf("a read-only identity must not run; stderr:\n%s", r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	step := fmt.Sprintf("%q", "pyrometer-"+id+"-step-1")
	probeNS := fmt.Sprintf("%q", "pyrometer-"+id)
	for _, w := range []string{
		"error: missing permissions, nothing was created; this identity may not:",
		"\n  create, delete namespaces\n",
		"\n  create, delete deployments.apps in namespace " + step + "\n",
		// mode api's engine: writes, patches, deletes (one by one and by label)
		"\n  create, patch, delete, deletecollection configmaps in namespace " + step + "\n",
		"\n  create, patch, delete, deletecollection secrets in namespace " + step + "\n",
		"\n  create, delete serviceaccounts in namespace " + probeNS + "\n",
		"\n  create, delete clusterroles.rbac.authorization.k8s.io\n",
		"\n  create, delete clusterrolebindings.rbac.authorization.k8s.io\n",
		"\n  create, delete jobs.batch in namespace " + probeNS,
		"note: not permitted: get /metrics",
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a refused run must not create its --output-dir")
	}

	// plan as the same identity: the same list, as data
	r = plugin(t, 2*time.Minute, "--as", user, "plan", "--modes", "cpu,api", "--run-id", id, "-o", "json")
	var rep planReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("plan -o json: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if r.code == 0 || rep.Allowed || rep.Blocked {
		t.Errorf("read-only plan: want exit non-zero, not allowed, not blocked by limits; exit %d, %+v", r.code, rep)
	}
	got := map[string]bool{}
	for _, m := range rep.MissingPermissions {
		got[m.Verb+" "+m.Resource+" "+m.Namespace] = !m.Optional
	}
	for _, w := range []string{"create namespaces ", "delete namespaces ", "create deployments pyrometer-" + id + "-step-1",
		"create configmaps pyrometer-" + id + "-step-1", "create secrets pyrometer-" + id + "-step-1"} {
		if !got[w] {
			t.Errorf("missingPermissions lacks required %q: %+v", w, rep.MissingPermissions)
		}
	}
	assertNothingLeft(t, id)
	if after := countOurNamespaces(t); after > before {
		t.Errorf("a refused run created namespaces: %d before, %d after", before, after)
	}
}
