package probe

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	testclock "k8s.io/utils/clock/testing"
)

// issue 12 item 18: every kind fired at the same instant of each interval and they queued behind each other on
// the probe's connection. The i-th of n kinds must start i*interval/n into each interval.
func TestRunStaggersKinds(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
	)
	clk := testclock.NewFakeClock(t0)
	cfg := testConfig(KindGet, KindListNamespace, KindListCluster)
	cfg.Interval = 300 * time.Millisecond
	p, err := New(cfg, cs, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := runFast(t, p, clk, 3, nil)
	seen := map[time.Time]Kind{}
	for i, k := range cfg.Kinds {
		samples := c.of(k)
		if len(samples) != 3 {
			t.Fatalf("%s: %d samples, want 3 (the stagger must not cost a sample)", k, len(samples))
		}
		for _, s := range samples {
			want := t0.Add(time.Duration(s.Seq-1)*300*time.Millisecond + time.Duration(i)*100*time.Millisecond)
			if !s.TS.Equal(want) || s.LagMS != 0 {
				t.Errorf("%s seq %d: TS %s lag %v, want %s (offset %d x 100ms), no lag", k, s.Seq, s.TS.Format("05.000"), s.LagMS, want.Format("05.000"), i)
			}
			if other, dup := seen[s.TS]; dup {
				t.Errorf("%s and %s fire at the same instant %s", k, other, s.TS.Format("05.000"))
			}
			seen[s.TS] = k
		}
	}
	if lag := LagOf("baseline", c.all(), cfg.Interval); lag.Unfair || lag.Warning() != "" || lag.P99MS != 0 || lag.Count != 9 {
		t.Errorf("lag %+v warning %q, want a fair run", lag, lag.Warning())
	}
}

func TestStaggerOffset(t *testing.T) {
	for _, tc := range []struct {
		i, n int
		want time.Duration
	}{{0, 6, 0}, {1, 6, time.Second / 6}, {5, 6, 5 * time.Second / 6}, {0, 1, 0}, {0, 0, 0}} {
		if got := StaggerOffset(time.Second, tc.i, tc.n); got != tc.want {
			t.Errorf("StaggerOffset(1s, %d, %d) = %v, want %v", tc.i, tc.n, got, tc.want)
		}
	}
}

// A scheduler that wakes late fires the missed slots at once; their lag is recorded, and a lag p99 above 10% of
// the interval says the measurement is not fair.
func TestRunLagWarning(t *testing.T) {
	cs := fake.NewClientset()
	clk := testclock.NewFakeClock(t0)
	p, err := New(testConfig(KindGet), cs, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	done := startRun(p, "ramp-step-1", 4*time.Second, c)
	eventually(t, "the first sample", func() bool { return c.len() == 1 })
	eventually(t, "the scheduler waiting", func() bool { return clk.Waiters() == 2 })
	clk.SetTime(t0.Add(3500 * time.Millisecond)) // the scheduler wakes 2.5 s late
	eventually(t, "the missed samples", func() bool { return c.len() == 4 })
	clk.SetTime(t0.Add(4 * time.Second))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var lags []float64
	for _, s := range c.all() {
		lags = append(lags, s.LagMS)
	}
	slices.Sort(lags) // the missed slots fire concurrently
	if want := []float64{0, 500, 1500, 2500}; !equalFloats(lags, want) {
		t.Fatalf("lags %v, want %v", lags, want)
	}
	lag := LagOf("ramp-step-1", c.all(), time.Second)
	if !lag.Unfair || lag.P99MS != 2500 || lag.P50MS != 500 || lag.MaxMS != 2500 || lag.IntervalMS != 1000 {
		t.Errorf("lag %+v, want unfair, p99 2500 (the max of 4), p50 500", lag)
	}
	if w := lag.Warning(); !strings.Contains(w, "the probe's client lagged in ramp-step-1: scheduling lag p99 2500.0 ms is more than 10% of the 1s interval, so this measurement is not fair") {
		t.Errorf("warning %q", w)
	}
}

func TestLagOfBoundary(t *testing.T) {
	at := func(lag ...float64) []Sample {
		var out []Sample
		for _, l := range lag {
			out = append(out, Sample{LagMS: l})
		}
		return out
	}
	if l := LagOf("", at(0, 100), time.Second); l.Unfair {
		t.Errorf("p99 at exactly 10%%: %+v, want fair", l)
	}
	if l := LagOf("", at(0, 100.001), time.Second); !l.Unfair || !strings.HasPrefix(l.Warning(), "the probe's client lagged: ") {
		t.Errorf("p99 above 10%%: %+v %q, want unfair", l, l.Warning())
	}
	if l := LagOf("x", nil, time.Second); l.Unfair || l.Count != 0 {
		t.Errorf("no samples: %+v", l)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
