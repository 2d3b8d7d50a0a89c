//go:build e2e

package e2e

// Issue 12 items 11-14: restricted identities keep their results, a run id in use is refused, cleanup asks which
// runs to delete and shows whose they are, and what a --plugins template creates outside the run's namespaces is
// found and deleted.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

const ownerAnnotation = "kubepyrometer.io/owner"

// probeRules are what a user needs to probe readyz (every authenticated user may already GET /readyz and /version).
var discoveryRules = rbacv1.PolicyRule{NonResourceURLs: []string{"/readyz", "/version", "/api", "/api/*", "/apis", "/apis/*"}, Verbs: []string{"get"}}

// TestProbeRestrictedIdentities: a readyz-only identity gets its table (it created nothing, so there is nothing
// to clean up), and an identity that may create namespaces but not list ClusterRoles leaves nothing behind.
// Before: both exited 1 without a table (the cleanup's label search failed on the first forbidden list), and the
// second left its namespace.
func TestProbeRestrictedIdentities(t *testing.T) {
	readyzUser := fmt.Sprintf("e2e-readyz-%d", time.Now().UnixNano()%100000)
	bindUser(t, "e2e-readyz-only", readyzUser, []rbacv1.PolicyRule{discoveryRules})
	r := plugin(t, 2*time.Minute, "--as", readyzUser, "probe", "--duration", "3s", "-o", "json")
	pr := decodeProbe(t, r)
	if k := kindsOf(pr.Local); k != "readyz" || pr.Local[0].Count == 0 || pr.Local[0].Errors != 0 {
		t.Errorf("a readyz-only identity probes readyz: %+v", pr.Local)
	}
	if strings.Contains(r.stderr, "cleanup") {
		t.Errorf("nothing was created, so nothing is cleaned up:\n%s", r.stderr)
	}

	nsUser := fmt.Sprintf("e2e-nsonly-%d", time.Now().UnixNano()%100000)
	bindUser(t, "e2e-ns-no-rbac", nsUser, []rbacv1.PolicyRule{discoveryRules,
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"create", "delete", "get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	})
	r = plugin(t, 2*time.Minute, "--as", nsUser, "probe", "--duration", "3s", "--probes", "readyz,get", "-o", "json")
	pr = decodeProbe(t, r)
	if k := kindsOf(pr.Local); k != "readyz,get" {
		t.Errorf("want readyz and get rows: %+v", pr.Local)
	}
	assertNothingLeft(t, pr.RunID)
}

// kindsOf lists the kinds of the rows (without the "all" summary row).
func kindsOf(rows []probeStats) string {
	var k []string
	for _, r := range rows {
		if r.Kind != "all" {
			k = append(k, r.Kind)
		}
	}
	return strings.Join(k, ",")
}

// whoAmI is the admin kubeconfig's user name.
func whoAmI(t *testing.T) string {
	t.Helper()
	r, err := adminClient(t).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.UserInfo.Username
}

// TestRunIDInUseIsRefused: a second run with the id of a live run is refused before it creates anything, and the
// first run goes on and finishes clean. Before: the second run failed its setup and its final cleanup deleted the
// first run's namespaces under it.
func TestRunIDInUseIsRefused(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	a, _, aErr := startPlugin(t, dir, "run", "--modes", "cpu", "--steps", "1", "--baseline", "2s", "--step-duration", "40s", "--recovery", "2s",
		"--image-map", localImages(t), "--node-selector", realNode, "--run-id", id, "--output-dir", "a")
	waitForStress(t, id, 3*time.Minute)
	c := adminClient(t)
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id}
	before, err := c.CoreV1().Namespaces().List(ctx, sel)
	if err != nil || len(before.Items) < 2 {
		t.Fatalf("run A's namespaces: %v %d", err, len(before.Items))
	}
	me := whoAmI(t)
	for _, ns := range before.Items {
		if ns.Annotations[ownerAnnotation] != me {
			t.Errorf("namespace %s: owner annotation %q, want %q", ns.Name, ns.Annotations[ownerAnnotation], me)
		}
	}

	r := pluginIn(t, dir, 2*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "cpu", "--steps", "1", "--baseline", "2s",
		"--step-duration", "5s", "--recovery", "2s", "--image-map", localImages(t), "--node-selector", realNode, "--run-id", id, "--output-dir", "b")
	if r.code == 0 || !strings.Contains(r.stderr, "invalid --run-id "+id) || !strings.Contains(r.stderr, "Namespace pyrometer-"+id) {
		t.Fatalf("run B with run A's id must be refused naming --run-id and A's objects: exit %d\n%s", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	after, _ := c.CoreV1().Namespaces().List(ctx, sel)
	if len(after.Items) != len(before.Items) {
		t.Errorf("run A's namespaces: %d before run B, %d after", len(before.Items), len(after.Items))
	}
	for _, ns := range after.Items {
		if ns.DeletionTimestamp != nil {
			t.Errorf("run B deleted run A's namespace %s", ns.Name)
		}
	}
	if code := waitExit(t, a, 5*time.Minute); code != 0 {
		t.Errorf("run A must complete clean: exit %d\n%s", code, aErr.String())
	}
	assertNothingLeft(t, id)

	// --config cannot pin a run id
	f := filepath.Join(dir, "pinned.yaml")
	if err := os.WriteFile(f, []byte("steps: 1\nrun-id: "+id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = pluginIn(t, dir, time.Minute, "--kubeconfig", kubeconfig, "run", "--config", f)
	if r.code == 0 || !strings.Contains(r.stderr, `pinned.yaml:2: key "run-id" is not allowed in a file`) {
		t.Errorf("a run id in --config must be refused with file:line: exit %d\n%s", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
}

// TestCleanupGuardShowsRunsAndOwners: a crashed probe of another user is listed by a bare cleanup (id, age, owner,
// object count) and not deleted; --older-than spares it while it is young; --run-id deletes it. Before: a bare
// cleanup deleted every user's runs.
func TestCleanupGuardShowsRunsAndOwners(t *testing.T) {
	alice := fmt.Sprintf("e2e-alice-%d", time.Now().UnixNano()%100000)
	bindUser(t, "e2e-cleanup-owner", alice, []rbacv1.PolicyRule{discoveryRules,
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"create", "delete", "get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	})
	p, _, _ := startPlugin(t, t.TempDir(), "--as", alice, "probe", "--duration", "3m", "--probes", "get")
	c := adminClient(t)
	ctx := context.Background()
	var id string
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(wctx, 300*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubectl-pyrometer"})
		if err != nil {
			return false, nil
		}
		for _, ns := range nss.Items {
			if ns.Annotations[ownerAnnotation] == alice {
				id = ns.Labels["kubepyrometer.io/run-id"]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no namespace annotated %s=%s appeared: the probe must record who created it", ownerAnnotation, alice)
	}
	_ = p.Process.Signal(syscall.SIGKILL) // a crash: the namespace stays
	_ = waitExit(t, p, time.Minute)
	nsName := "pyrometer-" + id
	present := func() bool {
		ns, err := c.CoreV1().Namespaces().Get(ctx, nsName, metav1.GetOptions{})
		return err == nil && ns.DeletionTimestamp == nil
	}

	r := plugin(t, 2*time.Minute, "cleanup")
	if r.code == 0 || !strings.Contains(r.stderr, "refusing to delete") || !strings.Contains(r.stderr, "--all") || !strings.Contains(r.stderr, "--run-id") {
		t.Fatalf("a bare cleanup must refuse and say to pass --all or --run-id: exit %d\n%s", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	var row string
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == id {
			row = strings.Join(f, " ")
		}
	}
	if row == "" || !strings.Contains(r.stdout, "OWNER") || !strings.HasSuffix(row, alice+" 1") {
		t.Errorf("the listing must show run %s owned by %s with 1 object:\n%s", id, alice, r.stdout)
	}
	if !present() {
		t.Fatal("a bare cleanup deleted a run")
	}

	r = plugin(t, 2*time.Minute, "cleanup", "--older-than", "1h", "-o", "json")
	if r.code != 0 {
		t.Fatalf("cleanup --older-than 1h: exit %d\n%s", r.code, r.stderr)
	}
	var res struct {
		Objects []struct{ RunID string } `json:"objects"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("cleanup -o json: %v\n%s", err, r.stdout)
	}
	for _, o := range res.Objects {
		if o.RunID == id {
			t.Errorf("--older-than 1h selected a run started seconds ago: %s", r.stdout)
		}
	}
	if !present() {
		t.Fatal("--older-than 1h deleted a young run")
	}

	r = plugin(t, 3*time.Minute, "cleanup", "--run-id", id)
	if r.code != 0 || !strings.Contains(r.stdout, nsName) {
		t.Fatalf("cleanup --run-id %s: exit %d\n%s\n%s", id, r.code, r.stdout, r.stderr)
	}
	assertNothingLeft(t, id)
}

// pluginsOutside writes a --plugins file whose mode creates, per step, a cluster-scoped PriorityClass and a
// ServiceAccount in the default namespace, both labelled.
func pluginsOutside(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	labels := "  labels:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n"
	files := map[string]string{
		"pc.yaml": "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: pyrometer-{{.RunID}}-s{{.step}}-{{.Iteration}}-{{.Replica}}\n" +
			labels + "value: 1000\nglobalDefault: false\ndescription: kubectl-pyrometer e2e\n",
		"sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: pyrometer-{{.RunID}}-s{{.step}}-{{.Iteration}}-{{.Replica}}\n  namespace: default\n" + labels,
		"plugins.yaml": `modes:
- name: outside
  plane: control
  description: objects outside the step namespace
  parameters:
  - {name: count, type: int, default: 1, min: 1, max: 3, help: "objects of each kind per step"}
  job: {iterations: 1, qps: 5, burst: 5}
  objects:
  - {template: pc.yaml, replicas: count, pods: 0}
  - {template: sa.yaml, replicas: count, pods: 0}
`,
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "plugins.yaml")
}

// outsideObjects lists the run's labelled PriorityClasses and ServiceAccounts in default.
func outsideObjects(t *testing.T, id string) []string {
	t.Helper()
	c := adminClient(t)
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubectl-pyrometer,kubepyrometer.io/run-id=" + id}
	var out []string
	pcs, err := c.SchedulingV1().PriorityClasses().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pcs.Items {
		out = append(out, "priorityclass/"+o.Name)
	}
	sas, err := c.CoreV1().ServiceAccounts("default").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sas.Items {
		out = append(out, "serviceaccount/default/"+o.Name)
	}
	return out
}

// TestPluginObjectsOutsideTheRunNamespaces: after a run, nothing its template created elsewhere is left; after a
// crash, cleanup --run-id finds and deletes it. Before: neither looked for those kinds.
func TestPluginObjectsOutsideTheRunNamespaces(t *testing.T) {
	plugins := pluginsOutside(t)
	id := runID(t)
	r := plugin(t, 5*time.Minute, "run", "--plugins", plugins, "--modes", "outside", "--steps", "2", "--baseline", "2s", "--step-duration", "3s",
		"--recovery", "2s", "--run-id", id, "--output-dir", filepath.Join(t.TempDir(), "out"))
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if left := outsideObjects(t, id); len(left) > 0 {
		t.Errorf("the run left what its template created outside its namespaces: %v", left)
	}
	assertNothingLeft(t, id)

	// A crashed run (SIGKILL while its step runs): cleanup --run-id finds the objects wherever they are.
	id = runID(t)
	p, _, _ := startPlugin(t, t.TempDir(), "run", "--plugins", plugins, "--modes", "outside", "--steps", "1", "--baseline", "2s",
		"--step-duration", "3m", "--recovery", "2s", "--run-id", id, "--output-dir", "out")
	wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(wctx, 500*time.Millisecond, true, func(context.Context) (bool, error) {
		return len(outsideObjects(t, id)) == 2, nil
	}); err != nil {
		t.Fatalf("the template's objects did not appear: %v", outsideObjects(t, id))
	}
	_ = p.Process.Signal(syscall.SIGKILL)
	_ = waitExit(t, p, time.Minute)
	r = plugin(t, 4*time.Minute, "cleanup", "--run-id", id)
	if r.code != 0 || !strings.Contains(r.stdout, "PriorityClass") || !strings.Contains(r.stdout, "ServiceAccount") {
		t.Fatalf("cleanup --run-id must find the template's objects: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if left := outsideObjects(t, id); len(left) > 0 {
		t.Errorf("cleanup left: %v", left)
	}
	assertNothingLeft(t, id)
}

// TestOwnershipBadInput: one clear line, non-zero exit, nothing created, for the inputs items 12-14 refuse.
func TestOwnershipBadInput(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file("commented.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-{{.Iteration}}\n"+
		"  # labels: {app.kubernetes.io/managed-by: kubectl-pyrometer, kubepyrometer.io/run-id: \"{{.RunID}}\"}\n"+
		"  annotations:\n    app.kubernetes.io/managed-by: kubectl-pyrometer\n    kubepyrometer.io/run-id: \"{{.RunID}}\"\n")
	mode := "modes:\n- name: mine\n  plane: control\n  description: d\n  parameters:\n  - {name: count, type: int, default: 1, min: 1, max: 5, help: h}\n" +
		"  job: {iterations: count, qps: 5, burst: 5}\n  objects:\n  - {template: commented.yaml, replicas: count, pods: 0}\n"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--config", file("c.yaml", "steps: 1\nrun-id: 1a2b3c4d\n")}, `c.yaml:2: key "run-id" is not allowed in a file`},
		{[]string{"run", "--profile", file("p.yaml", "run-id: 1a2b3c4d\n")}, `p.yaml:1: key "run-id" is not allowed in a file`},
		{[]string{"run", "--plugins", file("m.yaml", mode)}, "objects[0].template commented.yaml: document 1 (ConfigMap): every object must carry the label " +
			"`app.kubernetes.io/managed-by: kubectl-pyrometer` in metadata.labels"},
		{[]string{"plan", "--plugins", file("m.yaml", mode)}, "every object must carry the label"},
		{[]string{"cleanup", "--run-id", "1a2b3c4d", "--all"}, "invalid flags: --run-id and --all are mutually exclusive"},
		{[]string{"cleanup", "--older-than", "-1h"}, "invalid --older-than -1h0m0s: must be positive"},
		{[]string{"cleanup", "--older-than", "soon"}, `invalid argument "soon" for "--older-than"`},
	}
	before := countOurNamespaces(t)
	for _, tc := range cases {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			r := plugin(t, time.Minute, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant it to contain %q", r.code, r.stderr, tc.want)
			}
			assertOneErrorLine(t, r.stderr)
			if r.stdout != "" {
				t.Errorf("nothing on stdout for bad input, got %q", r.stdout)
			}
		})
	}
	if after := countOurNamespaces(t); after > before {
		t.Errorf("bad input created namespaces: %d before, %d after", before, after)
	}
}
