package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// fakeAPIServer answers what the six probe kinds ask, over TLS like an apiserver: /readyz, GET/PATCH/DELETE/POST
// of ConfigMaps in probe-ns, LIST of ConfigMaps in kube-system and of nodes, and a watch of probe-ns ConfigMaps
// that sends a MODIFIED event for every PATCH.
func fakeAPIServer(tb testing.TB) *httptest.Server {
	var mu sync.Mutex
	var watchers []chan []byte
	var rv atomic.Int64
	cm := func(ns, name string, annotations map[string]string) corev1.ConfigMap {
		return corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: fmt.Sprint(rv.Add(1)), Annotations: annotations},
			Data:       map[string]string{"probe": "x"}}
	}
	write := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	list := &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"}}
	for i := range 10 {
		list.Items = append(list.Items, cm("kube-system", fmt.Sprintf("cm-%d", i), nil))
	}
	nodes := &corev1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"}}
	for i := range 3 {
		nodes.Items = append(nodes.Items, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}})
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const cms = "/api/v1/namespaces/probe-ns/configmaps"
		switch {
		case r.URL.Path == "/readyz":
			_, _ = io.WriteString(w, "ok")
		case r.URL.Path == "/api/v1/nodes":
			write(w, 200, nodes)
		case r.URL.Path == "/api/v1/namespaces/kube-system/configmaps":
			write(w, 200, list)
		case r.URL.Path == cms && r.Method == http.MethodPost:
			var obj corev1.ConfigMap
			_ = json.NewDecoder(r.Body).Decode(&obj)
			out := cm("probe-ns", obj.Name, nil)
			out.Labels = obj.Labels
			write(w, 201, out)
		case r.URL.Path == cms && r.URL.Query().Get("watch") == "true":
			ch := make(chan []byte, 64)
			mu.Lock()
			watchers = append(watchers, ch)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			for {
				select {
				case <-r.Context().Done():
					return
				case ev := <-ch:
					_, _ = w.Write(ev)
					w.(http.Flusher).Flush()
				}
			}
		case strings.HasPrefix(r.URL.Path, cms+"/"):
			name := strings.TrimPrefix(r.URL.Path, cms+"/")
			switch r.Method {
			case http.MethodDelete:
				write(w, 200, metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess})
			case http.MethodPatch:
				var patch struct {
					Metadata struct {
						Annotations map[string]string `json:"annotations"`
					} `json:"metadata"`
				}
				_ = json.NewDecoder(r.Body).Decode(&patch)
				out := cm("probe-ns", name, patch.Metadata.Annotations)
				if len(patch.Metadata.Annotations) > 0 {
					ev, _ := json.Marshal(map[string]any{"type": "MODIFIED", "object": out})
					mu.Lock()
					for _, ch := range watchers {
						select {
						case ch <- append(ev, '\n'):
						default:
						}
					}
					mu.Unlock()
				}
				write(w, 200, out)
			default:
				write(w, 200, cm("probe-ns", name, nil))
			}
		default:
			write(w, 403, metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure,
				Reason: metav1.StatusReasonForbidden, Code: 403, Message: "forbidden"})
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProbeCPU measures the CPU the probe costs at the default rate (every kind every 200ms) for 20 s of
// real time against fakeAPIServer, as process CPU time (user + system). The fake server runs in the same process,
// so the figure is an upper bound of the probe's own cost. Run with:
//
//	go test ./pkg/probe -run '^$' -bench ProbeCPU -benchtime 1x
func BenchmarkProbeCPU(b *testing.B) {
	const interval, d = 200 * time.Millisecond, 20 * time.Second
	srv := fakeAPIServer(b)
	cfg := DedicatedConfig(&rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	pcfg := testConfig(AllKinds...)
	pcfg.Interval, pcfg.RequestTimeout = interval, 5*time.Second
	for range b.N {
		p, err := New(pcfg, cs, cs.Discovery().RESTClient(), nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := p.Setup(ctx); err != nil {
			b.Fatal(err)
		}
		var n, failed atomic.Int64
		before, start := cpuTime(), time.Now()
		if err := p.Run(ctx, "bench", d, func(s Sample) {
			n.Add(1)
			if s.Error != "" {
				failed.Add(1)
			}
		}); err != nil {
			b.Fatal(err)
		}
		cpu, wall := cpuTime()-before, time.Since(start)
		_ = p.Teardown(ctx)
		if failed.Load() > 0 {
			b.Fatalf("%d of %d requests failed", failed.Load(), n.Load())
		}
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n.Load()), "us-cpu/request")
		b.ReportMetric(float64(n.Load())/wall.Seconds(), "requests/s")
	}
}
