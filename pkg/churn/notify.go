package churn

import (
	"sync"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// EventType is a notification type as a watch reports it.
type EventType string

const (
	EventAdd    EventType = "add"
	EventUpdate EventType = "update"
	EventDelete EventType = "delete"
)

// NotifyCounts accounts the notifications of one event type, summed over the watchers: each successful write is
// expected once per watcher.
type NotifyCounts struct {
	Expected int `json:"expected"` // successful writes times watchers (settled objects only)
	Seen     int `json:"seen"`     // first notifications of a write (each gives a latency)
	// Missed: expected but never seen, and nothing later of the object was seen either (for add: the object's
	// create was never seen, whatever came later: a watcher that never knew the object existed).
	Missed int `json:"missed"`
	// Coalesced: an update never seen on its own while a later state of the object was (a later update, or the
	// delete): the watcher jumped over it.
	Coalesced  int     `json:"coalesced"`
	Duplicates int     `json:"duplicates"` // notifications of a write already seen (e.g. re-listed after a watch gap)
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
	MaxMS      float64 `json:"max_ms"`
}

// Notifications summarises the watch side of a run.
type Notifications struct {
	Watchers int          `json:"watchers"`
	Add      NotifyCounts `json:"add"`
	Update   NotifyCounts `json:"update"`
	Delete   NotifyCounts `json:"delete"`
	// Stray counts notifications of objects or states this engine did not write (or had already settled).
	Stray int `json:"stray"`
	// Reopened counts watches re-opened after they closed; Relisted those that had to list again because the
	// server no longer had their resourceVersion (deletes in the gap are then missed).
	Reopened int `json:"reopened"`
	Relisted int `json:"relisted"`
}

// Complete reports whether every expected notification was seen, none missed or coalesced.
func (n Notifications) Complete() bool {
	for _, c := range []NotifyCounts{n.Add, n.Update, n.Delete} {
		if c.Missed > 0 || c.Coalesced > 0 || c.Seen < c.Expected {
			return false
		}
	}
	return true
}

// write is what the tracker knows of one write of an object.
type write struct {
	start   time.Time
	started bool
	ok      bool // returned without error
}

// seen is what one watcher saw of one object.
type seen struct {
	added, deleted bool
	updates        []bool // by generation-1
	maxGen         int    // highest generation seen in any notification
	settled        bool
}

type tracked struct {
	seq     int64
	create  write
	updates []write // by generation-1
	del     write
	deleted bool // the engine's delete returned (ok or not): nothing more will be written
	seen    []seen
	settled int // watchers settled
}

type notifyAcc struct {
	NotifyCounts
	lat probe.Latencies
}

// tracker matches watch notifications to the engine's writes: latency from the write's start to the notification,
// on the same clock, and the counts of NotifyCounts. It is safe for concurrent use.
type tracker struct {
	mu       sync.Mutex
	watchers int
	objs     map[string]*tracked
	acc      map[EventType]*notifyAcc
	stray    int
	reopened int
	relisted int
}

func newTracker(watchers int) *tracker {
	return &tracker{
		watchers: watchers, objs: map[string]*tracked{},
		acc: map[EventType]*notifyAcc{EventAdd: {}, EventUpdate: {}, EventDelete: {}},
	}
}

func (t *tracker) object(name string) *tracked {
	o := t.objs[name]
	if o == nil {
		o = &tracked{seen: make([]seen, t.watchers)}
		t.objs[name] = o
	}
	return o
}

// writing records the start of a write (before it is sent, so that a notification that outruns the response
// still finds it). gen is the update's generation (1..), ignored for create and delete.
func (t *tracker) writing(name string, seq int64, verb EventType, gen int, start time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.object(name)
	o.seq = seq
	w := write{start: start, started: true}
	switch verb {
	case EventAdd:
		o.create = w
	case EventUpdate:
		for len(o.updates) < gen {
			o.updates = append(o.updates, write{})
		}
		o.updates[gen-1] = w
	case EventDelete:
		o.del = w
	}
}

// wrote records the outcome of a write. last says the object gets no more writes from the engine.
func (t *tracker) wrote(name string, verb EventType, gen int, ok, last bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.objs[name]
	if o == nil {
		return
	}
	switch verb {
	case EventAdd:
		o.create.ok = ok
	case EventUpdate:
		o.updates[gen-1].ok = ok
	case EventDelete:
		o.del.ok = ok
	}
	if last {
		o.deleted = true
		t.forgetIfDone(name, o)
	}
}

// observe handles one notification of watcher w (0-based) at time at. gen is the object's generation annotation
// (0 for the state the create wrote). It returns the notification's sample when it is the first notification of
// one of the engine's writes (ok false otherwise); the caller hands it to the sink, outside the tracker's lock.
func (t *tracker) observe(w int, typ EventType, name string, gen int, at time.Time) (s Sample, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.objs[name]
	if o == nil || o.seen[w].settled {
		t.stray++
		return s, false
	}
	sn := &o.seen[w]
	sn.maxGen = max(sn.maxGen, gen)
	var wr write
	switch typ {
	case EventAdd:
		if sn.added {
			t.acc[typ].Duplicates++
			return s, false
		}
		sn.added = true
		wr = o.create
	case EventUpdate:
		if gen < 1 || gen > len(o.updates) {
			t.stray++
			return s, false
		}
		for len(sn.updates) < gen {
			sn.updates = append(sn.updates, false)
		}
		if sn.updates[gen-1] {
			t.acc[typ].Duplicates++
			return s, false
		}
		sn.updates[gen-1] = true
		wr = o.updates[gen-1]
	case EventDelete:
		if sn.deleted {
			t.acc[typ].Duplicates++
			return s, false
		}
		sn.deleted = true
		wr = o.del
	}
	if wr.started {
		a := t.acc[typ]
		a.Seen++
		lat := ms(at.Sub(wr.start))
		a.lat.Add(lat)
		s = Sample{TS: wr.start, Start: wr.start, Row: NotifyRow(typ), Verb: string(typ), Object: name,
			Seq: o.seq, Gen: gen, LatencyMS: lat, Watcher: w}
		ok = true
	} else {
		t.stray++ // e.g. a delete the engine did not make (namespace deletion, cleanup)
	}
	if typ == EventDelete {
		t.settle(o, w)
		t.forgetIfDone(name, o)
	}
	return s, ok
}

// settle closes watcher w's account of o: every successful write it did not see is missed or coalesced.
func (t *tracker) settle(o *tracked, w int) {
	s := &o.seen[w]
	if s.settled {
		return
	}
	s.settled = true
	o.settled++
	// A write whose notification was seen is expected whatever its response said (it took effect).
	if o.create.ok || (o.create.started && s.added) {
		t.acc[EventAdd].Expected++
		if !s.added {
			t.acc[EventAdd].Missed++
		}
	}
	for i, u := range o.updates {
		seenIt := i < len(s.updates) && s.updates[i]
		if !u.ok && !(u.started && seenIt) {
			continue
		}
		t.acc[EventUpdate].Expected++
		if seenIt {
			continue
		}
		if s.maxGen > i+1 || s.deleted {
			t.acc[EventUpdate].Coalesced++
		} else {
			t.acc[EventUpdate].Missed++
		}
	}
	// The delete's notification usually outruns its response.
	if o.del.ok || (o.del.started && s.deleted) {
		t.acc[EventDelete].Expected++
		if !s.deleted {
			t.acc[EventDelete].Missed++
		}
	}
}

func (t *tracker) forgetIfDone(name string, o *tracked) {
	if o.deleted && o.settled == t.watchers {
		delete(t.objs, name)
	}
}

// outstanding is the number of objects of which some watcher still owes a notification of a successful write:
// its create, an update (unless a later state was seen: that one is coalesced, not owed) or its delete. Objects
// the engine keeps count too: a step stopped at the end of its window leaves live objects whose last writes'
// notifications may still be on their way.
func (t *tracker) outstanding() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, o := range t.objs {
		for w := range o.seen {
			if o.owes(w) {
				n++
				break
			}
		}
	}
	return n
}

// owes reports whether watcher w has yet to see a notification of one of o's successful writes.
func (o *tracked) owes(w int) bool {
	s := &o.seen[w]
	switch {
	case s.settled:
		return false
	case o.del.ok && !s.deleted:
		return true
	case s.deleted:
		return false
	case o.create.ok && !s.added:
		return true
	}
	for i, u := range o.updates {
		if u.ok && s.maxGen < i+1 {
			return true
		}
	}
	return false
}

func (t *tracker) watchReopened(relisted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reopened++
	if relisted {
		t.relisted++
	}
}

// finish settles every object for every watcher and returns the summary.
func (t *tracker) finish() Notifications {
	if t == nil {
		return Notifications{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, o := range t.objs {
		for w := range o.seen {
			t.settle(o, w)
		}
		delete(t.objs, name)
	}
	return t.summaryLocked()
}

func (t *tracker) summary() Notifications {
	if t == nil {
		return Notifications{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.summaryLocked()
}

func (t *tracker) summaryLocked() Notifications {
	n := Notifications{Watchers: t.watchers, Stray: t.stray, Reopened: t.reopened, Relisted: t.relisted}
	for typ, dst := range map[EventType]*NotifyCounts{EventAdd: &n.Add, EventUpdate: &n.Update, EventDelete: &n.Delete} {
		a := t.acc[typ]
		*dst = a.NotifyCounts
		lat := a.lat.Sorted()
		dst.P50MS, dst.P99MS = probe.Percentile(lat, 0.5), probe.Percentile(lat, 0.99)
		if len(lat) > 0 {
			dst.MaxMS = lat[len(lat)-1]
		}
	}
	return n
}
