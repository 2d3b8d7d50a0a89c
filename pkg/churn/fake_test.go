package churn

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func testLabels() map[string]string { return cluster.Labels("r1", "") }

func testConfig() Config {
	return Config{
		Namespace: "churn-ns", Rate: 10, Arrival: Uniform, Labels: testLabels(), NamePrefix: "pyrometer-churn-r1",
		ID: "e1", Seed: 1, RequestTimeout: 100 * time.Second,
	}
}

// call is one request the fake server received.
type call struct {
	verb, name string
	at         time.Time // on the engine's clock
	real       time.Time
}

// fakeObjects is a logic fake of the objects a kind's client reaches: an in-memory store that broadcasts watch
// events, lets a test hold any request (hold returns a channel the request waits on, or nil to answer at once),
// and records every request. It does not serialise requests (the fake clientset holds one lock while its
// reactors run, which would).
type fakeObjects struct {
	clk  clock.Clock
	hold func(verb, name string) <-chan struct{}
	fail func(verb, name string) error // an error to answer instead (nil: none)
	// event may drop (false) or duplicate (2) the event of type typ for object name on watch w.
	event func(w int, typ watch.EventType, name string) int

	mu       sync.Mutex
	gens     map[string]int
	calls    []call
	watchers []*watch.FakeWatcher
	rv       int
}

func newFakeObjects(clk clock.Clock) *fakeObjects {
	return &fakeObjects{clk: clk, gens: map[string]int{}}
}

func (f *fakeObjects) record(ctx context.Context, verb, name string) error {
	f.mu.Lock()
	f.calls = append(f.calls, call{verb: verb, name: name, at: f.clk.Now(), real: time.Now()})
	f.mu.Unlock()
	if f.hold != nil {
		if ch := f.hold(verb, name); ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if f.fail != nil {
		return f.fail(verb, name)
	}
	return nil
}

func (f *fakeObjects) callsOf(verb string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if verb == "" || c.verb == verb {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeObjects) broadcast(typ watch.EventType, name string, gen int) {
	f.rv++
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: strconv.Itoa(f.rv),
		Annotations: map[string]string{GenAnnotation: strconv.Itoa(gen)}}}
	for i, w := range f.watchers {
		n := 1
		if f.event != nil {
			n = f.event(i, typ, name)
		}
		for range n {
			w.Action(typ, cm)
		}
	}
}

func (f *fakeObjects) create(ctx context.Context, meta metav1.ObjectMeta, _ []byte) error {
	if err := f.record(ctx, "create", meta.Name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.gens[meta.Name]; ok {
		return apierrors.NewAlreadyExists(schema.GroupResource{Resource: "configmaps"}, meta.Name)
	}
	f.gens[meta.Name] = 0
	f.broadcast(watch.Added, meta.Name, 0)
	return nil
}

func (f *fakeObjects) patch(ctx context.Context, name string, patch []byte) error {
	if err := f.record(ctx, "update", name); err != nil {
		return err
	}
	var p struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return err
	}
	gen, err := strconv.Atoi(p.Metadata.Annotations[GenAnnotation])
	if err != nil {
		return fmt.Errorf("patch without generation: %s", patch)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.gens[name]; !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
	}
	f.gens[name] = gen
	f.broadcast(watch.Modified, name, gen)
	return nil
}

func (f *fakeObjects) delete(ctx context.Context, name string) error {
	if err := f.record(ctx, "delete", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	gen, ok := f.gens[name]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
	}
	delete(f.gens, name)
	f.broadcast(watch.Deleted, name, gen)
	return nil
}

func (f *fakeObjects) list(context.Context, metav1.ListOptions) (string, []metav1.ObjectMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var items []metav1.ObjectMeta
	for name, gen := range f.gens {
		items = append(items, metav1.ObjectMeta{Name: name, Annotations: map[string]string{GenAnnotation: strconv.Itoa(gen)}})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return strconv.Itoa(f.rv), items, nil
}

func (f *fakeObjects) watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := watch.NewFakeWithChanSize(100000, false)
	f.watchers = append(f.watchers, w)
	return w, nil
}

func (f *fakeObjects) deleteCollection(context.Context, metav1.ListOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, gen := range f.gens {
		delete(f.gens, name)
		f.broadcast(watch.Deleted, name, gen)
	}
	return nil
}

func (f *fakeObjects) live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.gens)
}

// newTestEngine returns an engine on fake objects.
func newTestEngine(t *testing.T, cfg Config, clk clock.WithTicker, f *fakeObjects) *Engine {
	t.Helper()
	e, err := New(cfg, fake.NewClientset(), nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	e.objs, e.watchObj = f, f
	return e
}

// collector is a sink that may be read while the engine writes to it.
type collector struct {
	mu      sync.Mutex
	samples []Sample
}

func (c *collector) sink(s Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, s)
}

func (c *collector) of(row string) []Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Sample
	for _, s := range c.samples {
		if row == "" || s.Row == row {
			out = append(out, s)
		}
	}
	return out
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// eventually spins until cond holds, failing the test after 20s of real time (a hang, not a timing check).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func newBenchEngine(b *testing.B, cfg Config, f objects) *Engine {
	b.Helper()
	e, err := New(cfg, fake.NewClientset(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	e.objs, e.watchObj = f, f
	return e
}

// nopObjects answers every request at once and keeps nothing.
type nopObjects struct{}

func (nopObjects) create(context.Context, metav1.ObjectMeta, []byte) error { return nil }
func (nopObjects) patch(context.Context, string, []byte) error             { return nil }
func (nopObjects) delete(context.Context, string) error                    { return nil }
func (nopObjects) list(context.Context, metav1.ListOptions) (string, []metav1.ObjectMeta, error) {
	return "1", nil, nil
}
func (nopObjects) watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	return watch.NewFake(), nil
}
func (nopObjects) deleteCollection(context.Context, metav1.ListOptions) error { return nil }
