// Package churn is a native open-loop write-load engine: objects (ConfigMaps or Secrets) arrive at a rate, live a
// lifetime with updates spread over it, and are deleted, while watches in the same process time the notification
// of every write. It proves the load it was asked for was delivered (per window: requested, issued, completed,
// succeeded) and says which side, client or server, was the limit when it was not.
//
// The measurement contract:
//   - Open loop (Workers 0): object k's create is due at start + the k-th arrival offset (Poisson: exponential gaps
//     of mean 1/Rate from a seeded generator; uniform: (k-1)/Rate). Its updates are due at creation slot +
//     i*Lifetime/(Updates+1), its delete at creation slot + Lifetime. These intended times never move: a scheduler
//     that wakes late, a full in-flight cap or a slow server only delays the write's start, and the delay is its
//     LagMS (no coordinated omission). The writes of one object are ordered: a write due before the previous one of
//     the same object returned is sent as soon as it has returned.
//   - Closed loop (Workers W > 0): W sequential clients; worker w starts objects at its pace slots start +
//     (w + n*W)/Rate and runs each object's writes in turn, each at its slot or when the previous one returned,
//     whichever is later. A slow server slows the workers: the lag and the delivery ratio show by how much.
//   - Every write is a Sample; every write due counts as requested in the window of its intended time, even one
//     never sent because the run stopped first. A write is delivered when it was answered with success by the end
//     of the span being summarised plus one window (DeliveryGraceWindows); Delivery.Ratio is delivered/requested
//     and below DeliveredRatio the verdict is LoadNotDelivered, naming the client or the server as the limit.
//   - Notifications: each of Watchers watches (opened before the first write) matches every event to the write
//     that caused it (object name + GenAnnotation) and times it from that write's start, on this process's clock.
//   - Stop (or ctx cancel) stops sending within one scheduler wake-up (well under 1 s): no new write of any kind
//     starts after it. Writes in flight are not cancelled; each is bounded by RequestTimeout. Objects left are
//     removed by Cleanup, by label.
package churn

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Defaults applied by New to zero fields.
const (
	DefaultSize           = 2048
	DefaultMaxInFlight    = 500
	DefaultRequestTimeout = 10 * time.Second
	DefaultWindow         = time.Second
	DefaultNotifyGrace    = 5 * time.Second
	// IDLabel carries the engine's ID on every object it creates, beside Config.Labels; its watches select on it.
	IDLabel = "kubepyrometer.io/churn-id"
	// Component is the cluster.ComponentLabel value the engine adds to its objects.
	Component = "churn"
)

// Config configures an Engine. Zero values of Kind, Arrival, Size, MaxInFlight, RequestTimeout, Window, NotifyGrace,
// ID and Seed get defaults; every other zero means zero.
type Config struct {
	Namespace string // where the objects are created; it must exist
	Kind      Kind   // ConfigMap (default) or Secret
	// Rate is objects per second: the arrival rate of the open loop, the pace of the closed loop.
	Rate    float64
	Arrival Arrival // Poisson (default) or Uniform; open loop only
	// Lifetime is how long each object lives (its delete is due Lifetime after its create). 0 keeps the objects
	// (no delete) until Cleanup: the flood of mode api.
	Lifetime time.Duration
	Updates  int // patches per object, spread over its lifetime
	Size     int // payload bytes per object (default DefaultSize)
	// Duration bounds the arrivals to [start, start+Duration); the objects already created then finish their
	// lifecycle unless the engine is stopped. 0: arrivals go on until Stop or ctx is done.
	Duration time.Duration
	Count    int // at most Count objects (0: no limit)
	// Workers > 0 selects the closed loop with that many sequential clients.
	Workers int
	// Watchers is the number of independent watches timing notifications (0: none).
	Watchers int
	// MaxInFlight caps the writes in flight at once (open loop; default DefaultMaxInFlight). A write due while
	// the cap is full waits for a slot: its lag grows and Window.CapWaits counts it.
	MaxInFlight    int
	RequestTimeout time.Duration // per write (default DefaultRequestTimeout)
	Window         time.Duration // delivery window (default DefaultWindow)
	// NotifyGrace bounds how long Wait waits, after the last write, for notifications still owed
	// (default DefaultNotifyGrace). Wait returns as soon as none is owed.
	NotifyGrace time.Duration
	// Labels go on every object; they must include cluster.ManagedByLabel=cluster.ManagedBy and cluster.RunIDLabel.
	Labels map[string]string
	// NamePrefix prefixes object names: <NamePrefix>-<seq>. It must be unique per Engine in the namespace.
	NamePrefix string
	ID         string // IDLabel value (default: 8 random hex characters)
	Seed       uint64 // seed of the Poisson arrivals (default: random); equal seeds give equal schedules
	Phase      string // copied into every Sample
}

// Engine runs one churn load. Start (or Run) once; Stop at any time; Wait once after Start.
type Engine struct {
	cfg      Config
	client   kubernetes.Interface
	objs     objects
	watchObj objects
	clk      clock.WithTicker
	selector string
	payload  []byte
	steps    []time.Duration

	mu       sync.Mutex
	started  bool
	start    time.Time
	stopAt   time.Time
	spanEnd  time.Time // end of the delivery span when the arrivals ended by themselves
	events   eventHeap
	pending  int // objects whose lifecycle is not finished
	objects  atomic.Int64
	rejected atomic.Int64

	stopCh    chan struct{}
	stopOnce  sync.Once
	wake      chan struct{}
	schedDone chan struct{}
	inFlight  sync.WaitGroup
	sem       chan struct{}
	reqCtx    context.Context

	ledger   *ledger
	tracker  *tracker
	watchers []*watcher
	samples  chan Sample
	sinkDone chan struct{}
	plNames  map[string]string
	cpu0     time.Duration
	waited   bool
}

// NewClients builds the engine's clients from base: one for the writes and one for the watches, each from
// probe.DedicatedConfig (no client-side rate limiter: the engine is the limiter; its own connections, never shared
// with other clients of the process; responses recorded for Sample.Status and Retries).
func NewClients(base *rest.Config) (writes, watches kubernetes.Interface, err error) {
	if writes, err = kubernetes.NewForConfig(probe.DedicatedConfig(base)); err != nil {
		return nil, nil, fmt.Errorf("failed to build the churn client: %w", err)
	}
	if watches, err = kubernetes.NewForConfig(probe.DedicatedConfig(base)); err != nil {
		return nil, nil, fmt.Errorf("failed to build the churn watch client: %w", err)
	}
	return writes, watches, nil
}

// New validates cfg and returns an Engine writing with client and watching with watchClient (client when nil),
// both normally from NewClients. A nil clk means the real clock. Errors name the setting and what is allowed.
func New(cfg Config, client, watchClient kubernetes.Interface, clk clock.WithTicker) (*Engine, error) {
	if client == nil {
		return nil, errors.New("churn needs a Kubernetes client")
	}
	if watchClient == nil {
		watchClient = client
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sel := maps.Clone(cfg.Labels)
	sel[IDLabel] = cfg.ID
	sel[cluster.ComponentLabel] = Component
	cfg.Labels = sel
	return &Engine{
		cfg: cfg, client: client, clk: clk,
		objs:     objectsFor(client, cfg.Kind, cfg.Namespace),
		watchObj: objectsFor(watchClient, cfg.Kind, cfg.Namespace),
		selector: labels.SelectorFromSet(sel).String(),
		payload:  payload(cfg.Size),
		steps:    lifecycle(cfg.Lifetime, cfg.Updates),
		stopCh:   make(chan struct{}),
		wake:     make(chan struct{}, 1),
		sem:      make(chan struct{}, cfg.MaxInFlight),
		plNames:  map[string]string{},
	}, nil
}

func (c *Config) defaults() {
	if c.Kind == "" {
		c.Kind = ConfigMap
	}
	if c.Arrival == "" {
		c.Arrival = Poisson
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.NotifyGrace == 0 {
		c.NotifyGrace = DefaultNotifyGrace
	}
	if c.ID == "" {
		c.ID = randomHex(4)
	}
	for c.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.Seed = binary.LittleEndian.Uint64(b[:])
	}
}

func (c *Config) validate() error {
	switch {
	case c.Namespace == "":
		return errors.New("churn needs a namespace")
	case !slices.Contains(Kinds, c.Kind):
		return fmt.Errorf("invalid churn kind %q: allowed values are %s", c.Kind, join(Kinds))
	case !slices.Contains(Arrivals, c.Arrival):
		return fmt.Errorf("invalid churn arrival %q: allowed values are %s", c.Arrival, join(Arrivals))
	case !(c.Rate > 0) || c.Rate > 1e6:
		return fmt.Errorf("invalid churn rate %v: must be a number of objects per second above 0 (at most 1000000)", c.Rate)
	case c.Lifetime < 0:
		return fmt.Errorf("invalid churn lifetime %s: must be 0 (keep the objects) or positive", c.Lifetime)
	case c.Updates < 0:
		return fmt.Errorf("invalid churn updates %d: must be 0 or more", c.Updates)
	case c.Size < 0 || c.Size > 512*1024:
		return fmt.Errorf("invalid churn size %d: must be between 0 and 524288 bytes", c.Size)
	case c.Duration < 0:
		return fmt.Errorf("invalid churn duration %s: must be 0 (until stopped) or positive", c.Duration)
	case c.Count < 0:
		return fmt.Errorf("invalid churn count %d: must be 0 (no limit) or positive", c.Count)
	case c.Workers < 0:
		return fmt.Errorf("invalid churn workers %d: must be 0 (open loop) or positive (closed loop)", c.Workers)
	case c.Watchers < 0 || c.Watchers > 100:
		return fmt.Errorf("invalid churn watchers %d: must be between 0 and 100", c.Watchers)
	case c.MaxInFlight < 0:
		return fmt.Errorf("invalid churn in-flight cap %d: must be positive", c.MaxInFlight)
	case c.RequestTimeout < 0 || c.Window < 0 || c.NotifyGrace < 0:
		return errors.New("churn request timeout, window and notify grace must be positive")
	}
	if c.Workers > 0 && c.Lifetime > 0 {
		// A worker spends at least Lifetime on each object and must start one every Workers/Rate.
		if need := int(c.Rate*c.Lifetime.Seconds() + 0.999999); need > c.Workers {
			return fmt.Errorf("invalid churn workers %d: a closed loop at %v objects/s with lifetime %s needs at least %d workers", c.Workers, c.Rate, c.Lifetime, need)
		}
	}
	if c.Labels[cluster.ManagedByLabel] != cluster.ManagedBy || c.Labels[cluster.RunIDLabel] == "" {
		return fmt.Errorf("churn labels must include %s=%s and %s", cluster.ManagedByLabel, cluster.ManagedBy, cluster.RunIDLabel)
	}
	for k, v := range c.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("invalid churn label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("invalid churn label value %q for %q: %s", v, k, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsValidLabelValue(c.ID); len(errs) > 0 || c.ID == "" {
		return fmt.Errorf("invalid churn id %q: must be a label value", c.ID)
	}
	if errs := validation.IsDNS1123Subdomain(c.NamePrefix + "-9999999999"); c.NamePrefix == "" || len(errs) > 0 {
		return fmt.Errorf("invalid churn name prefix %q: it must be a short DNS subdomain prefix", c.NamePrefix)
	}
	return nil
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// payload is size printable bytes.
func payload(size int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, size)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return b
}

// Selector selects the engine's objects: Config.Labels plus its IDLabel and component.
func (e *Engine) Selector() string { return e.selector }

// Config is the configuration with its defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// ExpectedPopulation is Little's law for the open loop, Rate * Lifetime: the mean number of live objects once the
// first Lifetime has passed.
func (e *Engine) ExpectedPopulation() float64 { return expectedPopulation(e.cfg.Rate, e.cfg.Lifetime) }

// Start opens the watches (each lists, then watches from the list's resourceVersion, so every create is seen), then
// starts the load and returns. Every sample goes to sink, one call at a time from one goroutine; a sink slower than
// the samples arrive blocks the writers once 4096 samples are queued (memory stays bounded). Cancelling ctx is
// Stop. Wait must be called after a successful Start. An error means nothing was written.
func (e *Engine) Start(ctx context.Context, sink func(Sample)) error {
	if sink == nil {
		return errors.New("churn needs a sample sink")
	}
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("churn engine already started")
	}
	e.started = true
	e.mu.Unlock()

	e.resolvePriorityLevels(ctx)
	if e.cfg.Watchers > 0 {
		e.tracker = newTracker(e.cfg.Watchers)
	}
	e.samples = make(chan Sample, 4096)
	e.sinkDone = make(chan struct{})
	go func() {
		defer close(e.sinkDone)
		for s := range e.samples {
			sink(s)
		}
	}()
	for i := range e.cfg.Watchers {
		w := &watcher{idx: i, objs: e.watchObj, selector: e.selector, timeout: e.cfg.RequestTimeout, clk: e.clk, tr: e.tracker, emit: e.emit}
		if err := w.start(ctx); err != nil {
			for _, o := range e.watchers {
				o.stop()
			}
			close(e.samples)
			<-e.sinkDone
			return err
		}
		e.watchers = append(e.watchers, w)
	}
	if ctx.Err() != nil {
		for _, o := range e.watchers {
			o.stop()
		}
		close(e.samples)
		<-e.sinkDone
		return ctx.Err()
	}

	e.reqCtx = context.WithoutCancel(ctx)
	e.cpu0 = cpuTime()
	e.mu.Lock()
	e.start = e.clk.Now()
	e.mu.Unlock()
	inFlightCap := e.cfg.MaxInFlight
	if e.cfg.Workers > 0 {
		inFlightCap = 0
	}
	e.ledger = newLedger(e.start, e.cfg.Window, inFlightCap)
	e.schedDone = make(chan struct{})
	if e.cfg.Workers > 0 {
		go e.closedLoop()
	} else {
		go e.openLoop()
	}
	go func() {
		select {
		case <-ctx.Done():
			e.Stop()
		case <-e.schedDone:
		}
	}()
	return nil
}

// Run is Start then Wait.
func (e *Engine) Run(ctx context.Context, sink func(Sample)) (Result, error) {
	if err := e.Start(ctx, sink); err != nil {
		return Result{}, err
	}
	return e.Wait()
}

// Stop stops sending: no write starts after Stop returns (a scheduler or worker between its check and its send
// finishes that one send, within microseconds). Writes in flight finish or time out. Safe to call at any time, more
// than once, and before Start.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		e.stopAt = e.clk.Now()
		e.mu.Unlock()
		close(e.stopCh)
	})
}

func (e *Engine) stopped() bool {
	select {
	case <-e.stopCh:
		return true
	default:
		return false
	}
}

// Result is the outcome of a run.
type Result struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // when the last write returned
	// Delivery covers the arrival span: [Start, Start+Duration), or until Stop, or until the last arrival of Count
	// (plus one window).
	Delivery      Delivery      `json:"delivery"`
	Verdict       Verdict       `json:"verdict"`
	Windows       []Window      `json:"windows"`
	Notifications Notifications `json:"notifications"`
	Objects       int64         `json:"objects"`  // objects created (successful creates)
	Rejected      int64         `json:"rejected"` // creates the server rejected (4xx but 409): those never existed
	Stopped       bool          `json:"stopped"`  // ended by Stop or ctx, not by Duration or Count
}

// Wait waits until the load has ended (Duration or Count reached and every lifecycle finished, or Stop) and every
// write in flight has returned, then up to NotifyGrace for the notifications still owed, stops the watches and
// returns the result. The error is set when the engine was stopped (context.Canceled) or not started.
func (e *Engine) Wait() (Result, error) {
	e.mu.Lock()
	if !e.started || e.schedDone == nil {
		e.mu.Unlock()
		return Result{}, errors.New("churn engine not started")
	}
	if e.waited {
		e.mu.Unlock()
		return Result{}, errors.New("churn engine already waited for")
	}
	e.waited = true
	e.mu.Unlock()

	<-e.schedDone
	e.inFlight.Wait()
	end := e.clk.Now()
	if len(e.watchers) > 0 {
		deadline := end.Add(e.cfg.NotifyGrace)
		for e.tracker.outstanding() > 0 && e.clk.Now().Before(deadline) {
			t := e.clk.NewTimer(20 * time.Millisecond)
			<-t.C()
		}
		for _, w := range e.watchers {
			w.stop()
		}
	}
	notes := e.tracker.finish()
	close(e.samples)
	<-e.sinkDone

	r := Result{Start: e.start, End: end, Notifications: notes, Objects: e.objects.Load(), Rejected: e.rejected.Load(), Stopped: e.stopped()}
	r.Delivery = e.Delivery(e.start, e.spanEndTime())
	r.Verdict = r.Delivery.Verdict()
	r.Windows = e.ledger.snapshot()
	var err error
	if r.Stopped {
		err = context.Canceled
	}
	return r, err
}

func (e *Engine) spanEndTime() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.stopAt.IsZero() && (e.spanEnd.IsZero() || e.stopAt.Before(e.spanEnd)):
		return e.stopAt
	case !e.spanEnd.IsZero():
		return e.spanEnd
	default:
		return e.clk.Now()
	}
}

// Delivery summarises the windows that start in [from, to), e.g. one ramp step; the CPU fields cover the engine's
// run so far.
func (e *Engine) Delivery(from, to time.Time) Delivery {
	if e.ledger == nil {
		return Delivery{From: from, To: to, Ratio: 1}
	}
	d := e.ledger.summary(from, to)
	if wall := e.clk.Since(e.start); wall > 0 {
		if c := cpuTime(); c > 0 {
			d.CPUCores = (c - e.cpu0).Seconds() / wall.Seconds()
		}
	}
	d.CPUUsable = runtime.GOMAXPROCS(0)
	return d
}

// Windows returns the delivery windows so far.
func (e *Engine) Windows() []Window {
	if e.ledger == nil {
		return nil
	}
	return e.ledger.snapshot()
}

// Notifications returns the notification counts so far (objects not yet settled are not counted).
func (e *Engine) Notifications() Notifications {
	if e.tracker == nil {
		return Notifications{}
	}
	return e.tracker.summary()
}

// Live is the number of objects the engine's successful creates and deletes say exist now.
func (e *Engine) Live() int {
	if e.ledger == nil {
		return 0
	}
	e.ledger.mu.Lock()
	defer e.ledger.mu.Unlock()
	return e.ledger.live
}

func (e *Engine) emit(s Sample) {
	s.Phase = e.cfg.Phase
	e.samples <- s
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// sleepUntil waits on the clock until t; false when stopped first.
func (e *Engine) sleepUntil(t time.Time) bool {
	if e.stopped() {
		return false
	}
	wait := t.Sub(e.clk.Now())
	if wait <= 0 {
		return true
	}
	timer := e.clk.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-e.stopCh:
		return false
	case <-timer.C():
		return !e.stopped()
	}
}

// object is one churned object.
type object struct {
	seq  int64
	name string
	born time.Time // intended time of its create
}

// event is the next write of an object, due at due (its intended time).
type event struct {
	due  time.Time
	obj  *object
	step int // index into Engine.steps
}

type eventHeap []event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (e *Engine) arrivalAllowed(due time.Time, n int64) bool {
	if e.cfg.Duration > 0 && !due.Before(e.start.Add(e.cfg.Duration)) {
		return false
	}
	return e.cfg.Count == 0 || n < int64(e.cfg.Count)
}

// openLoop is the open-loop scheduler: one goroutine that sends every write at its intended time, each in its own
// goroutine, taking the earlier of the next arrival and the earliest pending object write.
func (e *Engine) openLoop() {
	defer close(e.schedDone)
	arr := newArrivals(e.cfg.Arrival, e.cfg.Rate, e.cfg.Seed)
	var n int64 // arrivals made
	next := e.start.Add(arr.next())
	open := e.arrivalAllowed(next, n)
	var lastArrival time.Time
	for {
		e.mu.Lock()
		var ev event
		isArrival, have := false, false
		if open && (len(e.events) == 0 || !e.events[0].due.Before(next)) {
			isArrival, have, ev.due = true, true, next
		} else if len(e.events) > 0 {
			ev, have = e.events[0], true
		}
		if !have && !open && e.pending == 0 {
			e.markSpanEnd(lastArrival)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()

		if !have {
			select {
			case <-e.stopCh:
				e.drainRequested(arr, next, open, n)
				return
			case <-e.wake:
			}
			continue
		}
		if wait := ev.due.Sub(e.clk.Now()); wait > 0 {
			timer := e.clk.NewTimer(wait)
			select {
			case <-e.stopCh:
				timer.Stop()
				e.drainRequested(arr, next, open, n)
				return
			case <-e.wake:
				timer.Stop()
				continue // an earlier write may have been queued
			case <-timer.C():
			}
		}
		if e.stopped() {
			e.drainRequested(arr, next, open, n)
			return
		}
		if isArrival {
			n++
			lastArrival = next
			o := &object{seq: n, name: fmt.Sprintf("%s-%d", e.cfg.NamePrefix, n), born: next}
			e.mu.Lock()
			e.pending++
			e.mu.Unlock()
			next = e.start.Add(arr.next())
			open = e.arrivalAllowed(next, n)
			ev = event{due: o.born, obj: o}
		} else {
			// The earliest event now: an event queued since the peek is due no later than the one peeked.
			e.mu.Lock()
			ev = heap.Pop(&e.events).(event)
			e.mu.Unlock()
		}
		e.ledger.requested(ev.due)
		if !e.acquire(ev.due) {
			e.finishObject()
			e.drainRequested(arr, next, open, n)
			return
		}
		e.inFlight.Add(1)
		go func() {
			defer e.inFlight.Done()
			ok := e.do(ev.obj, ev.step, ev.due, func() { <-e.sem })
			e.mu.Lock()
			if ok && ev.step+1 < len(e.steps) {
				next := event{due: ev.obj.born.Add(e.steps[ev.step+1]), obj: ev.obj, step: ev.step + 1}
				if e.stopped() {
					// The scheduler has stopped (and counted what was queued): count this write here.
					if next.due.Before(e.stopAt) {
						e.ledger.requested(next.due)
					}
					e.pending--
				} else {
					heap.Push(&e.events, next)
				}
			} else {
				e.pending--
			}
			e.mu.Unlock()
			e.signal()
		}()
	}
}

func (e *Engine) finishObject() {
	e.mu.Lock()
	e.pending--
	e.mu.Unlock()
}

// markSpanEnd records where the delivery span ends when the arrivals end by themselves. Call with mu held.
func (e *Engine) markSpanEnd(lastArrival time.Time) {
	if e.cfg.Duration > 0 {
		e.spanEnd = e.start.Add(e.cfg.Duration)
		return
	}
	e.spanEnd = lastArrival.Add(e.cfg.Window)
}

// acquire takes an in-flight slot for a write due at due, counting a wait; false when stopped first.
func (e *Engine) acquire(due time.Time) bool {
	select {
	case e.sem <- struct{}{}:
		return true
	default:
	}
	e.ledger.capWait(due)
	select {
	case e.sem <- struct{}{}:
		if e.stopped() {
			<-e.sem
			return false
		}
		return true
	case <-e.stopCh:
		return false
	}
}

// drainRequested counts as requested every write due before the stop that was never sent: the pending object
// writes and the arrivals, so that a client that fell behind shows in the delivery ratio.
func (e *Engine) drainRequested(arr *arrivals, next time.Time, open bool, n int64) {
	e.mu.Lock()
	stopAt := e.stopAt
	for _, ev := range e.events {
		if ev.due.Before(stopAt) {
			e.ledger.requested(ev.due)
		}
	}
	e.events = nil
	e.mu.Unlock()
	for open && next.Before(stopAt) {
		e.ledger.requested(next)
		n++
		next = e.start.Add(arr.next())
		open = e.arrivalAllowed(next, n)
	}
}

// closedLoop runs the workers.
func (e *Engine) closedLoop() {
	defer close(e.schedDone)
	var seq atomic.Int64
	var wg sync.WaitGroup
	w := e.cfg.Workers
	period := float64(w) / e.cfg.Rate
	lastSlot := make([]time.Time, w)
	for i := range w {
		wg.Go(func() {
			for k := 0; ; k++ {
				slot := e.start.Add(secondsToDuration((float64(i)/e.cfg.Rate + float64(k)*period)))
				if e.cfg.Duration > 0 && !slot.Before(e.start.Add(e.cfg.Duration)) {
					return
				}
				if !e.sleepUntil(slot) {
					e.countMissedSlots(slot, period)
					return
				}
				n := seq.Add(1)
				if e.cfg.Count > 0 && n > int64(e.cfg.Count) {
					return
				}
				lastSlot[i] = slot
				o := &object{seq: n, name: fmt.Sprintf("%s-%d", e.cfg.NamePrefix, n), born: slot}
				for step, off := range e.steps {
					due := slot.Add(off)
					if step > 0 && !e.sleepUntil(due) {
						e.countMissedSlots(slot.Add(secondsToDuration(period)), period)
						return
					}
					e.ledger.requested(due)
					if e.stopped() {
						return
					}
					e.inFlight.Add(1)
					ok := e.do(o, step, due, func() {})
					e.inFlight.Done()
					if !ok {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	e.mu.Lock()
	var last time.Time
	for _, t := range lastSlot {
		if t.After(last) {
			last = t
		}
	}
	e.markSpanEnd(last)
	e.mu.Unlock()
}

// countMissedSlots counts as requested a stopped worker's creates due from slot to the stop.
func (e *Engine) countMissedSlots(slot time.Time, period float64) {
	e.mu.Lock()
	stopAt := e.stopAt
	e.mu.Unlock()
	for t := slot; t.Before(stopAt); t = t.Add(secondsToDuration(period)) {
		if e.cfg.Duration > 0 && !t.Before(e.start.Add(e.cfg.Duration)) {
			return
		}
		e.ledger.requested(t)
	}
}

// do sends write step of o, due at intended, records it everywhere and calls release as soon as it returned. It
// reports whether the object's lifecycle goes on.
func (e *Engine) do(o *object, step int, intended time.Time, release func()) bool {
	last := step == len(e.steps)-1
	var verb, row string
	var typ EventType
	gen := 0
	switch {
	case step == 0:
		verb, row, typ = "create", RowCreate, EventAdd
	case e.cfg.Lifetime > 0 && last:
		verb, row, typ = "delete", RowDelete, EventDelete
	default:
		verb, row, typ, gen = "update", RowUpdate, EventUpdate, step
	}
	ctx, cancel := context.WithTimeout(e.reqCtx, e.cfg.RequestTimeout)
	ctx, got := probe.Capture(ctx)
	var call func(context.Context) error
	switch typ {
	case EventAdd:
		call = func(ctx context.Context) error {
			l := maps.Clone(e.cfg.Labels)
			return e.objs.create(ctx, metav1.ObjectMeta{Name: o.name, Namespace: e.cfg.Namespace, Labels: l,
				Annotations: map[string]string{GenAnnotation: "0"}}, e.payload)
		}
	case EventUpdate:
		call = func(ctx context.Context) error { return e.objs.patch(ctx, o.name, genPatch(gen)) }
	case EventDelete:
		call = func(ctx context.Context) error { return e.objs.delete(ctx, o.name) }
	}

	start := e.clk.Now()
	e.tracker.writing(o.name, o.seq, typ, gen, start)
	e.ledger.issued(intended, start)
	err := call(ctx)
	elapsed := e.clk.Since(start)
	cancel()

	s := Sample{TS: intended, Start: start, Row: row, Verb: verb, Object: o.name, Seq: o.seq, Gen: gen,
		LatencyMS: ms(elapsed), LagMS: ms(start.Sub(intended))}
	resp := got()
	if resp.Attempts > 1 {
		s.Retries = resp.Attempts - 1
	}
	s.PriorityLevel = e.priorityLevelName(resp.PriorityLevelUID)
	s.Status = resp.Status
	okStatus := http.StatusOK
	if typ == EventAdd {
		okStatus = http.StatusCreated
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			s.Status = 0
			s.Error = fmt.Sprintf("timeout after %s: %v", e.cfg.RequestTimeout, context.DeadlineExceeded)
		} else {
			s.Error = err.Error()
			var st apierrors.APIStatus
			if s.Status == 0 && errors.As(err, &st) {
				s.Status = int(st.Status().Code)
			}
		}
	} else if s.Status == 0 {
		s.Status = okStatus
	}

	liveDelta := 0
	goesOn := !last
	switch {
	case err == nil && typ == EventAdd:
		liveDelta = 1
		e.objects.Add(1)
	case err == nil && typ == EventDelete:
		liveDelta = -1
	case typ == EventAdd && s.Status >= 400 && s.Status < 500 && s.Status != http.StatusConflict:
		goesOn = false // rejected before storage: nothing to update or delete
		e.rejected.Add(1)
	}
	e.ledger.completed(intended, start.Add(elapsed), s, liveDelta)
	e.tracker.wrote(o.name, typ, gen, err == nil, !goesOn)
	release()
	e.emit(s)
	return goesOn
}

func (e *Engine) resolvePriorityLevels(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	list, err := e.client.FlowcontrolV1().PriorityLevelConfigurations().List(lctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, pl := range list.Items {
		e.plNames[string(pl.UID)] = pl.Name
	}
}

func (e *Engine) priorityLevelName(uid string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if name, ok := e.plNames[uid]; ok {
		return name
	}
	return uid
}
