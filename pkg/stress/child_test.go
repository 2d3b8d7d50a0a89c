package stress

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestMain doubles as the kube-burner process: Runner.Run re-executes the test binary with childEnv set.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(ServeChild(os.Stdin, os.Stdout, os.Stderr))
	}
	childCommand = func() (*exec.Cmd, error) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"=1")
		return cmd, nil
	}
	os.Exit(m.Run())
}

const childEnv = "PYROMETER_STRESS_TEST_CHILD"

func testSpec(t *testing.T) Spec {
	t.Helper()
	vars := map[string]any{"image": "busybox", "millicores": int64(250), "step": 2, "ratio": 0.5, "big": int64(1000000),
		"nodeSelector": `{"a":"b"}`}
	spec, err := NewSpec(SpecOptions{UUID: "u-1", RunID: "abcd1234", Timeout: 3 * time.Minute, RequestTimeout: 7 * time.Second,
		MaxWaitTimeout: time.Minute}, []Job{
		{Name: "cpu-step2", Namespace: "ns", Iterations: 2, QPS: 20, Burst: 40, Wait: true,
			NamespaceLabels: map[string]string{"kubepyrometer.io/run-id": "abcd1234"},
			Objects:         []Object{{Template: "/tmp/x/cpu.yaml", Replicas: 3, Group: 1, Vars: vars}}},
		{Name: "api-step2", Namespace: "ns", Iterations: 400, QPS: 10, Burst: 10, IterationDelay: 25 * time.Millisecond,
			Objects: []Object{{Template: "/tmp/x/cm.yaml", Replicas: 1, Vars: vars}, {Template: "/tmp/x/s.yaml", Replicas: 1, Vars: vars}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestSpecRoundTrip: the kube-burner process builds exactly the config.Spec the plugin would have built, template
// variables keeping their types (an int64 1000000 must not become the float 1e+06 in a template).
func TestSpecRoundTrip(t *testing.T) {
	spec := testSpec(t)
	b, err := encodeRequest(request{Spec: spec, Kubeconfig: []byte("kc")})
	if err != nil {
		t.Fatal(err)
	}
	req, err := readRequest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want, err := BuildSpec(spec.Options, spec.Jobs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := BuildSpec(req.Spec.Options, req.Spec.Jobs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the child's spec differs:\n got %+v\nwant %+v", got, want)
	}
	if v := got.Jobs[0].Objects[0].InputVars["big"]; v != int64(1000000) {
		t.Errorf("template variable changed type: %T %v", v, v)
	}
	if got.Jobs[0].NamespaceLabels["kubepyrometer.io/run-id"] != "abcd1234" || len(got.Jobs[1].Objects) != 2 {
		t.Errorf("fields lost on the way (kube-burner's JSON tags drop objects and namespace labels): %+v", got.Jobs)
	}
	if string(req.Kubeconfig) != "kc" {
		t.Errorf("kubeconfig: %q", req.Kubeconfig)
	}
}

// fakeAPIServer answers /version (blocking while block is set) and counts the connections made to it.
type fakeAPIServer struct {
	*httptest.Server
	block    chan struct{} // closed: /version answers
	versions atomic.Int32
	gone     chan struct{} // closed when a blocked /version request's client went away
}

func newFakeAPIServer(t *testing.T, blocked bool, status int) *fakeAPIServer {
	f := &fakeAPIServer{block: make(chan struct{}), gone: make(chan struct{}, 8)}
	if !blocked {
		close(f.block)
	}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			f.versions.Add(1)
			select {
			case <-f.block:
			case <-r.Context().Done():
				f.gone <- struct{}{}
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.0"}`))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(func() {
		select {
		case <-f.block:
		default:
			close(f.block)
		}
		f.Close()
	})
	return f
}

func (f *fakeAPIServer) restConfig() *rest.Config {
	return &rest.Config{Host: f.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, BearerToken: "secret-token"}
}

// TestClientUsesOurRequestTimeout: kube-burner's clients (ClientSet, used for every object it creates) time out
// after our request timeout, not kube-burner's 60 s default, and connect through the kubeconfig we hand over.
func TestClientUsesOurRequestTimeout(t *testing.T) {
	srv := newFakeAPIServer(t, false, http.StatusOK)
	kc, err := Kubeconfig(srv.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	kcp, err := clientProvider(kc, 7*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, cfg := kcp.ClientSet(10, 20)
	if cfg.Timeout != 7*time.Second {
		t.Errorf("kube-burner's client request timeout = %v, want ours (7s)", cfg.Timeout)
	}
	if cfg.Host != srv.URL || cfg.BearerToken != "secret-token" || cfg.QPS != 10 {
		t.Errorf("kube-burner's client: host %s token %q qps %v", cfg.Host, cfg.BearerToken, cfg.QPS)
	}
	if srv.versions.Load() == 0 {
		t.Error("kube-burner did not reach the server with the handed-over kubeconfig")
	}
}

// TestKubeconfigCarriesConnection: every connection setting of the probe's rest.Config reaches kube-burner,
// proxy-url (bastion/SOCKS users) included.
func TestKubeconfigCarriesConnection(t *testing.T) {
	src := clientcmdapi.NewConfig()
	src.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://api.internal:6443", ProxyURL: "socks5://127.0.0.1:1080",
		TLSServerName: "kubernetes.default", CertificateAuthorityData: []byte("ca"), DisableCompression: true}
	src.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "tok", Impersonate: "alice", ImpersonateGroups: []string{"g"},
		ImpersonateUID: "uid-1", ImpersonateUserExtra: map[string][]string{"k": {"v"}},
		Exec: &clientcmdapi.ExecConfig{Command: "get-token", Args: []string{"--x"}, APIVersion: "client.authentication.k8s.io/v1",
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode}}
	src.Contexts["ctx"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	src.CurrentContext = "ctx"
	in, err := clientcmd.NewDefaultClientConfig(*src, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Kubeconfig(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "api.internal:6443"}}
	pin, _ := in.Proxy(req)
	if out.Proxy == nil {
		t.Fatal("proxy-url dropped")
	}
	pout, _ := out.Proxy(req)
	if pout == nil || pout.String() != pin.String() {
		t.Errorf("proxy = %v, want %v", pout, pin)
	}
	if out.Host != in.Host || out.ServerName != "kubernetes.default" || string(out.CAData) != "ca" || !out.DisableCompression {
		t.Errorf("cluster settings: host %s server name %q ca %q compression off %v", out.Host, out.ServerName, out.CAData, out.DisableCompression)
	}
	if out.BearerToken != "tok" || !reflect.DeepEqual(out.Impersonate, in.Impersonate) {
		t.Errorf("auth: token %q impersonate %+v, want %+v", out.BearerToken, out.Impersonate, in.Impersonate)
	}
	if out.ExecProvider == nil || out.ExecProvider.Command != "get-token" || !reflect.DeepEqual(out.ExecProvider.Args, []string{"--x"}) {
		t.Errorf("exec provider: %+v", out.ExecProvider)
	}
}

// TestRunStopsChildNoKubeconfigFile: while kube-burner builds its client (the server does not answer yet), no
// kubeconfig file exists in $TMPDIR (the connection went over stdin, the child reads it from a pipe); a cancel
// kills the kube-burner process (its connection drops) and Run returns ErrStopped at once.
func TestRunStopsChildNoKubeconfigFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	srv := newFakeAPIServer(t, true, http.StatusOK)
	var logs bytes.Buffer
	r, err := NewRunner(srv.restConfig(), &logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, testSpec(t))
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for srv.versions.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("kube-burner never reached the server; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var files []string
	_ = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != tmp {
			files = append(files, p)
		}
		return nil
	})
	if len(files) > 0 {
		t.Errorf("files in $TMPDIR while kube-burner builds its client (a forced exit would leave the credentials): %v", files)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrStopped) {
			t.Errorf("err = %v, want ErrStopped", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Run took %v to return after the cancel", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the cancel")
	}
	select {
	case <-srv.gone:
	case <-time.After(5 * time.Second):
		t.Error("the kube-burner process still holds its connection after the cancel")
	}
}

// TestRunFatalStaysInChild: kube-burner's log.Fatal (here: the server answers 500) ends only its own process; the
// plugin gets the message as an error.
func TestRunFatalStaysInChild(t *testing.T) {
	srv := newFakeAPIServer(t, false, http.StatusInternalServerError)
	var logs bytes.Buffer
	r, err := NewRunner(srv.restConfig(), &logs)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), testSpec(t))
	if err == nil || !strings.Contains(err.Error(), "kube-burner failed") || !strings.Contains(err.Error(), "cannot reach API server") {
		t.Fatalf("err = %v (result %+v)\nlogs:\n%s", err, res, logs.String())
	}
	if !strings.Contains(logs.String(), "cannot reach API server") {
		t.Errorf("kube-burner's log did not reach the log writer:\n%s", logs.String())
	}
}

// TestChildExitsWithoutParent: the kube-burner process exits when its stdin closes (the plugin is gone), also
// where Pdeathsig does not exist.
func TestChildExitsWithoutParent(t *testing.T) {
	srv := newFakeAPIServer(t, true, http.StatusOK)
	kc, err := Kubeconfig(srv.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeRequest(request{Spec: testSpec(t), Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	cmd, _ := childCommand()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	if _, err := stdin.Write(b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.versions.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the kube-burner process did not exit when its stdin closed")
	}
}
