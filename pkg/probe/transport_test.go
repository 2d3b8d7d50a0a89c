package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/flowcontrol"
)

func TestDedicatedConfigKeepsAuthDropsLimits(t *testing.T) {
	var wrapped int
	base := &rest.Config{
		Host:            "https://apiserver.example:6443",
		BearerToken:     "token",
		BearerTokenFile: "/var/run/token",
		Impersonate:     rest.ImpersonationConfig{UserName: "alice", Groups: []string{"dev"}},
		ExecProvider:    &clientcmdapi.ExecConfig{Command: "get-token", APIVersion: "client.authentication.k8s.io/v1"},
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca"), CertData: []byte("cert"), KeyData: []byte("key")},
		QPS:             5,
		Burst:           10,
		RateLimiter:     flowcontrol.NewTokenBucketRateLimiter(5, 10),
		Timeout:         7,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			wrapped++
			return rt
		},
	}
	cfg := DedicatedConfig(base)
	if cfg.QPS != -1 || cfg.RateLimiter != nil || cfg.Timeout != 0 {
		t.Errorf("QPS/RateLimiter/Timeout = %v/%v/%v, want -1/nil/0 so nothing queues or cuts a probe", cfg.QPS, cfg.RateLimiter, cfg.Timeout)
	}
	if cfg.BearerToken != "token" || cfg.BearerTokenFile != "/var/run/token" || cfg.Impersonate.UserName != "alice" ||
		cfg.ExecProvider == nil || cfg.ExecProvider.Command != "get-token" || string(cfg.CertData) != "cert" ||
		string(cfg.KeyData) != "key" || string(cfg.CAData) != "ca" || cfg.Host != base.Host {
		t.Errorf("auth not kept: %+v", cfg)
	}
	if base.QPS != 5 || base.RateLimiter == nil || base.Proxy != nil {
		t.Errorf("DedicatedConfig modified its input: %+v", base)
	}
	if cfg.Proxy == nil {
		t.Fatal("Proxy is nil: the config would share client-go's cached TLS transport")
	}
	cfg.WrapTransport(http.DefaultTransport)
	if wrapped != 1 {
		t.Errorf("the caller's WrapTransport ran %d times, want 1", wrapped)
	}
}

// innermost unwraps client-go's round-tripper chain down to the transport holding the connections.
func innermost(t *testing.T, cfg *rest.Config) http.RoundTripper {
	t.Helper()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		w, ok := rt.(interface{ WrappedRoundTripper() http.RoundTripper })
		if !ok {
			return rt
		}
		rt = w.WrappedRoundTripper()
	}
}

func TestDedicatedConfigHasItsOwnTransport(t *testing.T) {
	base := &rest.Config{Host: "https://apiserver.example:6443", BearerToken: "t", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	shared1, shared2 := innermost(t, base), innermost(t, rest.CopyConfig(base))
	if _, ok := shared1.(*http.Transport); !ok {
		t.Fatalf("innermost round tripper is %T, want *http.Transport", shared1)
	}
	if shared1 != shared2 {
		t.Fatal("precondition: client-go should share one cached transport between equal TLS configs")
	}
	probe1, probe2 := innermost(t, DedicatedConfig(base)), innermost(t, DedicatedConfig(base))
	if probe1 == shared1 || probe1 == probe2 {
		t.Error("a DedicatedConfig transport is shared with other clients")
	}
}

func TestCaptureRecordsEachRequestApart(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		var n int
		_, _ = fmt.Sscanf(name, "cm-%d", &n)
		w.Header().Set(HeaderPriorityLevelUID, fmt.Sprintf("pl-%d", n))
		w.Header().Set("Content-Type", "application/json")
		if n%2 == 1 {
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"configmaps %q not found"}`, name)
			return
		}
		_, _ = fmt.Fprintf(w, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":%q,"namespace":"ns"}}`, name)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(DedicatedConfig(&rest.Config{Host: srv.URL, BearerToken: "secret"}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ctx, c := withCapture(context.Background())
			_, err := cs.CoreV1().ConfigMaps("ns").Get(ctx, fmt.Sprintf("cm-%d", i), metav1.GetOptions{})
			got := c.get()
			wantStatus := http.StatusOK
			if i%2 == 1 {
				wantStatus = http.StatusNotFound
				if !apierrors.IsNotFound(err) {
					t.Errorf("cm-%d: error = %v, want NotFound", i, err)
				}
			}
			if got.status != wantStatus || got.priorityLevel != fmt.Sprintf("pl-%d", i) || got.attempts != 1 {
				t.Errorf("cm-%d: captured %+v, want status %d, priority level pl-%d, one attempt", i, got, wantStatus, i)
			}
		})
	}
	wg.Wait()
	if auth.Load() != "Bearer secret" {
		t.Errorf("Authorization = %q, want the caller's bearer token", auth.Load())
	}
}
