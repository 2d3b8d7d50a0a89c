package probe

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Latencies is an exact multiset of latencies in ms at 4 bytes each: a value that is a whole number of
// microseconds in [0, 4294967.295] ms (what the prober records: ms rounded to µs) is kept as uint32 µs, which
// converts back to the very same float64; any other value is kept as float64, so nothing is ever rounded.
type Latencies struct {
	us     []uint32
	other  []float64
	sorted bool
}

// maxUS is the largest latency in ms that fits the uint32 µs form.
const maxUS = math.MaxUint32 / 1000.0

// toUS returns v in whole µs when that converts back to exactly v.
func toUS(v float64) (uint32, bool) {
	if !(v >= 0 && v <= maxUS) {
		return 0, false
	}
	u := uint32(math.Round(v * 1000))
	return u, float64(u)/1000 == v
}

func fromUS(u uint32) float64 { return float64(u) / 1000 }

// Add adds one latency (ms).
func (l *Latencies) Add(v float64) {
	if u, ok := toUS(v); ok {
		l.us = append(l.us, u)
	} else {
		l.other = append(l.other, v)
	}
	l.sorted = false
}

// Len is the number of latencies.
func (l *Latencies) Len() int { return len(l.us) + len(l.other) }

func (l *Latencies) sort() {
	if !l.sorted {
		slices.Sort(l.us)
		slices.Sort(l.other)
		l.sorted = true
	}
}

// Sorted returns the latencies in ascending order as float64 ms (a new slice).
func (l *Latencies) Sorted() []float64 {
	return sortedOf(l).float64s()
}

// Bytes is the memory the latencies hold (capacity included).
func (l *Latencies) Bytes() int { return 4*cap(l.us) + 8*cap(l.other) }

// sortedLat is an ascending view of one or more Latencies: us alone when every value is in µs form, else f.
type sortedLat struct {
	us []uint32
	f  []float64
}

func (v sortedLat) n() int {
	if v.f != nil {
		return len(v.f)
	}
	return len(v.us)
}

func (v sortedLat) at(i int) float64 {
	if v.f != nil {
		return v.f[i]
	}
	return fromUS(v.us[i])
}

func (v sortedLat) float64s() []float64 {
	if v.f != nil {
		return v.f
	}
	out := make([]float64, len(v.us))
	for i, u := range v.us {
		out[i] = fromUS(u)
	}
	return out
}

// percentile is Percentile on the view.
func (v sortedLat) percentile(p float64) float64 {
	n := v.n()
	if n == 0 {
		return 0
	}
	return v.at(rank(p, n) - 1)
}

// sortedOf merges ls into one ascending view. A single set is sorted in place and not copied.
func sortedOf(ls ...*Latencies) sortedLat {
	n, others := 0, 0
	var nonEmpty []*Latencies
	for _, l := range ls {
		if l.Len() > 0 {
			nonEmpty = append(nonEmpty, l)
			n += l.Len()
			others += len(l.other)
		}
	}
	if len(nonEmpty) == 1 && others == 0 {
		nonEmpty[0].sort()
		return sortedLat{us: nonEmpty[0].us}
	}
	if others == 0 {
		us := make([]uint32, 0, n)
		for _, l := range ls {
			us = append(us, l.us...)
		}
		slices.Sort(us)
		return sortedLat{us: us}
	}
	f := make([]float64, 0, n)
	for _, l := range ls {
		for _, u := range l.us {
			f = append(f, fromUS(u))
		}
		f = append(f, l.other...)
	}
	slices.Sort(f)
	return sortedLat{f: f}
}

// tally is the order-dependent part of a summary: counts and the sum of latencies in the order they were
// added (floating-point sums depend on order; adding in the same order as Compute keeps Mean identical).
type tally struct {
	count, errors int
	sum           float64
}

func (t *tally) add(s Sample) {
	t.count++
	if s.Error != "" {
		t.errors++
	}
	t.sum += s.LatencyMS
}

// group holds the samples of one (source, phase, kind): their tally and latencies, successes and errors apart.
type group struct {
	tally
	ok, failed Latencies
}

// GroupKey names a group of samples.
type GroupKey struct {
	Source string // SourceLocal or SourceCluster
	Phase  string
	Kind   Kind
}

type poolKey struct{ source, phase string }

// SourceOf is the source a sample is grouped under: SourceCluster, SourceChurn, or SourceLocal for anything else.
func SourceOf(s Sample) string {
	if s.Source == SourceCluster || s.Source == SourceChurn {
		return s.Source
	}
	return SourceLocal
}

// Aggregate keeps what the statistics need of a stream of samples, exactly and compactly: per (source, phase,
// kind) the latencies as 4-byte values plus counters, per (source, phase) the counters of the pooled row, and
// optionally the running p99 of all samples for a progress line (O(log n) per sample). It gives the same Stats as
// Compute and ByKind on the same samples added in the same order (see TestAggregateMatchesCompute). The raw
// samples are not kept (they go to probe.jsonl), except those of the phases named in KeepPhases.
// It is safe for concurrent use.
type Aggregate struct {
	mu     sync.Mutex
	groups map[GroupKey]*group
	order  []GroupKey
	pools  map[poolKey]*tally
	lags   map[poolKey]*Latencies // scheduling lag (Sample.LagMS) per (source, phase), for LagOf
	total  tally
	run    *runningQuantile // nil unless TrackProgress
	last   time.Time
	keep   map[string]bool
	kept   map[string][]Sample
}

// NewAggregate returns an empty aggregate. The samples of keepPhases (e.g. "recovery", whose time course
// matters) are also kept whole; see Samples.
func NewAggregate(keepPhases ...string) *Aggregate {
	a := &Aggregate{groups: map[GroupKey]*group{}, pools: map[poolKey]*tally{}, lags: map[poolKey]*Latencies{}, keep: map[string]bool{}, kept: map[string][]Sample{}}
	for _, p := range keepPhases {
		a.keep[p] = true
	}
	return a
}

// Add adds one sample.
func (a *Aggregate) Add(s Sample) {
	src := SourceOf(s)
	k := GroupKey{Source: src, Phase: s.Phase, Kind: s.Kind}
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[k]
	if g == nil {
		g = &group{}
		a.groups[k] = g
		a.order = append(a.order, k)
	}
	g.add(s)
	if s.Error != "" {
		g.failed.Add(s.LatencyMS)
	} else {
		g.ok.Add(s.LatencyMS)
	}
	pk := poolKey{src, s.Phase}
	p := a.pools[pk]
	if p == nil {
		p = &tally{}
		a.pools[pk] = p
	}
	p.add(s)
	l := a.lags[pk]
	if l == nil {
		l = &Latencies{}
		a.lags[pk] = l
	}
	l.Add(s.LagMS)
	a.total.add(s)
	if a.run != nil {
		a.run.add(s.LatencyMS)
	}
	if s.TS.After(a.last) {
		a.last = s.TS
	}
	if a.keep[s.Phase] {
		a.kept[s.Phase] = append(a.kept[s.Phase], s)
	}
}

// TrackProgress makes the aggregate keep the p99 of every sample for Progress, from the next sample on (4 more
// bytes a sample, O(log n) per sample).
func (a *Aggregate) TrackProgress() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.run == nil {
		a.run = &runningQuantile{p: 0.99}
	}
}

// Progress is the count, error count and nearest-rank p99 (0 without TrackProgress) of every sample added so
// far, in O(1).
func (a *Aggregate) Progress() (count, errors int, p99 float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.run != nil {
		p99 = a.run.value()
	}
	return a.total.count, a.total.errors, p99
}

// Lag summarises the scheduling lag of the samples of source in phase (as LagOf on those samples).
func (a *Aggregate) Lag(source, phase string, interval time.Duration) Lag {
	a.mu.Lock()
	var lag []float64
	if l := a.lags[poolKey{source, phase}]; l != nil {
		lag = l.Sorted()
	}
	a.mu.Unlock()
	return lagOfSorted(phase, lag, interval)
}

// Count is the number of samples added.
func (a *Aggregate) Count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total.count
}

// Last is the latest sample TS (zero without samples).
func (a *Aggregate) Last() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// Has reports whether source has samples in phase.
func (a *Aggregate) Has(source, phase string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.pools[poolKey{source, phase}]
	return ok
}

// Keys lists the groups in the order their first sample arrived.
func (a *Aggregate) Keys() []GroupKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.order)
}

// ByKind is ByKind of the samples of source in phase: one row per kind in AllKinds order, then one per other kind
// (rows that are not probe kinds, e.g. pod-startup) in the order they first came, then "all";
// nil when there is none.
func (a *Aggregate) ByKind(source, phase string) []Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pools[poolKey{source, phase}]
	if p == nil {
		return nil
	}
	var out []Stats
	for _, k := range AllKinds {
		if g := a.groups[GroupKey{source, phase, k}]; g != nil {
			out = append(out, summarize(string(k), phase, g.tally, &g.ok, &g.failed))
		}
	}
	// Then the kinds that are not probe kinds (pod-startup, pod-schedule, ...), in the order they first came.
	for _, k := range a.order {
		if k.Source == source && k.Phase == phase && !k.Kind.Valid() {
			g := a.groups[k]
			out = append(out, summarize(string(k.Kind), phase, g.tally, &g.ok, &g.failed))
		}
	}
	all := summarize("all", phase, *p, a.lats(source, phase, true, true)...)
	return append(out, all)
}

// Pooled is Compute of every sample of source in phase (Kind "all" when there are several kinds).
func (a *Aggregate) Pooled(source, phase string) Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pools[poolKey{source, phase}]
	if p == nil {
		return Compute(nil)
	}
	kind := ""
	for _, k := range a.order {
		if k.Source == source && k.Phase == phase {
			if kind == "" {
				kind = string(k.Kind)
			} else if kind != string(k.Kind) {
				kind = "all"
			}
		}
	}
	return summarize(kind, phase, *p, a.lats(source, phase, true, true)...)
}

// SuccessPercentile is the nearest-rank p-th percentile of the successful samples of source in phase, every
// kind pooled (0 when there is none).
func (a *Aggregate) SuccessPercentile(source, phase string, p float64) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return sortedOf(a.lats(source, phase, true, false)...).percentile(p)
}

// Successes returns the latencies (ms, ascending) of the successful samples of one group and its error count.
func (a *Aggregate) Successes(k GroupKey) (ok []float64, errors int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[k]
	if g == nil {
		return nil, 0
	}
	return g.ok.Sorted(), g.errors
}

// Samples returns the samples of phase (kept whole because it was named to NewAggregate), in arrival order.
func (a *Aggregate) Samples(phase string) []Sample {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.kept[phase])
}

// Bytes is the memory the latencies and the progress quantile hold (capacity included), for tests and
// benchmarks.
func (a *Aggregate) Bytes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	if a.run != nil {
		n = a.run.bytes()
	}
	for _, g := range a.groups {
		n += g.ok.Bytes() + g.failed.Bytes()
	}
	for _, l := range a.lags {
		n += l.Bytes()
	}
	return n
}

func (a *Aggregate) lats(source, phase string, ok, failed bool) []*Latencies {
	var out []*Latencies
	for _, k := range a.order {
		if k.Source == source && k.Phase == phase {
			g := a.groups[k]
			if ok {
				out = append(out, &g.ok)
			}
			if failed {
				out = append(out, &g.failed)
			}
		}
	}
	return out
}

// summarize computes Stats as Compute does, from a tally and the latencies.
func summarize(kind, phase string, t tally, ls ...*Latencies) Stats {
	s := Stats{Kind: kind, Phase: phase, Count: t.count, Errors: t.errors}
	for _, pc := range percentiles {
		if s.Count < pc.min {
			s.LowCount = append(s.LowCount, pc.name)
		}
	}
	if s.Count == 0 {
		return s
	}
	v := sortedOf(ls...)
	s.ErrorPct = round3(100 * float64(s.Errors) / float64(s.Count))
	s.Min, s.Max = v.at(0), v.at(v.n()-1)
	s.Mean = round3(t.sum / float64(s.Count))
	s.P50 = v.percentile(0.50)
	s.P90 = v.percentile(0.90)
	s.P95 = v.percentile(0.95)
	s.P99 = v.percentile(0.99)
	return s
}

// runningQuantile keeps the nearest-rank p-th percentile of a growing multiset in O(log n) per value: lo
// (a max-heap) holds the rank(p, n) smallest values, hi (a min-heap) the rest, so the percentile is lo's top.
// Values are kept as µs (rounded when not whole µs: it feeds a progress line only).
type runningQuantile struct {
	p      float64
	lo, hi []uint32
}

func (q *runningQuantile) add(v float64) {
	u := uint32(math.Round(min(max(v, 0), maxUS) * 1000))
	if len(q.lo) > 0 && u <= q.lo[0] {
		q.lo = heapPush(q.lo, u, greater)
	} else {
		q.hi = heapPush(q.hi, u, less)
	}
	r := rank(q.p, len(q.lo)+len(q.hi))
	for len(q.lo) > r {
		var top uint32
		q.lo, top = heapPop(q.lo, greater)
		q.hi = heapPush(q.hi, top, less)
	}
	for len(q.lo) < r {
		var top uint32
		q.hi, top = heapPop(q.hi, less)
		q.lo = heapPush(q.lo, top, greater)
	}
}

func (q *runningQuantile) value() float64 {
	if len(q.lo) == 0 {
		return 0
	}
	return fromUS(q.lo[0])
}

func (q *runningQuantile) bytes() int { return 4 * (cap(q.lo) + cap(q.hi)) }

func less(a, b uint32) bool    { return a < b }
func greater(a, b uint32) bool { return a > b }

// heapPush and heapPop keep h a binary heap whose root is the first by before.
func heapPush(h []uint32, v uint32, before func(a, b uint32) bool) []uint32 {
	h = append(h, v)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []uint32, before func(a, b uint32) bool) ([]uint32, uint32) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && before(h[l], h[m]) {
			m = l
		}
		if r < n && before(h[r], h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return h, top
}
