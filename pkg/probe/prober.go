package probe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

const (
	// DefaultListNamespace is listed by the list-namespace kind when Config.ListNamespace is empty.
	DefaultListNamespace = "kube-system"
	// ListLimit is the page size of the list kinds. Only the first page is read (no continue): the probe
	// times one LIST request of bounded size, identical from sample to sample, and never loads a huge
	// cluster with full paginated lists every interval.
	ListLimit = 500

	SourceLocal   = "local"
	SourceCluster = "cluster"

	// RoleLabel is added to every ConfigMap the probe creates, beside Config.Labels: "get", "watch" or
	// "mutate". The watch selects its ConfigMap with Config.Labels plus RoleLabel=watch.
	RoleLabel = "kubepyrometer.io/probe-role"
	// TokenAnnotation carries "<run>-<seq>" on the watched ConfigMap; the watch matches events by it.
	TokenAnnotation = "kubepyrometer.io/probe-token"

	// watchRetry is the pause before re-opening a watch that could not be opened.
	watchRetry = time.Second
)

// Sample is one timed request; serialised as one JSON line of probe.jsonl.
type Sample struct {
	// TS is the intended start of the request: its slot in the schedule (for mutate's patch and delete,
	// which are chained, the moment the previous verb returned), RFC3339Nano.
	TS    time.Time `json:"ts"`
	Phase string    `json:"phase"`
	Kind  Kind      `json:"kind"`
	Verb  string    `json:"verb"` // get, list, create, patch, delete, watch
	// LatencyMS is the time around the client-go call, in ms rounded to microseconds. A timeout counts
	// at its elapsed time (the request timeout). For watch: from just before the write until our watch
	// delivered the event carrying this sample's seq.
	LatencyMS float64 `json:"latency_ms"`
	LagMS     float64 `json:"lag_ms"` // actual start minus intended start (scheduling lag)
	// Status is the HTTP status of the (last) response. 0 means no response: timeout, connection error,
	// or for watch an event that was not delivered. Without a captured response (a client not built from
	// DedicatedConfig, or a test fake) a success is reported as 200 (201 for create) and an error by its
	// apierrors.APIStatus code.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	Seq    int64  `json:"seq"`    // per kind and Run, from 1; mutate's three verbs share their seq
	Source string `json:"source"` // "local" or "cluster"
	// PriorityLevel is the APF priority level that served the request: its name when Setup could list
	// PriorityLevelConfigurations, else the UID from the X-Kubernetes-PF-PriorityLevel-UID header.
	PriorityLevel string `json:"priority_level,omitempty"`
	// Retries counts the extra attempts client-go made on its own (it retries 429 and some 5xx responses
	// carrying Retry-After); they are included in LatencyMS, as any client would feel them.
	Retries int `json:"retries,omitempty"`
}

// Config configures a Prober.
type Config struct {
	Kinds          []Kind
	Interval       time.Duration // per kind: one scheduled sample every Interval
	RequestTimeout time.Duration // per request; a timed-out request is a sample with its error, never dropped
	// Namespace the probe owns (it must exist); the get, mutate and watch ConfigMaps are created here.
	Namespace string
	// ListNamespace is listed by list-namespace (DefaultListNamespace when empty).
	ListNamespace string
	Source        string            // SourceLocal (default) or SourceCluster
	Labels        map[string]string // put on every object the probe creates (managed-by + run-id labels)
	// NamePrefix prefixes created object names, e.g. "pyrometer-probe-<runid>". It must be unique per
	// Prober: a local and an in-cluster probe of the same run need different prefixes.
	NamePrefix string
}

func listNamespace(cfg Config) string {
	if cfg.ListNamespace == "" {
		return DefaultListNamespace
	}
	return cfg.ListNamespace
}

// Prober runs open-loop latency probes. Setup, Run (any number of times, one at a time) and Teardown
// are called in that order.
type Prober struct {
	cfg    Config
	client kubernetes.Interface
	rc     rest.Interface
	clk    clock.WithTicker

	getName, watchName string

	mu             sync.Mutex
	running        bool
	setUp          bool
	runs           int
	created        map[string]bool   // ConfigMaps that may exist and Teardown must delete
	priorityLevels map[string]string // APF priority level UID -> name
	watch          *watcher
}

// New validates cfg and returns a Prober. client and rc should be built from DedicatedConfig; rc serves
// GET /readyz (typically client.Discovery().RESTClient()) and is only required for the readyz kind.
// A nil clk means the real clock.
func New(cfg Config, client kubernetes.Interface, rc rest.Interface, clk clock.WithTicker) (*Prober, error) {
	if client == nil {
		return nil, errors.New("probe needs a Kubernetes client")
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	if len(cfg.Kinds) == 0 {
		return nil, fmt.Errorf("no probe kinds given; valid kinds: %s", joinKinds())
	}
	seen := map[Kind]bool{}
	for _, k := range cfg.Kinds {
		if !k.Valid() {
			return nil, fmt.Errorf("unknown probe kind %q; valid kinds: %s", k, joinKinds())
		}
		if seen[k] {
			return nil, fmt.Errorf("probe kind %q given twice", k)
		}
		seen[k] = true
	}
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("probe interval must be positive, got %s", cfg.Interval)
	}
	if cfg.RequestTimeout <= 0 {
		return nil, fmt.Errorf("probe request timeout must be positive, got %s", cfg.RequestTimeout)
	}
	switch cfg.Source {
	case "":
		cfg.Source = SourceLocal
	case SourceLocal, SourceCluster:
	default:
		return nil, fmt.Errorf("invalid probe source %q: allowed values are %s, %s", cfg.Source, SourceLocal, SourceCluster)
	}
	cfg.ListNamespace = listNamespace(cfg)
	for _, k := range cfg.Kinds {
		if path := k.urlPath(); path != "" && rc == nil {
			return nil, fmt.Errorf("the %s probe needs a REST client for %s", k, path)
		}
	}
	for k, v := range cfg.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("invalid probe label key %q: %v", k, errs)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("invalid probe label value %q for %q: %v", v, k, errs)
		}
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Kinds = slices.Clone(cfg.Kinds)
	if slices.ContainsFunc(cfg.Kinds, Kind.NeedsNamespace) {
		if cfg.Namespace == "" {
			return nil, errors.New(namespaceKinds() + " need a namespace")
		}
		// The longest name we build: a mutate ConfigMap of a large run and seq number.
		if errs := validation.IsDNS1123Subdomain(cfg.NamePrefix + "-m999999-9999999999"); cfg.NamePrefix == "" || len(errs) > 0 {
			return nil, fmt.Errorf("invalid probe name prefix %q: it must be a short DNS subdomain prefix", cfg.NamePrefix)
		}
	}
	return &Prober{
		cfg: cfg, client: client, rc: rc, clk: clk,
		getName:   cfg.NamePrefix + "-get",
		watchName: cfg.NamePrefix + "-watch",
		created:   map[string]bool{},
	}, nil
}

func joinKinds() string {
	return strings.Join(KindNames(), ", ")
}

func (p *Prober) labels(role string) map[string]string {
	l := maps.Clone(p.cfg.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[RoleLabel] = role
	return l
}

func (p *Prober) track(name string, maybeExists bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if maybeExists {
		p.created[name] = true
	} else {
		delete(p.created, name)
	}
}

// Setup creates what the get and watch kinds need (a ConfigMap to GET, a ConfigMap to write for the
// watch, both in Namespace and labelled) and opens the watch, which lives until Teardown (not bound to
// ctx). It also tries to list APF PriorityLevelConfigurations to name priority levels (ignored when not
// permitted). Call Teardown even when Setup fails: it removes whatever was created.
func (p *Prober) Setup(ctx context.Context) error {
	p.mu.Lock()
	if p.setUp {
		p.mu.Unlock()
		return errors.New("probe is already set up")
	}
	p.mu.Unlock()

	p.resolvePriorityLevels(ctx)
	for _, k := range p.cfg.Kinds {
		if setup := k.spec().setup; setup != nil {
			if err := setup(p, ctx); err != nil {
				return err
			}
		}
	}
	p.mu.Lock()
	p.setUp = true
	p.mu.Unlock()
	return nil
}

// createConfigMap creates a ConfigMap of the probe (labelled with role) in Namespace and tracks it for Teardown.
func (p *Prober) createConfigMap(ctx context.Context, name, role string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.cfg.Namespace, Labels: p.labels(role)},
		Data:       map[string]string{"probe": role},
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	p.track(name, true)
	created, err := p.client.CoreV1().ConfigMaps(p.cfg.Namespace).Create(cctx, cm, metav1.CreateOptions{})
	if err != nil {
		var apiStatus apierrors.APIStatus
		if errors.As(err, &apiStatus) && apiStatus.Status().Code/100 == 4 {
			p.track(name, false) // rejected (or already there, and then not ours to delete)
		}
		return nil, fmt.Errorf("failed to create probe ConfigMap %q in namespace %q: %w", name, p.cfg.Namespace, err)
	}
	return created, nil
}

// setupGet creates the ConfigMap the get kind reads.
func (p *Prober) setupGet(ctx context.Context) error {
	_, err := p.createConfigMap(ctx, p.getName, "get")
	return err
}

// setupWatch creates the ConfigMap the watch kind writes and opens the watch on it.
func (p *Prober) setupWatch(ctx context.Context) error {
	cm, err := p.createConfigMap(ctx, p.watchName, "watch")
	if err != nil {
		return err
	}
	w := newWatcher(p.client, p.cfg, p.watchName, p.clk)
	if err := w.start(ctx, cm.ResourceVersion); err != nil {
		return err
	}
	p.mu.Lock()
	p.watch = w
	p.mu.Unlock()
	return nil
}

func (p *Prober) resolvePriorityLevels(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	list, err := p.client.FlowcontrolV1().PriorityLevelConfigurations().List(lctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	names := make(map[string]string, len(list.Items))
	for _, pl := range list.Items {
		names[string(pl.UID)] = pl.Name
	}
	p.mu.Lock()
	p.priorityLevels = names
	p.mu.Unlock()
}

func (p *Prober) priorityLevelName(uid string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if name, ok := p.priorityLevels[uid]; ok {
		return name
	}
	return uid
}

// Teardown stops the watch and deletes every ConfigMap Setup and mutate created (or may have created:
// a create that timed out), ignoring those already gone. It reports every failed delete.
func (p *Prober) Teardown(ctx context.Context) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return errors.New("probe is still running")
	}
	w := p.watch
	p.watch = nil
	p.setUp = false
	names := slices.Sorted(maps.Keys(p.created))
	p.mu.Unlock()

	if w != nil {
		w.stop()
	}
	var errs []error
	cms := p.client.CoreV1().ConfigMaps(p.cfg.Namespace)
	for _, name := range names {
		dctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
		err := cms.Delete(dctx, name, metav1.DeleteOptions{})
		cancel()
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("failed to delete probe ConfigMap %q in namespace %q: %w", name, p.cfg.Namespace, err))
			continue
		}
		p.track(name, false)
	}
	return errors.Join(errs...)
}

// Run probes every kind for d, or until ctx is done, open loop: the i-th of the n kinds (Config.Kinds order) has
// its seq k due at start + i*Interval/n + (k-1)*Interval, for every slot before start+d, and each one fires in
// its own goroutine, so a slow response never delays or skips the next (no coordinated omission); a scheduler
// that wakes late fires the missed slots at once with their intended TS, and the lateness shows in LagMS.
// The kinds are staggered across the interval so that they do not queue behind each other on the probe's
// connection (in lockstep, six kinds inflated each other's p50 about 2.5x); as the offset is below one
// interval, each kind still gets one sample per Interval of d (exactly d/Interval when Interval divides d).
//
// Run returns after d has elapsed and every fired request has finished, so each one is reported:
// requests are bounded by RequestTimeout (mutate chains three of them) and are not cancelled with ctx;
// cancelling ctx only stops new firings. sink receives every sample, one call at a time. The error is
// ctx's when it was cancelled.
func (p *Prober) Run(ctx context.Context, phase string, d time.Duration, sink func(Sample)) error {
	if d <= 0 {
		return fmt.Errorf("probe duration must be positive, got %s", d)
	}
	if sink == nil {
		return errors.New("probe needs a sample sink")
	}
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return errors.New("probe is already running")
	}
	if slices.ContainsFunc(p.cfg.Kinds, func(k Kind) bool { return k.spec().setup != nil }) && !p.setUp {
		p.mu.Unlock()
		return errors.New("probe is not set up: call Setup before Run")
	}
	p.running = true
	p.runs++
	run := p.runs
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
	}()

	var sinkMu sync.Mutex
	emit := func(s Sample) {
		s.Phase, s.Source = phase, p.cfg.Source
		sinkMu.Lock()
		defer sinkMu.Unlock()
		sink(s)
	}

	start := p.clk.Now()
	end := start.Add(d)
	endTimer := p.clk.NewTimer(d)
	defer endTimer.Stop()
	reqCtx := context.WithoutCancel(ctx)
	var schedulers, firings sync.WaitGroup
	for i, k := range p.cfg.Kinds {
		first := start.Add(StaggerOffset(p.cfg.Interval, i, len(p.cfg.Kinds)))
		schedulers.Go(func() {
			p.schedule(ctx, first, end, func(seq int64, intended time.Time) {
				firings.Go(func() { p.fire(reqCtx, k, run, seq, intended, emit) })
			})
		})
	}
	schedulers.Wait()
	select {
	case <-ctx.Done():
	case <-endTimer.C():
	}
	firings.Wait()
	return ctx.Err()
}

// StaggerOffset is the offset within each interval of the i-th of n probe kinds: i*interval/n.
func StaggerOffset(interval time.Duration, i, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(int64(interval) * int64(i) / int64(n))
}

// schedule calls fire for every slot start+(seq-1)*Interval before end, waiting on the clock between
// slots, until ctx is done.
func (p *Prober) schedule(ctx context.Context, start, end time.Time, fire func(int64, time.Time)) {
	for seq := int64(1); ; seq++ {
		intended := start.Add(time.Duration(seq-1) * p.cfg.Interval)
		if !intended.Before(end) {
			return
		}
		if wait := intended.Sub(p.clk.Now()); wait > 0 {
			t := p.clk.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
		if ctx.Err() != nil {
			return
		}
		fire(seq, intended)
	}
}

func (p *Prober) fire(ctx context.Context, k Kind, run int, seq int64, intended time.Time, emit func(Sample)) {
	for _, smp := range k.spec().request(p, ctx, shot{base: Sample{Kind: k, Seq: seq}, run: run, seq: seq, intended: intended}) {
		emit(smp)
	}
}

// readyz is the readyz kind's request: GET /readyz.
func (p *Prober) readyz(ctx context.Context, s shot) []Sample {
	r := p.call(ctx, func(ctx context.Context) (int, error) {
		var code int
		err := p.rc.Get().AbsPath("/readyz").Do(ctx).StatusCode(&code).Error()
		return code, err
	})
	return []Sample{p.sample(s.base, "get", s.intended, r, http.StatusOK)}
}

// getOne is the get kind's request: GET the ConfigMap Setup created.
func (p *Prober) getOne(ctx context.Context, s shot) []Sample {
	r := p.call(ctx, func(ctx context.Context) (int, error) {
		_, err := p.client.CoreV1().ConfigMaps(p.cfg.Namespace).Get(ctx, p.getName, metav1.GetOptions{})
		return 0, err
	})
	return []Sample{p.sample(s.base, "get", s.intended, r, http.StatusOK)}
}

// listInNamespace is the list-namespace kind's request: LIST the ConfigMaps of ListNamespace (first page).
func (p *Prober) listInNamespace(ctx context.Context, s shot) []Sample {
	r := p.call(ctx, func(ctx context.Context) (int, error) {
		_, err := p.client.CoreV1().ConfigMaps(p.cfg.ListNamespace).List(ctx, metav1.ListOptions{Limit: ListLimit})
		return 0, err
	})
	return []Sample{p.sample(s.base, "list", s.intended, r, http.StatusOK)}
}

// listNodes is the list-cluster kind's request: LIST nodes (first page).
func (p *Prober) listNodes(ctx context.Context, s shot) []Sample {
	r := p.call(ctx, func(ctx context.Context) (int, error) {
		_, err := p.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: ListLimit})
		return 0, err
	})
	return []Sample{p.sample(s.base, "list", s.intended, r, http.StatusOK)}
}

// mutate creates, patches and deletes one tiny ConfigMap: one sample per verb, all with the same seq.
// When create fails there is nothing to patch or delete, so that seq has only the create sample. The
// samples are handed over together after the chain so a slow sink cannot stretch it.
func (p *Prober) mutate(ctx context.Context, s shot) []Sample {
	base, run, seq, intended := s.base, s.run, s.seq, s.intended
	name := fmt.Sprintf("%s-m%d-%d", p.cfg.NamePrefix, run, seq)
	cms := p.client.CoreV1().ConfigMaps(p.cfg.Namespace)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.cfg.Namespace, Labels: p.labels("mutate")},
		Data:       map[string]string{"seq": strconv.FormatInt(seq, 10)},
	}
	p.track(name, true) // a create that times out may still have created it
	r := p.call(ctx, func(ctx context.Context) (int, error) {
		_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		return 0, err
	})
	created := p.sample(base, "create", intended, r, http.StatusCreated)
	if created.Error != "" {
		// A 4xx other than 409 Conflict is a rejection before storage: nothing exists to clean up.
		if created.Status >= 400 && created.Status < 500 && created.Status != http.StatusConflict {
			p.track(name, false)
		}
		return []Sample{created}
	}

	next := r.start.Add(r.elapsed)
	patch := fmt.Appendf(nil, `{"data":{"patched":"%d"}}`, seq)
	r = p.call(ctx, func(ctx context.Context) (int, error) {
		_, err := cms.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return 0, err
	})
	patched := p.sample(base, "patch", next, r, http.StatusOK)

	next = r.start.Add(r.elapsed)
	r = p.call(ctx, func(ctx context.Context) (int, error) {
		return 0, cms.Delete(ctx, name, metav1.DeleteOptions{})
	})
	deleted := p.sample(base, "delete", next, r, http.StatusOK)
	if deleted.Error == "" || apierrors.IsNotFound(r.err) {
		p.track(name, false)
	}
	return []Sample{created, patched, deleted}
}

// watchOnce is the watch kind's request: it writes seq's token onto the watched ConfigMap and waits for our watch
// to deliver it.
func (p *Prober) watchOnce(ctx context.Context, sh shot) []Sample {
	return []Sample{p.watchSample(ctx, sh.base, sh.run, sh.seq, sh.intended)}
}

func (p *Prober) watchSample(ctx context.Context, base Sample, run int, seq int64, intended time.Time) Sample {
	token := fmt.Sprintf("%d-%d", run, seq)
	p.mu.Lock()
	w := p.watch
	p.mu.Unlock()
	delivered, forget := w.expect(token)
	defer forget()

	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, TokenAnnotation, token)
	r := p.call(ctx, func(ctx context.Context) (int, error) {
		_, err := p.client.CoreV1().ConfigMaps(p.cfg.Namespace).Patch(ctx, p.watchName, types.MergePatchType, patch, metav1.PatchOptions{})
		return 0, err
	})
	s := p.sample(base, "watch", intended, r, http.StatusOK)
	if s.Error != "" {
		s.Error = "failed to write the watched ConfigMap: " + s.Error
		return s
	}
	notDelivered := func() Sample {
		s.Status = 0
		s.Error = fmt.Sprintf("watch event not delivered within %s", p.cfg.RequestTimeout)
		s.LatencyMS = ms(p.clk.Since(r.start))
		return s
	}
	var outcome watchOutcome
	if remaining := p.cfg.RequestTimeout - r.elapsed; remaining > 0 {
		t := p.clk.NewTimer(remaining)
		defer t.Stop()
		select {
		case outcome = <-delivered:
		case <-t.C():
			return notDelivered()
		}
	} else {
		select {
		case outcome = <-delivered:
		default:
			return notDelivered()
		}
	}
	s.LatencyMS = ms(outcome.at.Sub(r.start))
	if outcome.err != nil {
		s.Status = 0
		s.Error = outcome.err.Error()
	}
	return s
}

// result is one timed client-go call.
type result struct {
	start    time.Time
	elapsed  time.Duration
	status   int // status the call itself reported (readyz), 0 if unknown
	err      error
	timedOut bool
	captured captured
}

// call times fn, bounded by RequestTimeout on the injected clock: at the deadline fn's context is
// cancelled and the result is a timeout whether or not fn has returned yet, so a request that hangs
// (or a fake that ignores its context) is still reported on time. fn runs in its own goroutine for
// that; the timing brackets only fn (plus a goroutine start, about a microsecond).
func (p *Prober) call(ctx context.Context, fn func(context.Context) (int, error)) result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx, c := withCapture(ctx)
	timer := p.clk.NewTimer(p.cfg.RequestTimeout)
	defer timer.Stop()
	done := make(chan result, 1)
	start := p.clk.Now()
	go func() {
		status, err := fn(ctx)
		done <- result{elapsed: p.clk.Since(start), status: status, err: err}
	}()
	var r result
	select {
	case r = <-done:
	case <-timer.C():
		cancel()
		r = result{elapsed: p.clk.Since(start), timedOut: true}
	}
	r.start = start
	r.captured = c.get()
	return r
}

// sample turns a call result into a Sample; okStatus is reported for a success nothing captured.
func (p *Prober) sample(base Sample, verb string, intended time.Time, r result, okStatus int) Sample {
	s := base
	s.TS = intended
	s.Verb = verb
	s.LatencyMS = ms(r.elapsed)
	s.LagMS = ms(r.start.Sub(intended))
	s.PriorityLevel = p.priorityLevelName(r.captured.priorityLevel)
	if r.captured.attempts > 1 {
		s.Retries = r.captured.attempts - 1
	}
	if r.timedOut || errors.Is(r.err, context.DeadlineExceeded) {
		s.Error = fmt.Sprintf("timeout after %s: %v", p.cfg.RequestTimeout, context.DeadlineExceeded)
		return s
	}
	s.Status = r.captured.status
	if s.Status == 0 {
		s.Status = r.status
	}
	if r.err == nil {
		if s.Status == 0 {
			s.Status = okStatus
		}
		return s
	}
	s.Error = r.err.Error()
	var apiStatus apierrors.APIStatus
	if s.Status == 0 && errors.As(r.err, &apiStatus) {
		s.Status = int(apiStatus.Status().Code)
	}
	return s
}

// ms converts to milliseconds rounded to microseconds.
func ms(d time.Duration) float64 {
	return round3(float64(d) / float64(time.Millisecond))
}
