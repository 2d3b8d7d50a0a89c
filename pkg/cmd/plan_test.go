package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/authz"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
)

// fakeAPI is a minimal API server: version, discovery, nodes and pods lists, and SelfSubjectAccessReviews (denied
// when deny says so). Every other request is recorded as a write the commands must never make.
type fakeAPI struct {
	deny    func(ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) bool
	nodes   []corev1.Node
	mu      sync.Mutex
	reviews int
	other   []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	res := func(name, kind string, namespaced bool) metav1.APIResource {
		return metav1.APIResource{Name: name, Kind: kind, Namespaced: namespaced, Verbs: []string{"create", "get", "list", "delete"}}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/version":
		write(map[string]string{"gitVersion": "v1.34.4", "major": "1", "minor": "34"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1":
		write(metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
			APIResources: []metav1.APIResource{res("configmaps", "ConfigMap", true), res("secrets", "Secret", true),
				res("services", "Service", true), res("namespaces", "Namespace", false)}})
	case r.Method == http.MethodGet && r.URL.Path == "/apis/apps/v1":
		write(metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "apps/v1",
			APIResources: []metav1.APIResource{res("deployments", "Deployment", true)}})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/nodes":
		write(corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, Items: f.nodes})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
		write(corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}})
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		body, _ := io.ReadAll(r.Body)
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil) // JSON or protobuf
		rev, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
		if err != nil || !ok {
			http.Error(w, fmt.Sprintf("not a SelfSubjectAccessReview: %v", err), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reviews++
		f.mu.Unlock()
		rev.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
		rev.Status.Allowed = f.deny == nil || !f.deny(rev.Spec.ResourceAttributes, rev.Spec.NonResourceAttributes)
		w.WriteHeader(http.StatusCreated)
		write(rev)
	default:
		f.mu.Lock()
		f.other = append(f.other, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		http.NotFound(w, r)
	}
}

// vmNode is the local cluster's real node: 2 CPU, 4Gi, 110 pods, labelled.
func vmNode() corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vm", Labels: map[string]string{"kubepyrometer.io/real-node": "true"}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"),
				corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

// runAgainst runs the root command against api with args; it returns the exit code, stdout and stderr.
func runAgainst(t *testing.T, api *fakeAPI, args ...string) (int, string, string) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["fake"] = &clientcmdapi.Cluster{Server: srv.URL}
	cfg.AuthInfos["fake"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["fake"] = &clientcmdapi.Context{Cluster: "fake", AuthInfo: "fake", Namespace: "default"}
	cfg.CurrentContext = "fake"
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := execute(context.Background(), streams, newCatalogue(), append([]string{"--kubeconfig", kc}, args...))
	return code, out.String(), errOut.String()
}

func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "error: ") {
			out = append(out, l)
		}
	}
	return out
}

func TestPlanBlockedByCPU(t *testing.T) {
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	code, out, errOut := runAgainst(t, api, "plan", "--modes", "cpu", "--cpu-replicas", "50", "--cpu-millicores", "1000",
		"--node-selector", "kubepyrometer.io/real-node=true", "--run-id", "abcd1234")
	if code == 0 {
		t.Fatalf("a plan over the free CPU must exit non-zero; stderr:\n%s", errOut)
	}
	errs := errorLines(errOut)
	want := "error: safety plan blocked: cpu: the run requests 100000m, 98000m more than the 2000m free on 1 schedulable node " +
		"(kubepyrometer.io/real-node=true); fit: 98 of 100 cpu pods (1000m cpu, 16Mi memory) do not fit when the run's 100 pods are " +
		"packed first-fit-decreasing onto 1 schedulable node (kubepyrometer.io/real-node=true): largest free cpu 0m on vm; 2 of 100 pods fit in all; " +
		"pass --yes to run it anyway"
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("want one error line\n%s\ngot:\n%s", want, errOut)
	}
	for _, w := range []string{"BLOCKED  cpu: the run requests 100000m", "OK       pods: the run creates 100 pods", "VERDICT: BLOCKED by cpu",
		"OK       every permission the run needs is granted"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan text does not contain %q:\n%s", w, out)
		}
	}
	if len(api.other) != 0 {
		t.Errorf("plan must create nothing, it sent: %v", api.other)
	}

	// the same with --yes: allowed (with a warning), exit 0
	code, _, errOut = runAgainst(t, api, "plan", "--modes", "cpu", "--cpu-replicas", "50", "--cpu-millicores", "1000",
		"--node-selector", "kubepyrometer.io/real-node=true", "--yes")
	if code != 0 || !strings.Contains(errOut, "run would proceed anyway because of --yes") {
		t.Errorf("--yes: want exit 0 and a warning, got %d:\n%s", code, errOut)
	}
}

func TestPlanAllowedJSON(t *testing.T) {
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	code, out, errOut := runAgainst(t, api, "plan", "-o", "json", "--run-id", "abcd1234")
	if code != 0 {
		t.Fatalf("default plan on a 2-CPU node: want exit 0, got %d:\n%s", code, errOut)
	}
	var rep PlanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	if !rep.Allowed || rep.Blocked || rep.RunID != "abcd1234" || rep.Steps != 2 || len(rep.Checks) != 7 || rep.Capacity.Nodes != 1 ||
		rep.Limits.MaxPods != safety.DefaultMaxPods || rep.MissingPermissions == nil {
		t.Errorf("unexpected report: %+v", rep)
	}
	// default modes cpu,mem: 2 pods per step
	if rep.PerStep.Pods != 2 || rep.Total.Pods != 4 || rep.Total.Namespaces != 3 {
		t.Errorf("per step %+v, total %+v", rep.PerStep, rep.Total)
	}
	if api.reviews == 0 || len(api.other) != 0 {
		t.Errorf("want SelfSubjectAccessReviews and no writes; reviews %d, other %v", api.reviews, api.other)
	}
}

func TestPlanLimitFlags(t *testing.T) {
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	code, _, errOut := runAgainst(t, api, "plan", "--max-pods", "3", "--max-namespaces", "2", "--max-objects-per-step", "1")
	if code == 0 {
		t.Fatal("limits below the plan must block")
	}
	errs := errorLines(errOut)
	if len(errs) != 1 {
		t.Fatalf("want one error line, got:\n%s", errOut)
	}
	for _, w := range []string{"pods: the run creates 4 pods, 1 more than --max-pods 3", "namespaces: the run creates 3 namespaces",
		"1 more than --max-namespaces 2", "objects-per-step: each step creates 2 objects, 1 more than --max-objects-per-step 1"} {
		if !strings.Contains(errs[0], w) {
			t.Errorf("error line does not name %q: %s", w, errs[0])
		}
	}
	code, _, errOut = runAgainst(t, api, "plan", "--max-pods", "0")
	if code == 0 || !strings.Contains(errOut, "error: invalid --max-pods 0: must be at least 1") {
		t.Errorf("--max-pods 0: got %d\n%s", code, errOut)
	}
	code, _, errOut = runAgainst(t, api, "plan", "-o", "csv")
	if code == 0 || !strings.Contains(errOut, `error: invalid --output "csv": allowed values are text, json, yaml`) {
		t.Errorf("plan -o csv: got %d\n%s", code, errOut)
	}
}

// readOnly denies everything but get, list and watch (and allows non-resource URLs except /metrics).
func readOnly(ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) bool {
	if nra != nil {
		return nra.Path == "/metrics"
	}
	return ra.Verb != "get" && ra.Verb != "list" && ra.Verb != "watch"
}

func TestRunMissingPermissionsCreatesNothing(t *testing.T) {
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}, deny: readOnly}
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := runAgainst(t, api, "run", "--modes", "cpu,api", "--run-id", "abcd1234", "--output-dir", dir, "--probes", "readyz,get")
	if code == 0 {
		t.Fatalf("read-only identity: run must fail; stderr:\n%s", errOut)
	}
	if out != "" {
		t.Errorf("nothing on stdout, got %q", out)
	}
	if n := len(errorLines(errOut)); n != 1 {
		t.Errorf("want one error line, got %d:\n%s", n, errOut)
	}
	for _, w := range []string{
		"error: missing permissions, nothing was created; this identity may not:",
		"\n  create, delete namespaces\n",
		"\n  create, delete deployments.apps in namespace \"pyrometer-abcd1234-step-1\"\n",
		// mode api's engine: writes, patches, deletes (one by one and by label)
		"\n  create, patch, delete, deletecollection configmaps in namespace \"pyrometer-abcd1234-step-1\"\n",
		"\n  create, patch, delete, deletecollection secrets in namespace \"pyrometer-abcd1234-step-1\"\n",
		"\n  create, delete configmaps in namespace \"pyrometer-abcd1234\"\n", // the explicitly asked get probe
		"note: not permitted: get /metrics",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr does not contain %q:\n%s", w, errOut)
		}
	}
	if len(api.other) != 0 {
		t.Errorf("nothing may be created, the run sent: %v", api.other)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused run must not create --output-dir %s", dir)
	}
}

func TestRunBlockedWithoutYesCreatesNothing(t *testing.T) {
	api := &fakeAPI{nodes: []corev1.Node{vmNode()}}
	dir := filepath.Join(t.TempDir(), "out")
	code, _, errOut := runAgainst(t, api, "run", "--modes", "cpu", "--cpu-replicas", "50", "--cpu-millicores", "1000",
		"--node-selector", "kubepyrometer.io/real-node=true", "--output-dir", dir)
	errs := errorLines(errOut)
	if code == 0 || len(errs) != 1 || !strings.HasPrefix(errs[0], "error: safety plan blocked: cpu: the run requests 100000m") ||
		!strings.HasSuffix(errs[0], "review it with kubectl pyrometer plan and the same flags, or pass --yes to proceed anyway") {
		t.Fatalf("blocked run: exit %d, stderr:\n%s", code, errOut)
	}
	if len(api.other) != 0 {
		t.Errorf("nothing may be created, the run sent: %v", api.other)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused run must not create --output-dir %s", dir)
	}
}

func blockedCheck() *safety.Result {
	return &safety.Result{Plan: safety.Plan{Blocked: true, Checks: []safety.PlanCheck{
		{Name: "cpu", OK: false, Message: "cpu: the run requests 3000m, 1000m more than the 2000m free on 1 schedulable node"},
		{Name: "pods", OK: true, Message: "pods: fine"}}}}
}

func TestAdmit(t *testing.T) {
	cases := []struct {
		name        string
		yes         bool
		interactive bool
		input       string
		missing     []authz.Access
		wantErr     string
		wantErrOut  []string
		proceeded   string
	}{
		{name: "non-interactive refuses", wantErr: "safety plan blocked: cpu: the run requests 3000m, 1000m more than the 2000m free on 1 " +
			"schedulable node; review it with kubectl pyrometer plan and the same flags, or pass --yes to proceed anyway"},
		{name: "--yes warns and proceeds", yes: true, proceeded: "--yes",
			wantErrOut: []string{"WARNING: THE SAFETY PLAN IS BLOCKED. PROCEEDING ANYWAY: --yes was given.", "WARNING:   cpu: the run requests 3000m"}},
		{name: "terminal: y proceeds", interactive: true, input: "y\n", proceeded: "confirmed at the terminal",
			wantErrOut: []string{"The safety plan is BLOCKED:\n  cpu: the run requests 3000m", "proceed anyway? [y/N] ", "WARNING: THE SAFETY PLAN IS BLOCKED"}},
		{name: "terminal: yes proceeds", interactive: true, input: " YES \n", proceeded: "confirmed at the terminal"},
		{name: "terminal: enter refuses", interactive: true, input: "\n", wantErr: "not confirmed, nothing was created",
			wantErrOut: []string{"proceed anyway? [y/N] "}},
		{name: "terminal: EOF refuses", interactive: true, input: "", wantErr: "not confirmed"},
		{name: "missing permissions win over --yes", yes: true,
			missing:    []authz.Access{{Verb: "create", Resource: "namespaces"}, {Verb: "get", Path: "/metrics", Optional: true, Reason: "server-side"}},
			wantErr:    "missing permissions, nothing was created; this identity may not:\n  create namespaces",
			wantErrOut: []string{"note: not permitted: get /metrics (server-side)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			streams, in, _, errOut := genericiooptions.NewTestIOStreams()
			in.WriteString(tc.input)
			o := newRunOptions(nil, streams)
			o.Yes = tc.yes
			o.interactive = func() bool { return tc.interactive }
			c := blockedCheck()
			c.Missing = tc.missing
			proceeded, err := o.admit(context.Background(), c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if proceeded != tc.proceeded {
				t.Errorf("proceeded: got %q, want %q", proceeded, tc.proceeded)
			}
			for _, w := range tc.wantErrOut {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr does not contain %q:\n%s", w, errOut.String())
				}
			}
			if !tc.interactive && strings.Contains(errOut.String(), "[y/N]") {
				t.Errorf("asked without a terminal:\n%s", errOut.String())
			}
		})
	}
}

func TestAdmitNotBlocked(t *testing.T) {
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	o := newRunOptions(nil, streams)
	o.interactive = func() bool { t.Fatal("no question for an allowed plan"); return false }
	proceeded, err := o.admit(context.Background(), &safety.Result{})
	if err != nil || proceeded != "" || errOut.Len() != 0 {
		t.Errorf("allowed plan: got %q, %v, stderr %q", proceeded, err, errOut.String())
	}
}

func TestConfirmInterrupted(t *testing.T) {
	streams := genericiooptions.IOStreams{In: blockingReader{}, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	o := newRunOptions(nil, streams)
	o.interactive = func() bool { return true }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.admit(ctx, blockedCheck()); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("Ctrl-C at the question: want interrupted, got %v", err)
	}
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }

func TestWriteSafetyPlanFile(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := newRunOptions(nil, streams)
	o.OutputDir = filepath.Join(t.TempDir(), "runs", "x")
	c := blockedCheck()
	c.Missing = []authz.Access{{Verb: "get", Path: "/metrics", Optional: true, Reason: "server-side latency"}}
	if err := o.writeSafetyPlan(c, "--yes"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(o.OutputDir, SafetyPlanFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"BLOCKED  cpu: the run requests 3000m", "VERDICT: BLOCKED by cpu\nPROCEEDED ANYWAY: --yes\n",
		"OPTIONAL get /metrics (optional: server-side latency)"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s does not contain %q:\n%s", SafetyPlanFile, w, b)
		}
	}
}

// TestPlanTakesRunFlags: plan accepts every flag of run (only --output differs in its values) but the prompts and
// --save-config, which only run has.
func TestPlanTakesRunFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	cat := newCatalogue()
	rc, pc := NewCmdRun(nil, streams, cat), NewCmdPlan(nil, streams, cat)
	cat.ready(rc)
	cat.ready(pc)
	var names []string
	runOnly := map[string]bool{"interactive": true, "interactive-modes": true, "interactive-images": true, "save-config": true}
	rc.Flags().VisitAll(func(f *pflag.Flag) {
		names = append(names, f.Name)
		if pc.Flags().Lookup(f.Name) == nil && !runOnly[f.Name] {
			t.Errorf("plan lacks run's flag --%s", f.Name)
		}
	})
	for _, n := range []string{"max-pods", "max-namespaces", "max-objects-per-step", "yes"} {
		if rc.Flags().Lookup(n) == nil {
			t.Errorf("run lacks --%s", n)
		}
	}
	if len(names) < 30 {
		t.Errorf("run has only %d flags: %v", len(names), names)
	}
	if got := fmt.Sprint(pc.Flags().Lookup("output").DefValue); got != "text" {
		t.Errorf("plan -o default: %q", got)
	}
}
