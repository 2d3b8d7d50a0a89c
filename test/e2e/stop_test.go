//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/clientcmd"
)

// creation is one ADDED event seen by creationWatch.
type creation struct {
	kind, namespace, name string
	created               time.Time // the object's creationTimestamp (server clock, whole seconds, floored)
	seen                  time.Time // when the watch delivered it
}

// creationWatch watches namespaces, deployments, configmaps and secrets labelled with run id (opened before the
// run starts, so before any cancel) and records every object created.
type creationWatch struct {
	mu     sync.Mutex
	adds   []creation
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func watchCreations(t *testing.T, id string) *creationWatch {
	t.Helper()
	c := adminClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cw := &creationWatch{cancel: cancel}
	sel := "app.kubernetes.io/managed-by=kubectl-pyrometer,kubepyrometer.io/run-id=" + id
	// Each kind: a list (for the resource version to watch from), then a watch from there (re-opened from the last
	// version seen when it closes). The run's objects do not exist yet, so nothing is missed.
	type lw struct {
		list  func(ctx context.Context, o metav1.ListOptions) (string, error)
		watch func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
	}
	kinds := map[string]lw{
		"Namespace": {func(ctx context.Context, o metav1.ListOptions) (string, error) {
			l, err := c.CoreV1().Namespaces().List(ctx, o)
			if err != nil {
				return "", err
			}
			return l.ResourceVersion, nil
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Namespaces().Watch(ctx, o)
		}},
		"Deployment": {func(ctx context.Context, o metav1.ListOptions) (string, error) {
			l, err := c.AppsV1().Deployments("").List(ctx, o)
			if err != nil {
				return "", err
			}
			return l.ResourceVersion, nil
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.AppsV1().Deployments("").Watch(ctx, o)
		}},
		"ConfigMap": {func(ctx context.Context, o metav1.ListOptions) (string, error) {
			l, err := c.CoreV1().ConfigMaps("").List(ctx, o)
			if err != nil {
				return "", err
			}
			return l.ResourceVersion, nil
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().ConfigMaps("").Watch(ctx, o)
		}},
		"Secret": {func(ctx context.Context, o metav1.ListOptions) (string, error) {
			l, err := c.CoreV1().Secrets("").List(ctx, o)
			if err != nil {
				return "", err
			}
			return l.ResourceVersion, nil
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Secrets("").Watch(ctx, o)
		}},
	}
	ready := make(chan struct{}, len(kinds))
	for kind, open := range kinds {
		cw.wg.Add(1)
		go func() {
			defer cw.wg.Done()
			rv, err := open.list(ctx, metav1.ListOptions{LabelSelector: sel})
			ready <- struct{}{}
			if err != nil {
				t.Errorf("listing %s: %v", kind, err)
				return
			}
			for ctx.Err() == nil {
				w, err := open.watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: rv})
				if err != nil {
					time.Sleep(200 * time.Millisecond)
					continue
				}
				for ev := range w.ResultChan() {
					if ev.Type == watch.Error {
						if ctx.Err() != nil { // stopped by cw.stop
							break
						}
						t.Errorf("watching %s: %+v", kind, ev.Object)
						break
					}
					m, err := meta(ev.Object)
					if err != nil {
						continue
					}
					rv = m.GetResourceVersion()
					if ev.Type == watch.Added {
						cw.mu.Lock()
						cw.adds = append(cw.adds, creation{kind: kind, namespace: m.GetNamespace(), name: m.GetName(),
							created: m.GetCreationTimestamp().Time, seen: time.Now()})
						cw.mu.Unlock()
					}
				}
				w.Stop()
			}
		}()
	}
	for range kinds {
		<-ready
	}
	t.Cleanup(cw.stop)
	return cw
}

func meta(o any) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("not an object: %T", o)
	}
	return m, nil
}

func (cw *creationWatch) stop() {
	cw.cancel()
	cw.wg.Wait()
}

func (cw *creationWatch) count(kind string) int { return cw.countPrefix(kind, "") }

// countPrefix counts the creations of kind whose name starts with prefix (the API flood's: "pyrometer-api-").
func (cw *creationWatch) countPrefix(kind, prefix string) int {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	n := 0
	for _, a := range cw.adds {
		if a.kind == kind && strings.HasPrefix(a.name, prefix) {
			n++
		}
	}
	return n
}

// createdAfter lists the objects created more than grace after t, except those skip says are fine.
// creationTimestamp is floored to the second, so an object listed here was certainly created later than t+grace.
func (cw *creationWatch) createdAfter(t time.Time, grace time.Duration, skip func(creation) bool) []string {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	var out []string
	for _, a := range cw.adds {
		if a.created.After(t.Add(grace)) && (skip == nil || !skip(a)) {
			out = append(out, fmt.Sprintf("%s %s/%s created %s (%.1fs after the cancel)", a.kind, a.namespace, a.name,
				a.created.Format("15:04:05"), a.created.Sub(t).Seconds()))
		}
	}
	return out
}

// assertNothingLabelled: nothing of the run exists (namespaces, RBAC, configmaps, and deployments/secrets too).
func assertNothingLabelled(t *testing.T, id string) {
	t.Helper()
	assertNothingLeft(t, id)
	c := adminClient(t)
	sel := metav1.ListOptions{LabelSelector: "kubepyrometer.io/run-id=" + id}
	deps, _ := c.AppsV1().Deployments("").List(context.Background(), sel)
	secs, _ := c.CoreV1().Secrets("").List(context.Background(), sel)
	if len(deps.Items)+len(secs.Items) > 0 {
		t.Errorf("run %s left %d deployment(s) and %d secret(s)", id, len(deps.Items), len(secs.Items))
	}
	// --workers-flowschema's cluster-scoped objects
	fss, err := c.FlowcontrolV1().FlowSchemas().List(context.Background(), sel)
	if err != nil {
		t.Errorf("list flowschemas: %v", err)
	}
	pls, err := c.FlowcontrolV1().PriorityLevelConfigurations().List(context.Background(), sel)
	if err != nil {
		t.Errorf("list prioritylevelconfigurations: %v", err)
	}
	if len(fss.Items)+len(pls.Items) > 0 {
		t.Errorf("run %s left %d flowschema(s) and %d prioritylevelconfiguration(s)", id, len(fss.Items), len(pls.Items))
	}
}

// TestStopBreakerTripCreatesNothingAfter: with cpu,mem,disk in one step and cpu unschedulable, the breaker trips;
// from then on nothing of the run is created (before, kube-burner went on: it re-created the deleted step namespace
// and the mem and disk Deployments during recovery), the run ends in reasonable time and nothing is left.
func TestStopBreakerTripCreatesNothingAfter(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	start := time.Now()
	r := pluginIn(t, dir, 8*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "cpu,mem,disk", "--cpu-millicores", "3000",
		"--steps", "1", "--baseline", "2s", "--step-duration", "5s", "--recovery", "2s", "--image-map", localImages(t),
		"--run-id", id, "--output-dir", "out", "--yes")
	took := time.Since(start)
	if r.code != 1 {
		t.Fatalf("a run stopped by the breaker exits 1, got %d\n%s", r.code, r.stderr)
	}
	var trip time.Time
	b, _ := os.ReadFile(filepath.Join(dir, "out", "failures.jsonl"))
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var f struct {
			TS            time.Time `json:"ts"`
			Phase, Reason string
		}
		if json.Unmarshal([]byte(line), &f) == nil && f.Phase == "ramp-step-1" && strings.Contains(f.Reason, "breaker") {
			trip = f.TS
		}
	}
	if trip.IsZero() {
		t.Fatalf("no breaker trip in failures.jsonl:\n%s\nstderr:\n%s", b, r.stderr)
	}
	time.Sleep(30 * time.Second)
	cw.stop()
	// The breaker stops the load, not the run: teardown and the recovery probe follow, and the probe's mutate kind
	// creates (and deletes) its small ConfigMaps in the probe namespace while it measures. Those are the
	// measurement, not load; everything else (step namespaces, Deployments, the flood's objects) must not appear.
	probeObject := func(a creation) bool {
		return a.kind == "ConfigMap" && a.namespace == "pyrometer-"+id && strings.HasPrefix(a.name, "pyrometer-probe-")
	}
	if late := cw.createdAfter(trip, time.Second, probeObject); len(late) > 0 {
		t.Errorf("objects created after the breaker tripped at %s:\n  %s", trip.Format("15:04:05.000"), strings.Join(late, "\n  "))
	}
	if cw.count("Namespace") == 0 || cw.count("Deployment") == 0 {
		t.Errorf("the watch saw no namespace/deployment of the run: is it watching? %d/%d", cw.count("Namespace"), cw.count("Deployment"))
	}
	// breaker grace 15 s, then teardown and a 2 s recovery: well under 2 minutes (it took ~4 min before)
	if took > 2*time.Minute {
		t.Errorf("the run took %v after a breaker trip", took)
	}
	assertNothingLabelled(t, id)
	t.Logf("run took %v, breaker tripped %v after start", took, trip.Sub(start).Round(time.Second))
}

// TestStopSigintDuringFloodCreatesNothingAfter: a SIGINT during the API flood stops the flood's writes within a
// second (before, kube-burner kept writing at --api-qps through teardown and cleanup), the run exits, nothing left.
func TestStopSigintDuringFloodCreatesNothingAfter(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	in := interruptLoaded(t, dir, 2*time.Minute, 2*time.Minute, func() bool {
		return cw.countPrefix("ConfigMap", "pyrometer-api-")+cw.countPrefix("Secret", "pyrometer-api-") >= 40
	}, "the flood", "run", "--modes", "api", "--api-iterations", "400", "--api-qps", "20", "--steps", "1",
		"--baseline", "2s", "--step-duration", "5s", "--recovery", "2s", "--run-id", id, "--output-dir", "out")
	errb, exited := in.stderr, in.exited
	if in.code == 0 {
		t.Errorf("an interrupted run must exit non-zero")
	}
	assertQuietAfter(t, cw, dir, in.sigint, time.Second, 30*time.Second)
	if exited > time.Minute {
		t.Errorf("the run took %v to exit after SIGINT", exited)
	}
	for _, want := range []string{"stopping and cleaning up", "press Ctrl-C again", "cleanup: deleting everything left of run " + id, "cleanup: done"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr must say %q:\n%s", want, errb.String())
		}
	}
	assertNothingLabelled(t, id)
	t.Logf("exited %v after SIGINT; %d configmaps, %d secrets created", exited.Round(100*time.Millisecond), cw.count("ConfigMap"), cw.count("Secret"))
}

// interruption is what interruptLoaded saw of a plugin run stopped by SIGINT.
type interruption struct {
	code   int           // exit code
	sigint time.Time     // when the SIGINT was sent
	exited time.Duration // from the SIGINT to the exit
	stderr *bytes.Buffer
}

// interruptLoaded starts the plugin in dir with args, waits (at most startWithin) until started says its load runs,
// sends SIGINT and waits (at most exitWithin) for the exit.
func interruptLoaded(t *testing.T, dir string, startWithin, exitWithin time.Duration, started func() bool, what string, args ...string) interruption {
	t.Helper()
	cmd, _, errb := startPlugin(t, dir, args...)
	deadline := time.Now().Add(startWithin)
	for !started() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start within %v\n%s", what, startWithin, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	sigint := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, exitWithin)
	return interruption{code: code, sigint: sigint, exited: time.Since(sigint), stderr: errb}
}

// assertQuietAfter waits settle, stops cw and checks that no object of the run was created, and that the native
// engine (every write it sent is a sample in dir/out/probe.jsonl, sent at ts + lag_ms) sent no write, more than
// grace after the SIGINT. Failed writes create nothing the watch could see (teardown makes the namespace
// Terminating): hence both.
func assertQuietAfter(t *testing.T, cw *creationWatch, dir string, sigint time.Time, grace, settle time.Duration) {
	t.Helper()
	time.Sleep(settle)
	cw.stop()
	if late := cw.createdAfter(sigint, grace, nil); len(late) > 0 {
		t.Errorf("%d object(s) created more than %v after the SIGINT, e.g.:\n  %s", len(late), grace, strings.Join(late[:min(len(late), 10)], "\n  "))
	}
	if late := engineWritesAfter(t, filepath.Join(dir, "out", "probe.jsonl"), sigint.Add(grace)); len(late) > 0 {
		t.Errorf("the load was still writing more than %v after the SIGINT (%d writes), e.g.:\n  %s", grace, len(late),
			strings.Join(late[:min(len(late), 5)], "\n  "))
	}
}

// engineWritesAfter returns the writes of the native engine (samples of source churn, rows churn:*) in probe.jsonl
// that were sent after t, and fails when there is none at all (the file must show the engine wrote).
func engineWritesAfter(t *testing.T, path string, after time.Time) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("probe.jsonl: %v", err)
	}
	var out []string
	writes := 0
	for _, line := range strings.Split(string(b), "\n") {
		var s struct {
			TS     time.Time `json:"ts"`
			Kind   string    `json:"kind"`
			Source string    `json:"source"`
			LagMS  float64   `json:"lag_ms"`
		}
		if json.Unmarshal([]byte(line), &s) != nil || s.Source != "churn" || !strings.HasPrefix(s.Kind, "churn:") {
			continue
		}
		writes++
		if sent := s.TS.Add(time.Duration(s.LagMS * float64(time.Millisecond))); sent.After(after) {
			out = append(out, line)
		}
	}
	if writes == 0 {
		t.Errorf("no write of the engine in %s", path)
	}
	return out
}

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that maps one host name (which does not resolve) to a real
// address, and counts the tunnels it opened.
type connectProxy struct {
	ln      net.Listener
	from    string // host:port asked for
	to      string // real address
	tunnels atomic.Int32
	refused atomic.Int32
}

func startConnectProxy(t *testing.T, from, to string) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln, from: from, to: to}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect || req.Host != p.from {
		p.refused.Add(1)
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", p.to, 5*time.Second)
	if err != nil {
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	p.tunnels.Add(1)
	fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// TestStopProxyURLReachesKubeBurner: a kubeconfig whose server is reachable only through an HTTP CONNECT proxy
// (proxy-url; the server name does not resolve, tls-server-name is a SAN of the apiserver's certificate): probe and
// kube-burner both go through it and the API flood step passes (before, kube-burner's kubeconfig dropped proxy-url
// and the step failed: "kube-burner could not connect").
func TestStopProxyURLReachesKubeBurner(t *testing.T) {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctxName := cfg.CurrentContext
	cl := cfg.Clusters[cfg.Contexts[ctxName].Cluster]
	u, err := url.Parse(cl.Server)
	if err != nil {
		t.Fatal(err)
	}
	real := u.Host
	// A SAN of the apiserver's certificate, for tls-server-name.
	tc, err := tls.Dial("tcp", real, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	sans := tc.ConnectionState().PeerCertificates[0].DNSNames
	tc.Close()
	if len(sans) == 0 {
		t.Fatalf("the apiserver certificate at %s has no DNS SAN", real)
	}
	fake := "pyrometer-proxied.invalid:" + u.Port()
	if _, err := net.LookupHost("pyrometer-proxied.invalid"); err == nil {
		t.Fatal("pyrometer-proxied.invalid resolves on this machine: the test needs a name reachable only through the proxy")
	}
	proxy := startConnectProxy(t, fake, real)
	cl.Server = "https://" + fake
	cl.ProxyURL = "http://" + proxy.ln.Addr().String()
	cl.TLSServerName = sans[0]
	proxied := filepath.Join(t.TempDir(), "proxied-kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, proxied); err != nil {
		t.Fatal(err)
	}
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	// cpu: kube-burner's objects; api: the native engine's flood. Both must reach the server through the proxy.
	r := pluginIn(t, dir, 5*time.Minute, "--kubeconfig", proxied, "run", "--modes", "cpu,api", "--api-iterations", "4", "--api-qps", "20",
		"--image-map", localImages(t), "--node-selector", realNode,
		"--steps", "1", "--baseline", "2s", "--step-duration", "3s", "--recovery", "2s", "--run-id", id, "--output-dir", "out")
	cw.stop()
	if r.code != 0 && r.code != 2 {
		t.Fatalf("run through the proxy exited %d (tunnels %d, refused %d)\n%s", r.code, proxy.tunnels.Load(), proxy.refused.Load(), r.stderr)
	}
	d := readRun(t, filepath.Join(dir, "out"))
	for _, p := range d.Phases {
		if p.Name == "ramp-step-1" && p.Status != "pass" {
			t.Errorf("the flood step through the proxy: %s: %s", p.Status, p.Error)
		}
	}
	// 4 iterations x (5 ConfigMaps + 5 Secrets): created by the engine, whose only way to the server is the proxy.
	if cms, secs := cw.countPrefix("ConfigMap", "pyrometer-api-"), cw.countPrefix("Secret", "pyrometer-api-"); cms < 20 || secs < 20 {
		t.Errorf("the flood created %d ConfigMaps and %d Secrets through the proxy, want 20 each", cms, secs)
	}
	if proxy.tunnels.Load() < 2 {
		t.Errorf("the proxy opened %d tunnel(s): the probe and kube-burner must both use it", proxy.tunnels.Load())
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "out", "kube-burner.log")); !strings.Contains(string(log), "Starting kube-burner") {
		t.Errorf("kube-burner's logs must go to kube-burner.log:\n%s", log)
	}
	assertNothingLabelled(t, id)
	t.Logf("proxy tunnels: %d", proxy.tunnels.Load())
}
