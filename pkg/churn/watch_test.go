package churn

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
)

// A watch the server ends with 410 Gone is listed again: objects seen already come back as duplicate adds, and the
// relist is counted; a watch that just closes is re-opened from its resourceVersion, without a list.
func TestWatcherRelistsAfterGone(t *testing.T) {
	f := newFakeObjects(clock.RealClock{})
	tr := newTracker(1)
	var got []Sample
	samples := make(chan Sample, 100)
	w := &watcher{idx: 0, objs: f, selector: "x=y", timeout: time.Second, clk: clock.RealClock{}, tr: tr,
		emit: func(s Sample) { samples <- s }}
	if err := w.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("o-%d", i)
		tr.writing(name, int64(i), EventAdd, 0, time.Now())
		if err := f.create(context.Background(), metav1.ObjectMeta{Name: name}, nil); err != nil {
			t.Fatal(err)
		}
		tr.wrote(name, EventAdd, 0, true, false)
	}
	for range 3 {
		got = append(got, <-samples)
	}
	watchers := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.watchers)
	}
	f.mu.Lock()
	f.watchers[0].Stop() // closed by the server: re-open from the resourceVersion, no list
	f.mu.Unlock()
	eventually(t, "the watch re-opened", func() bool { return watchers() == 2 })
	f.mu.Lock()
	f.watchers[1].Error(&apierrors.NewResourceExpired("too old resource version").ErrStatus)
	f.mu.Unlock()
	eventually(t, "the watch re-opened after 410", func() bool { return watchers() == 3 })
	w.stop()
	n := tr.finish()
	if n.Reopened != 2 || n.Relisted != 1 {
		t.Errorf("reopened %d relisted %d, want 2 and 1", n.Reopened, n.Relisted)
	}
	if n.Add.Seen != 3 || n.Add.Duplicates != 3 || n.Add.Missed != 0 {
		t.Errorf("add %+v, want 3 seen, 3 duplicates (the relist), none missed", n.Add)
	}
	if len(got) != 3 || got[0].Row != RowNotifyAdd {
		t.Errorf("samples %+v", got)
	}
}
