// Command benchchurn is the measuring part of hack/bench-churn.sh (not part of the plugin's binary). Against one
// cluster, in one namespace of its own (labelled managed-by + run id, deleted at the end, also on Ctrl-C), it
// measures, each figure next to a reference taken in the same run:
//
//  1. the highest rate one process of the churn engine (pkg/churn: open loop, Poisson arrivals, each object gets
//     UPDATES patches over LIFETIME, then is deleted) sustains at a delivery ratio >= churn.DeliveredRatio: rates
//     doubling from -start-rate, each step bounded to -step-objects objects and -step-duration, stopping at the first
//     step below the ratio, then -refine bisection steps between the highest delivered rate and the lowest not;
//  2. at the highest delivered step's write rate: kube-burner's flood (pkg/stress, as mode `api` runs it: creates at
//     a QPS cap with burst 2 x QPS, iterations of 5 replicas spread over objects/QPS) and the engine in the same
//     flood shape (creates only, uniform arrivals), the same object count and rate; the delivered rate of each is
//     the objects created over the wall time of the create phase (first to last creation, as one watch in this
//     process sees them);
//  3. for every run, the apiserver's own count of handled configmap writes (apiserver_request_total, verb POST,
//     PATCH or DELETE, resource configmaps; delta of /metrics over the run) against the count of successful writes
//     the client made.
//
// kube-burner runs as it does in the plugin: in a child process (stress.Runner), which is this program re-executed
// with the hidden subcommand stress.ChildCommand, so the child runs the same stress.ServeChild code as the plugin's.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec/oidc credential plugins, as the plugin has them
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
)

// benchLabel marks the objects of one flood so that the watch timing it sees only those.
const benchLabel = "kubepyrometer.io/bench"

// floodTemplate is mode api's ConfigMap template as it was before the engine (templates/pyrometer-api-configmap.yaml)
// with the payload sized like the engine's and the bench label added; a copy, so the bench does not depend on
// the catalogue.
const floodTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: pyrometer-api-{{.Iteration}}-{{.Replica}}
  labels:
    app.kubernetes.io/managed-by: kubectl-pyrometer
    kubepyrometer.io/run-id: "{{.RunID}}"
    kubepyrometer.io/mode: api
    ` + benchLabel + `: kube-burner
data:
  payload: "{{.payload}}"
`

// floodReplicas is mode api's default replicas per iteration.
const floodReplicas = 5

type options struct {
	kubeconfig  string
	startRate   float64
	maxRate     float64
	stepObjects int
	stepSpan    time.Duration
	minSpan     time.Duration
	lifetime    time.Duration
	updates     int
	size        int
	pause       time.Duration
	refine      int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == stress.ChildCommand {
		os.Exit(stress.ServeChild(os.Stdin, os.Stdout, os.Stderr))
	}
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	flag.Float64Var(&o.startRate, "start-rate", 25, "first churn rate (objects/s); each next step doubles it")
	flag.Float64Var(&o.maxRate, "max-rate", 3200, "highest churn rate tried (objects/s)")
	flag.IntVar(&o.stepObjects, "step-objects", 2000, "at most this many objects per step (1..2000)")
	flag.DurationVar(&o.stepSpan, "step-duration", 10*time.Second, "longest arrival span of a step")
	flag.DurationVar(&o.minSpan, "min-step-duration", 3*time.Second, "shortest arrival span of a step: the search ends when the object bound would make a step shorter")
	flag.DurationVar(&o.lifetime, "lifetime", 2*time.Second, "churn object lifetime")
	flag.IntVar(&o.updates, "updates", 1, "churn updates per object")
	flag.IntVar(&o.size, "size", churn.DefaultSize, "payload bytes per object")
	flag.IntVar(&o.refine, "refine", 1, "bisection steps between the highest delivered rate and the first one not delivered (0..4)")
	flag.DurationVar(&o.pause, "pause", 2*time.Second, "pause between runs (the server settles)")
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "benchchurn: error: %v\n", err)
		os.Exit(2)
	}
	ctx := signals.Context()
	if err := run(ctx, o); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "benchchurn: interrupted: %v\n", err)
			os.Exit(exitcode.Interrupted)
		}
		fmt.Fprintf(os.Stderr, "benchchurn: error: %v\n", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.kubeconfig == "":
		return errors.New("invalid -kubeconfig: give the kubeconfig of the cluster (or set KUBECONFIG)")
	case !(o.startRate > 0) || o.startRate > o.maxRate:
		return fmt.Errorf("invalid -start-rate %v: must be above 0 and at most -max-rate (%v)", o.startRate, o.maxRate)
	case o.stepObjects < 1 || o.stepObjects > 2000:
		return fmt.Errorf("invalid -step-objects %d: must be between 1 and 2000", o.stepObjects)
	case o.stepSpan <= 0 || o.stepSpan > time.Minute:
		return fmt.Errorf("invalid -step-duration %s: must be positive and at most 1m", o.stepSpan)
	case o.minSpan < time.Second || o.minSpan > o.stepSpan:
		return fmt.Errorf("invalid -min-step-duration %s: must be at least 1s and at most -step-duration", o.minSpan)
	case o.lifetime <= 0 || o.lifetime > 30*time.Second:
		return fmt.Errorf("invalid -lifetime %s: must be positive and at most 30s", o.lifetime)
	case o.updates < 0 || o.updates > 10:
		return fmt.Errorf("invalid -updates %d: must be between 0 and 10", o.updates)
	case o.refine < 0 || o.refine > 4:
		return fmt.Errorf("invalid -refine %d: must be between 0 and 4", o.refine)
	case o.size < 0 || o.size > 64*1024:
		return fmt.Errorf("invalid -size %d: must be between 0 and 65536 bytes", o.size)
	}
	return nil
}

// bench is one run of the benchmark.
type bench struct {
	o       options
	cfg     *rest.Config
	client  kubernetes.Interface // plain, for namespace, watch and cleanup
	metrics rest.Interface       // dedicated, for /metrics
	writes  kubernetes.Interface // the engine's clients
	watches kubernetes.Interface
	runID   string
	ns      string
	labels  map[string]string
	tmplDir string
	burner  *stress.Runner
	logs    *os.File
	seq     int
}

func run(ctx context.Context, o options) (err error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig %s: %w", o.kubeconfig, err)
	}
	b := &bench{o: o, cfg: cfg, runID: cluster.NewRunID()}
	if b.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("failed to build a client: %w", err)
	}
	mc, err := kubernetes.NewForConfig(probe.DedicatedConfig(cfg))
	if err != nil {
		return fmt.Errorf("failed to build the metrics client: %w", err)
	}
	b.metrics = mc.Discovery().RESTClient()
	if b.writes, b.watches, err = churn.NewClients(cfg); err != nil {
		return err
	}
	if _, err := serverWrites(ctx, b.metrics); err != nil {
		return fmt.Errorf("the server-side count needs GET /metrics: %w", err)
	}
	b.ns = fmt.Sprintf("pyrometer-%s-bench", b.runID)
	b.labels = cluster.Labels(b.runID, "bench")

	b.tmplDir, err = os.MkdirTemp("", "pyrometer-bench-churn-")
	if err != nil {
		return fmt.Errorf("failed to create a private directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(b.tmplDir) }()
	if err := os.WriteFile(filepath.Join(b.tmplDir, "flood-configmap.yaml"), []byte(floodTemplate), 0o600); err != nil {
		return fmt.Errorf("failed to write the flood template: %w", err)
	}
	if b.logs, err = os.Create(filepath.Join(b.tmplDir, "kube-burner.log")); err != nil {
		return fmt.Errorf("failed to create kube-burner's log: %w", err)
	}
	defer func() { _ = b.logs.Close() }()
	if b.burner, err = stress.NewRunner(cfg, b.logs); err != nil {
		return err
	}

	// From here on everything of the run is deleted at the end, whatever happens (Ctrl-C included: ctx only
	// stops the load; the cleanup runs on its own context).
	removeHook := signals.OnForcedExit(func() {
		fmt.Fprintf(os.Stderr, "benchchurn: forced exit: delete what is left with: kubectl pyrometer cleanup --run-id %s\n", b.runID)
	})
	defer removeHook()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		logf("deleting namespace %s and everything of run %s", b.ns, b.runID)
		left, cerr := cluster.Cleanup(cctx, b.client, b.runID, 90*time.Second)
		if cerr != nil {
			cerr = fmt.Errorf("cleanup of run %s failed (%d objects left; run kubectl pyrometer cleanup --run-id %s): %w", b.runID, len(left), b.runID, cerr)
			err = errors.Join(err, cerr)
		}
	}()
	if err := cluster.CreateNamespace(ctx, b.client, cluster.Namespace{Name: b.ns, RunID: b.runID, Component: "bench"}); err != nil {
		return err
	}
	if err := b.waitDefaultConfigMap(ctx); err != nil {
		return err
	}
	return b.measure(ctx)
}

// waitDefaultConfigMap waits for kube-root-ca.crt, which the controller manager writes into a new namespace, so
// that its POST is not counted in the first run.
func (b *bench) waitDefaultConfigMap(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := b.client.CoreV1().ConfigMaps(b.ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); err == nil {
			return nil
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil // a cluster without the root CA publisher: nothing to wait for
}

// churnRow is one step of the rate search.
type churnRow struct {
	rate      float64
	objects   int
	delivery  churn.Delivery
	verdict   churn.Verdict
	window    time.Duration // /metrics snapshot to snapshot
	engineOK  int64         // successful writes the engine made
	server    writeCount
	notifyP99 float64
}

// floodRow is one flood.
type floodRow struct {
	who      string
	objects  int     // requested
	created  int     // seen created by the watch
	createdS float64 // first to last creation, seconds
	wall     time.Duration
	clientOK int64 // successful creates the client counted (-1: unknown)
	server   writeCount
	window   time.Duration
}

func (f floodRow) rate() float64 {
	if f.created < 2 || f.createdS <= 0 {
		return 0
	}
	return float64(f.created-1) / f.createdS
}

func (b *bench) measure(ctx context.Context) error {
	var rows []churnRow
	best := -1 // index in rows of the highest delivered rate
	boundNote := ""
	step := func(rate float64) (bool, error) {
		span := min(b.o.stepSpan, time.Duration(float64(b.o.stepObjects)/rate*float64(time.Second)))
		if span < b.o.minSpan {
			boundNote = fmt.Sprintf("the search stopped at the bound: %v objects/s would need a step shorter than %s to stay within %d objects", rate, b.o.minSpan, b.o.stepObjects)
			return false, nil
		}
		if len(rows) > 0 && !sleep(ctx, b.o.pause) {
			return false, ctx.Err()
		}
		r, err := b.churnStep(ctx, rate, span)
		if err != nil {
			return false, err
		}
		rows = append(rows, r)
		logf("churn %v objects/s: delivered %.3f (%s)", rate, r.delivery.Ratio, r.verdict)
		if r.verdict.Delivered && (best < 0 || rate > rows[best].rate) {
			best = len(rows) - 1
		}
		return r.verdict.Delivered, nil
	}
	failed := 0.0 // the lowest rate not delivered
	for rate := b.o.startRate; rate <= b.o.maxRate; rate *= 2 {
		ok, err := step(rate)
		if err != nil {
			return err
		}
		if !ok {
			if boundNote == "" {
				failed = rate
			}
			break
		}
	}
	// Bisection between the highest delivered rate and the first one not delivered.
	for i := 0; i < b.o.refine && best >= 0 && failed > 0; i++ {
		rate := math.Round((rows[best].rate + failed) / 2)
		if rate <= rows[best].rate || rate >= failed {
			break
		}
		ok, err := step(rate)
		if err != nil {
			return err
		}
		if !ok {
			failed = rate
		}
	}
	var floods []floodRow
	var floodQPS float64
	if best >= 0 {
		// The flood at the highest sustained step's request rate (writes/s): the same object count and QPS for
		// kube-burner and for the engine in the flood shape (creates only), kube-burner first.
		floodQPS = math.Floor(rows[best].delivery.RequestedRate)
		n := min(b.o.stepObjects, int(floodQPS*b.o.stepSpan.Seconds()))
		n = max(floodReplicas, n/floodReplicas*floodReplicas)
		if !sleep(ctx, b.o.pause) {
			return ctx.Err()
		}
		kb, err := b.kubeBurnerFlood(ctx, floodQPS, n)
		if err != nil {
			return err
		}
		floods = append(floods, kb)
		if !sleep(ctx, b.o.pause) {
			return ctx.Err()
		}
		en, err := b.engineFlood(ctx, floodQPS, n)
		if err != nil {
			return err
		}
		floods = append(floods, en)
	}
	var bestRow *churnRow
	if best >= 0 {
		bestRow = &rows[best]
	}
	b.print(os.Stdout, rows, bestRow, boundNote, floodQPS, floods)
	return nil
}

// churnStep runs the engine at rate objects/s for span (at most stepObjects objects) between two /metrics
// snapshots.
func (b *bench) churnStep(ctx context.Context, rate float64, span time.Duration) (churnRow, error) {
	b.seq++
	row := churnRow{rate: rate}
	eng, err := churn.New(churn.Config{
		Namespace: b.ns, Rate: rate, Lifetime: b.o.lifetime, Updates: b.o.updates, Size: b.o.size,
		Duration: span, Count: b.o.stepObjects, Watchers: 1, Labels: b.labels,
		NamePrefix: fmt.Sprintf("pyrometer-churn-%d", b.seq), Phase: fmt.Sprintf("rate-%v", rate),
	}, b.writes, b.watches, nil)
	if err != nil {
		return row, err
	}
	var mu sync.Mutex
	sink := func(s churn.Sample) {
		if s.Notification() || s.Error != "" {
			return
		}
		mu.Lock()
		row.engineOK++
		mu.Unlock()
	}
	logf("churn %v objects/s for %s (lifetime %s, %d update(s), at most %d objects)", rate, span, b.o.lifetime, b.o.updates, b.o.stepObjects)
	m0, err := serverWrites(ctx, b.metrics)
	if err != nil {
		return row, err
	}
	t0 := time.Now()
	res, rerr := eng.Run(ctx, sink)
	if rerr != nil && !errors.Is(rerr, context.Canceled) {
		return row, rerr
	}
	t1 := time.Now()
	m1, err := serverWrites(context.WithoutCancel(ctx), b.metrics)
	if err != nil {
		return row, err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := eng.Cleanup(cctx); err != nil {
		return row, err
	}
	if rerr != nil {
		return row, rerr
	}
	row.objects = int(res.Objects)
	row.delivery, row.verdict = res.Delivery, res.Verdict
	row.window, row.server = t1.Sub(t0), m1.sub(m0)
	row.notifyP99 = max(res.Notifications.Add.P99MS, res.Notifications.Update.P99MS, res.Notifications.Delete.P99MS)
	return row, nil
}

// kubeBurnerFlood runs mode api's flood as kube-burner ran it: n ConfigMaps in iterations of floodReplicas at QPS
// qps, burst 2 x qps, the iterations spread over n/qps.
func (b *bench) kubeBurnerFlood(ctx context.Context, qps float64, n int) (floodRow, error) {
	row := floodRow{who: "kube-burner (child process)", objects: n, clientOK: -1}
	iterations := n / floodReplicas
	window := time.Duration(float64(n) / qps * float64(time.Second))
	job := stress.Job{
		Name: "bench-flood", Namespace: b.ns, Iterations: iterations, QPS: float32(qps), Burst: int(2 * qps),
		IterationDelay: window / time.Duration(iterations), NamespaceLabels: cluster.Labels(b.runID, "bench"),
		Objects: []stress.Object{{Template: filepath.Join(b.tmplDir, "flood-configmap.yaml"), Replicas: floodReplicas,
			Vars: map[string]any{"payload": strings.Repeat("x", b.o.size)}}},
	}
	spec, err := stress.NewSpec(stress.SpecOptions{UUID: b.runID + "-flood", RunID: b.runID, Timeout: window + 2*time.Minute,
		RequestTimeout: churn.DefaultRequestTimeout, MaxWaitTimeout: time.Minute}, []stress.Job{job})
	if err != nil {
		return row, err
	}
	logf("kube-burner flood: %d ConfigMaps at QPS %v (burst %d)", n, qps, job.Burst)
	err = b.timedFlood(ctx, &row, benchLabel+"=kube-burner", func(ctx context.Context) error {
		res, err := b.burner.Run(ctx, spec)
		if err != nil && res.LastError != "" {
			err = fmt.Errorf("%w (last error: %s)", err, res.LastError)
		}
		return err
	})
	return row, err
}

// engineFlood runs the engine in the flood shape: n ConfigMaps created at qps (uniform arrivals), kept until the
// cleanup.
func (b *bench) engineFlood(ctx context.Context, qps float64, n int) (floodRow, error) {
	row := floodRow{who: "churn engine (in process)", objects: n}
	b.seq++
	labels := map[string]string{benchLabel: "engine"}
	for k, v := range b.labels {
		labels[k] = v
	}
	eng, err := churn.New(churn.Config{Namespace: b.ns, Rate: qps, Arrival: churn.Uniform, Size: b.o.size, Count: n,
		Labels: labels, NamePrefix: fmt.Sprintf("pyrometer-flood-%d", b.seq), Phase: "flood"}, b.writes, b.watches, nil)
	if err != nil {
		return row, err
	}
	var mu sync.Mutex
	logf("engine flood: %d ConfigMaps at %v/s", n, qps)
	err = b.timedFlood(ctx, &row, benchLabel+"=engine", func(ctx context.Context) error {
		_, err := eng.Run(ctx, func(s churn.Sample) {
			if s.Error == "" && !s.Notification() {
				mu.Lock()
				row.clientOK++
				mu.Unlock()
			}
		})
		return err
	})
	return row, err
}

// timedFlood runs flood between two /metrics snapshots while a watch on selector times the creations, then
// deletes the flood's objects.
func (b *bench) timedFlood(ctx context.Context, row *floodRow, selector string, flood func(context.Context) error) error {
	cms := b.client.CoreV1().ConfigMaps(b.ns)
	sel := selector + "," + cluster.Selector(b.runID)
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("failed to list the flood's ConfigMaps: %w", err)
	}
	// The watch is re-opened from its last resourceVersion whenever the server ends it or answers with an error
	// (a loaded apiserver's watch cache may answer "too large resource version" for a while).
	var first, last time.Time // written by the watch goroutine, read after watchDone
	var added atomic.Int64
	wctx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	watchDone := make(chan error, 1)
	opened := make(chan error, 1)
	go func() {
		rv := list.ResourceVersion
		failures := 0
		for firstWatch := true; wctx.Err() == nil; firstWatch = false {
			w, err := cms.Watch(wctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: rv, AllowWatchBookmarks: true})
			if firstWatch {
				opened <- err
				if err != nil {
					watchDone <- nil
					return
				}
			}
			if err != nil {
				if failures++; failures > 50 {
					watchDone <- fmt.Errorf("the watch timing the flood failed: %w", err)
					return
				}
				sleep(wctx, 100*time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				switch ev.Type {
				case watch.Added:
					now := time.Now()
					if added.Load() == 0 {
						first = now
					}
					last = now
					added.Add(1)
				case watch.Error:
					failures++
					continue
				}
				if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
					rv = m.GetResourceVersion()
				}
			}
			w.Stop()
			sleep(wctx, 50*time.Millisecond)
			if failures > 50 {
				watchDone <- errors.New("the watch timing the flood failed more than 50 times")
				return
			}
		}
		watchDone <- nil
	}()
	if err := <-opened; err != nil {
		return fmt.Errorf("failed to watch the flood's ConfigMaps: %w", err)
	}
	m0, err := serverWrites(ctx, b.metrics)
	if err != nil {
		stopWatch()
		<-watchDone
		return err
	}
	t0 := time.Now()
	ferr := flood(ctx)
	row.wall = time.Since(t0)
	// The last creations' events may still be on the way: wait until the watch saw every object a (quorum) list
	// finds, or 5 s.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if n, _ := cms.List(context.WithoutCancel(ctx), metav1.ListOptions{LabelSelector: sel}); n != nil && int64(len(n.Items)) <= added.Load() {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	row.window = time.Since(t0)
	m1, merr := serverWrites(context.WithoutCancel(ctx), b.metrics)
	stopWatch()
	werr := <-watchDone
	row.created, row.createdS = int(added.Load()), last.Sub(first).Seconds()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := churn.Cleanup(cctx, b.client, churn.ConfigMap, b.ns, sel); err != nil {
		return err
	}
	if err := errors.Join(ferr, merr, werr); err != nil {
		return fmt.Errorf("%s flood: %w", row.who, err)
	}
	row.server = m1.sub(m0)
	return nil
}

// writeCount is the apiserver's count of configmap writes (apiserver_request_total).
type writeCount struct {
	post, patch, del float64 // every answer
	ok               float64 // of those, answered 2xx
}

func (w writeCount) total() float64 { return w.post + w.patch + w.del }

func (w writeCount) sub(v writeCount) writeCount {
	return writeCount{post: w.post - v.post, patch: w.patch - v.patch, del: w.del - v.del, ok: w.ok - v.ok}
}

var (
	requestTotal = regexp.MustCompile(`^apiserver_request_total\{(.*)\}\s+(\S+)`)
	labelPair    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// serverWrites reads the apiserver's apiserver_request_total for verbs POST, PATCH, DELETE on configmaps.
func serverWrites(ctx context.Context, rc rest.Interface) (writeCount, error) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body, err := rc.Get().AbsPath("/metrics").SetHeader("Accept", "text/plain;version=0.0.4").Stream(rctx)
	if err != nil {
		return writeCount{}, fmt.Errorf("failed to get /metrics: %w", err)
	}
	defer func() { _ = body.Close() }()
	return parseWrites(body)
}

// parseWrites sums apiserver_request_total of verbs POST, PATCH and DELETE on configmaps (no subresource, no dry
// run) in a /metrics text.
func parseWrites(r io.Reader) (writeCount, error) {
	var c writeCount
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := requestTotal.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		found = true
		l := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[1], -1) {
			l[p[1]] = p[2]
		}
		if l["resource"] != "configmaps" || l["subresource"] != "" || l["dry_run"] != "" {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		switch l["verb"] {
		case "POST":
			c.post += v
		case "PATCH":
			c.patch += v
		case "DELETE":
			c.del += v
		default:
			continue
		}
		if strings.HasPrefix(l["code"], "2") {
			c.ok += v
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("failed to read /metrics: %w", err)
	}
	if !found {
		return c, errors.New("no apiserver_request_total in /metrics")
	}
	return c, nil
}

func (b *bench) print(out io.Writer, rows []churnRow, best *churnRow, boundNote string, floodQPS float64, floods []floodRow) {
	if len(rows) == 0 {
		fmt.Fprintln(out, "no step ran:", boundNote)
		return
	}
	host, _ := os.Hostname()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(out, "machine: %s, %d usable cores, load avg %s; server %s\n", host, rows[0].delivery.CPUUsable,
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "), b.cfg.Host)
	fmt.Fprintf(out, "churn: Poisson arrivals, lifetime %s, %d update(s), %d-byte ConfigMaps, 1 watch; a step passes at delivered/requested >= %.2f\n\n",
		b.o.lifetime, b.o.updates, b.o.size, churn.DeliveredRatio)
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b churnRow) int { return cmp.Compare(a.rate, b.rate) })
	hdr := []string{"RATE obj/s", "REQ writes/s", "DELIVERED/s", "RATIO", "WRITE p50 ms", "p99 ms", "ENGINE OK/s", "SERVER writes/s", "ENGINE OK", "SERVER 2xx", "ENGINE/SERVER", "VERDICT"}
	var tbl [][]string
	for _, r := range rows {
		verdict := "delivered"
		if !r.verdict.Delivered {
			verdict = "load not delivered: " + r.verdict.Limit
		}
		tbl = append(tbl, []string{
			fmt.Sprintf("%g", r.rate), fmt.Sprintf("%.1f", r.delivery.RequestedRate), fmt.Sprintf("%.1f", r.delivery.DeliveredRate),
			fmt.Sprintf("%.3f", r.delivery.Ratio), fmt.Sprintf("%.1f", r.delivery.LatencyP50MS), fmt.Sprintf("%.1f", r.delivery.LatencyP99MS),
			fmt.Sprintf("%.1f", float64(r.engineOK)/r.window.Seconds()), fmt.Sprintf("%.1f", r.server.total()/r.window.Seconds()), fmt.Sprint(r.engineOK), fmt.Sprintf("%.0f", r.server.ok),
			ratio(float64(r.engineOK), r.server.ok), verdict,
		})
	}
	table(out, hdr, tbl)
	fmt.Fprintln(out)
	var notDelivered *churnRow
	for i := range rows {
		if !rows[i].verdict.Delivered && (notDelivered == nil || rows[i].rate < notDelivered.rate) {
			notDelivered = &rows[i]
		}
	}
	if best != nil {
		fmt.Fprintf(out, "highest rate sustained: %g objects/s = %.1f writes/s requested, %.1f delivered (ratio %.3f)\n",
			best.rate, best.delivery.RequestedRate, best.delivery.DeliveredRate, best.delivery.Ratio)
	} else {
		fmt.Fprintf(out, "no rate sustained: the first step (%g objects/s) was not delivered\n", rows[0].rate)
	}
	if notDelivered != nil {
		fmt.Fprintf(out, "lowest rate not sustained: %g objects/s: %s\n", notDelivered.rate, notDelivered.verdict)
	}
	if boundNote != "" {
		fmt.Fprintln(out, boundNote)
	}
	if len(floods) > 0 {
		fmt.Fprintf(out, "\nFLOOD at the highest sustained request rate: %d ConfigMaps at QPS %g (creates only; delivered = created/s, first to last creation as one watch saw them)\n",
			floods[0].objects, floodQPS)
		hdr := []string{"CLIENT", "OBJECTS", "CREATED", "CREATE PHASE s", "DELIVERED/s", "DELIVERED/QPS", "RUN WALL s", "SERVER POST", "SERVER 2xx", "CLIENT/SERVER"}
		var tbl [][]string
		for _, f := range floods {
			cs := "-"
			if f.clientOK >= 0 {
				cs = ratio(float64(f.clientOK), f.server.ok)
			}
			tbl = append(tbl, []string{f.who, fmt.Sprint(f.objects), fmt.Sprint(f.created), fmt.Sprintf("%.2f", f.createdS),
				fmt.Sprintf("%.1f", f.rate()), fmt.Sprintf("%.3f", f.rate()/floodQPS), fmt.Sprintf("%.2f", f.wall.Seconds()),
				fmt.Sprintf("%.0f", f.server.post), fmt.Sprintf("%.0f", f.server.ok), cs})
		}
		table(out, hdr, tbl)
		if kb := floods[0].rate(); kb > 0 {
			fmt.Fprintf(out, "\nchurn/kube-burner: engine flood %.1f/s / kube-burner %.1f/s = %.2f; churn step %.1f writes/s delivered / kube-burner %.1f/s = %.2f\n",
				floods[1].rate(), kb, floods[1].rate()/kb, best.delivery.DeliveredRate, kb, best.delivery.DeliveredRate/kb)
		}
	}
	fmt.Fprintln(out, "\nnotes: DELIVERED/s and RATIO are the engine's delivery proof over the arrival span (writes due in it and answered")
	fmt.Fprintln(out, "with success by its end + 1 s). SERVER = apiserver_request_total for POST/PATCH/DELETE on configmaps, delta of")
	fmt.Fprintln(out, "/metrics over each run (every client's writes: nothing subtracted; SERVER 2xx: those answered with success);")
	fmt.Fprintln(out, "ENGINE OK = the writes the engine saw answered with success; /s columns divide by the same snapshot-to-snapshot")
	fmt.Fprintln(out, "wall time (the arrival span plus the last objects' lifetime).")
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", a/b)
}

func table(out io.Writer, hdr []string, rows [][]string) {
	w := make([]int, len(hdr))
	for _, r := range append([][]string{hdr}, rows...) {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	for _, r := range append([][]string{hdr}, rows...) {
		var sb strings.Builder
		for i, c := range r {
			if i > 0 {
				sb.WriteString("  ")
			}
			if i == 0 || i == len(r)-1 {
				fmt.Fprintf(&sb, "%-*s", w[i], c)
			} else {
				fmt.Fprintf(&sb, "%*s", w[i], c)
			}
		}
		fmt.Fprintln(out, strings.TrimRight(sb.String(), " "))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[bench-churn %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}
