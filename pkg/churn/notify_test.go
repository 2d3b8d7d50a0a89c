package churn

import (
	"testing"
	"time"
)

// lifecycleWrites records, on tr, a create at 0, an update (gen 1) at 1 s and a delete at 2 s of name, all
// successful.
func lifecycleWrites(tr *tracker, name string, seq int64) {
	tr.writing(name, seq, EventAdd, 0, t0)
	tr.wrote(name, EventAdd, 0, true, false)
	tr.writing(name, seq, EventUpdate, 1, t0.Add(time.Second))
	tr.wrote(name, EventUpdate, 1, true, false)
	tr.writing(name, seq, EventDelete, 0, t0.Add(2*time.Second))
}

func TestTrackerLatencyAndCompleteness(t *testing.T) {
	tr := newTracker(2)
	lifecycleWrites(tr, "a", 1)
	var got []Sample
	for w := range 2 {
		for _, ev := range []struct {
			typ EventType
			gen int
			at  time.Duration
		}{{EventAdd, 0, 5 * time.Millisecond}, {EventUpdate, 1, time.Second + 7*time.Millisecond}, {EventDelete, 1, 2*time.Second + 9*time.Millisecond}} {
			if s, ok := tr.observe(w, ev.typ, "a", ev.gen, t0.Add(ev.at)); ok {
				got = append(got, s)
			}
		}
	}
	tr.wrote("a", EventDelete, 0, true, true)
	if len(tr.objs) != 0 {
		t.Errorf("%d objects still tracked after every watcher saw the delete and the delete returned", len(tr.objs))
	}
	n := tr.finish()
	if !n.Complete() {
		t.Errorf("notifications %+v, want complete", n)
	}
	for _, c := range []struct {
		name string
		c    NotifyCounts
		lat  float64
	}{{"add", n.Add, 5}, {"update", n.Update, 7}, {"delete", n.Delete, 9}} {
		if c.c.Expected != 2 || c.c.Seen != 2 || c.c.P50MS != c.lat || c.c.P99MS != c.lat {
			t.Errorf("%s = %+v, want 2 expected, 2 seen, latency %v ms (write start to event)", c.name, c.c, c.lat)
		}
	}
	if len(got) != 6 || got[0].Row != RowNotifyAdd || got[0].LatencyMS != 5 || got[0].Seq != 1 || !got[0].TS.Equal(t0) {
		t.Errorf("samples = %+v, want 6, the first notify:add of seq 1 at the create's start, 5 ms", got)
	}
	if got[4].Watcher != 1 || got[4].Row != RowNotifyUpdate || got[4].Gen != 1 {
		t.Errorf("sample 4 = %+v, want watcher 1's notify:update of gen 1", got[4])
	}
}

func TestTrackerMissedDuplicateCoalesced(t *testing.T) {
	tr := newTracker(1)
	// a: the delete is seen but never the create: a missed add (and the update in between is coalesced: the
	// watcher saw a later state).
	lifecycleWrites(tr, "a", 1)
	tr.observe(0, EventDelete, "a", 1, t0.Add(3*time.Second))
	tr.wrote("a", EventDelete, 0, true, true)
	// b: everything seen, the add twice (a duplicate, e.g. a re-list after a watch gap).
	lifecycleWrites(tr, "b", 2)
	tr.observe(0, EventAdd, "b", 0, t0.Add(time.Millisecond))
	tr.observe(0, EventAdd, "b", 0, t0.Add(2*time.Millisecond))
	tr.observe(0, EventUpdate, "b", 1, t0.Add(time.Second+time.Millisecond))
	tr.observe(0, EventDelete, "b", 1, t0.Add(2*time.Second+time.Millisecond))
	tr.wrote("b", EventDelete, 0, true, true)
	// c: two updates, only the second seen: the first is coalesced; the delete is never seen: missed.
	tr.writing("c", 3, EventAdd, 0, t0)
	tr.wrote("c", EventAdd, 0, true, false)
	for gen := 1; gen <= 2; gen++ {
		tr.writing("c", 3, EventUpdate, gen, t0.Add(time.Duration(gen)*time.Second))
		tr.wrote("c", EventUpdate, gen, true, false)
	}
	tr.writing("c", 3, EventDelete, 0, t0.Add(3*time.Second))
	tr.wrote("c", EventDelete, 0, true, true)
	tr.observe(0, EventAdd, "c", 0, t0.Add(time.Millisecond))
	tr.observe(0, EventUpdate, "c", 2, t0.Add(2*time.Second+time.Millisecond))
	if got := tr.outstanding(); got != 1 {
		t.Errorf("outstanding = %d, want 1 (c: deleted, its delete not yet seen)", got)
	}
	// d: the create failed; nothing is expected of it.
	tr.writing("d", 4, EventAdd, 0, t0)
	tr.wrote("d", EventAdd, 0, false, true)
	// An event of an object the engine never wrote.
	tr.observe(0, EventAdd, "zz", 0, t0)

	n := tr.finish()
	want := Notifications{Watchers: 1, Stray: 1,
		Add:    NotifyCounts{Expected: 3, Seen: 2, Missed: 1, Duplicates: 1},
		Update: NotifyCounts{Expected: 4, Seen: 2, Coalesced: 2},
		Delete: NotifyCounts{Expected: 3, Seen: 2, Missed: 1},
	}
	strip := func(c NotifyCounts) NotifyCounts { c.P50MS, c.P99MS, c.MaxMS = 0, 0, 0; return c }
	n.Add, n.Update, n.Delete = strip(n.Add), strip(n.Update), strip(n.Delete)
	if n != want {
		t.Errorf("notifications\n got %+v\nwant %+v", n, want)
	}
	if n.Complete() {
		t.Error("Complete() with missed and coalesced notifications")
	}
	if len(tr.objs) != 0 {
		t.Errorf("%d objects tracked after finish", len(tr.objs))
	}
}

func TestTrackerForeignDelete(t *testing.T) {
	tr := newTracker(1)
	// A kept object (no delete by the engine) removed by someone else, e.g. Cleanup: stray, not a latency.
	tr.writing("k", 1, EventAdd, 0, t0)
	tr.wrote("k", EventAdd, 0, true, false)
	tr.observe(0, EventAdd, "k", 0, t0.Add(time.Millisecond))
	if _, ok := tr.observe(0, EventDelete, "k", 0, t0.Add(time.Second)); ok {
		t.Error("a delete the engine did not make gave a latency sample")
	}
	n := tr.finish()
	if n.Stray != 1 || n.Delete.Seen != 0 || n.Delete.Expected != 0 || n.Add.Seen != 1 {
		t.Errorf("notifications %+v, want 1 stray and no delete expected", n)
	}
}

// TestTrackerOutstandingCountsLiveObjects: a step stopped at the end of its window keeps live objects; the
// notification of an update written just before the stop is still owed, and Wait must wait for it instead of
// settling it as missed. The old outstanding() counted only deleted objects (a missed update in the e2e
// TestRunChurnDeliversWithPopulationAndNotifications).
func TestTrackerOutstandingCountsLiveObjects(t *testing.T) {
	tr := newTracker(2)
	tr.writing("k", 1, EventAdd, 0, t0)
	tr.wrote("k", EventAdd, 0, true, false)
	for w := range 2 {
		tr.observe(w, EventAdd, "k", 0, t0.Add(time.Millisecond))
	}
	if got := tr.outstanding(); got != 0 {
		t.Errorf("outstanding = %d, want 0 (the create seen by both watchers)", got)
	}
	for gen := 1; gen <= 2; gen++ {
		tr.writing("k", 1, EventUpdate, gen, t0.Add(time.Duration(gen)*time.Second))
		tr.wrote("k", EventUpdate, gen, true, false)
	}
	if got := tr.outstanding(); got != 1 {
		t.Errorf("outstanding = %d, want 1 (a live object whose updates are not yet seen)", got)
	}
	tr.observe(0, EventUpdate, "k", 2, t0.Add(2*time.Second+time.Millisecond)) // gen 1 coalesced for watcher 0
	if got := tr.outstanding(); got != 1 {
		t.Errorf("outstanding = %d, want 1 (watcher 1 still owes the updates)", got)
	}
	tr.observe(1, EventUpdate, "k", 1, t0.Add(time.Second+time.Millisecond))
	tr.observe(1, EventUpdate, "k", 2, t0.Add(2*time.Second+time.Millisecond))
	if got := tr.outstanding(); got != 0 {
		t.Errorf("outstanding = %d, want 0 (every write's state seen by every watcher)", got)
	}
	// A failed update is owed by no one.
	tr.writing("k", 1, EventUpdate, 3, t0.Add(3*time.Second))
	tr.wrote("k", EventUpdate, 3, false, false)
	if got := tr.outstanding(); got != 0 {
		t.Errorf("outstanding = %d, want 0 after a failed update", got)
	}
	// A create not yet seen is owed.
	tr.writing("m", 2, EventAdd, 0, t0)
	tr.wrote("m", EventAdd, 0, true, false)
	if got := tr.outstanding(); got != 1 {
		t.Errorf("outstanding = %d, want 1 (m's create not yet seen)", got)
	}
}
