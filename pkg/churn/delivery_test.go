package churn

import (
	"strings"
	"testing"
	"time"
)

func TestLedgerWindows(t *testing.T) {
	l := newLedger(t0, time.Second, 10)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(latency float64) Sample { return Sample{LatencyMS: latency} }
	// Write A: due 100 ms, sent 150 ms, back 300 ms: all in window 0.
	l.requested(at(100))
	l.issued(at(100), at(150))
	l.completed(at(100), at(300), ok(150), 1)
	// Write B: due 900 ms, sent 1200 ms (late, window 1), back 2500 ms (window 2), a 429 after one retry.
	l.requested(at(900))
	l.issued(at(900), at(1200))
	// Write C: due 1500 ms, never sent (the run stopped).
	l.requested(at(1500))
	l.completed(at(900), at(2500), Sample{LatencyMS: 1300, Status: 429, Error: "too many requests", Retries: 1}, 0)

	w := l.snapshot()
	if len(w) != 3 {
		t.Fatalf("%d windows, want 3", len(w))
	}
	type counts struct{ req, iss, comp, succ, thr, inflight int }
	want := []counts{{2, 1, 1, 1, 0, 1}, {1, 1, 0, 0, 0, 1}, {0, 0, 1, 0, 1, 1}}
	for i, c := range want {
		got := counts{w[i].Requested, w[i].Issued, w[i].Completed, w[i].Succeeded, w[i].Throttled, w[i].InFlightMax}
		if got != c {
			t.Errorf("window %d = %+v, want %+v", i, got, c)
		}
		if !w[i].Start.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Errorf("window %d starts at %s", i, w[i].Start)
		}
	}
	if w[0].LagMaxMS != 300 {
		t.Errorf("window 0 lag max %v ms, want 300 (write B, due in window 0, sent 300 ms late)", w[0].LagMaxMS)
	}
	if w[0].Live != 1 {
		t.Errorf("window 0 live %d, want 1", w[0].Live)
	}

	d := l.summary(t0, t0.Add(3*time.Second))
	if d.Requested != 3 || d.Issued != 2 || d.Delivered != 1 || d.Completed != 2 || d.Succeeded != 1 || d.Throttled != 1 || d.Retries != 1 {
		t.Errorf("summary = %+v", d)
	}
	if d.Ratio != 1.0/3 {
		t.Errorf("ratio %v, want 1/3 (delivered/requested)", d.Ratio)
	}
	if d.LagMaxMS != 300 || d.LagP50MS != 50 || d.LatencyP99MS != 1300 {
		t.Errorf("lag p50 %v max %v, latency p99 %v; want 50, 300, 1300", d.LagP50MS, d.LagMaxMS, d.LatencyP99MS)
	}
	if d.RequestedRate != 1 || d.SucceededRate != 1.0/3 {
		t.Errorf("rates requested %v succeeded %v per s over 3 s", d.RequestedRate, d.SucceededRate)
	}
	// A span of window 1 only.
	// A span of window 1 only: C was due in it and never sent.
	if d := l.summary(t0.Add(time.Second), t0.Add(2*time.Second)); d.Requested != 1 || d.Issued != 0 || d.Completed != 0 || d.Ratio != 0 {
		t.Errorf("window-1 summary = %+v", d)
	}
	if d := l.summary(t0.Add(5*time.Second), t0.Add(6*time.Second)); d.Ratio != 1 || d.Requested != 0 {
		t.Errorf("empty span: ratio %v requested %d, want 1 and 0", d.Ratio, d.Requested)
	}
}

func TestLedgerCapWaitsAndInFlight(t *testing.T) {
	l := newLedger(t0, time.Second, 2)
	for range 3 {
		l.requested(t0)
		l.issued(t0, t0)
	}
	l.capWait(t0)
	l.completed(t0, t0.Add(2*time.Second), Sample{}, 0)
	w := l.snapshot()
	if w[0].InFlightMax != 3 || w[0].CapWaits != 1 {
		t.Errorf("window 0 in flight max %d cap waits %d, want 3 and 1", w[0].InFlightMax, w[0].CapWaits)
	}
	if w[1].InFlightMax != 3 {
		t.Errorf("window 1 (nothing sent) in flight max %d, want the 3 still in flight", w[1].InFlightMax)
	}
}

func TestVerdict(t *testing.T) {
	base := Delivery{Requested: 1000, Issued: 1000, Delivered: 1000, Completed: 1000, Succeeded: 1000, InFlightCap: 500,
		CPUUsable: 2, LatencyP99MS: 20, LagP99MS: 1}
	for _, tc := range []struct {
		name      string
		mod       func(*Delivery)
		delivered bool
		limit     string
		reason    string
	}{
		{"all delivered", func(*Delivery) {}, true, "", ""},
		{"exactly 0.95 is delivered", func(d *Delivery) { d.Delivered = 950 }, true, "", ""},
		{"client cpu", func(d *Delivery) { d.Issued, d.Delivered, d.CPUCores = 600, 600, 1.95 }, false, LimitClient, "CPU"},
		{"client in-flight cap", func(d *Delivery) { d.Issued, d.Delivered, d.CapWaits = 600, 600, 400 }, false, LimitClient, "in-flight cap of 500"},
		{"slow server fills the cap", func(d *Delivery) { d.Issued, d.Delivered, d.CapWaits, d.LatencyP99MS = 600, 600, 400, 2500 }, false, LimitServer, "filled the client's in-flight cap"},
		{"client lag", func(d *Delivery) { d.Issued, d.Delivered, d.LagP99MS = 600, 600, 900 }, false, LimitClient, "scheduling lag p99 900 ms"},
		{"server 429", func(d *Delivery) { d.Delivered, d.Succeeded, d.Throttled, d.Retries = 800, 800, 200, 350 }, false, LimitServer, "throttled 200 writes"},
		{"server errors", func(d *Delivery) { d.Delivered, d.Succeeded = 800, 800 }, false, LimitServer, "200 of 1000 writes failed"},
		{"server latency", func(d *Delivery) { d.Delivered, d.LatencyP99MS = 900, 4000 }, false, LimitServer, "latency p99 4000 ms"},
		{"server unanswered", func(d *Delivery) { d.Delivered = 900 }, false, LimitServer, "only 900 were answered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base
			tc.mod(&d)
			d.Ratio = float64(d.Delivered) / float64(d.Requested)
			v := d.Verdict()
			if v.Delivered != tc.delivered || v.Limit != tc.limit || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("verdict = %+v, want delivered %v, limit %q, reason containing %q", v, tc.delivered, tc.limit, tc.reason)
			}
			if !tc.delivered && !strings.HasPrefix(v.String(), LoadNotDelivered) {
				t.Errorf("verdict line %q does not start with %q", v.String(), LoadNotDelivered)
			}
		})
	}
}

// A write due in a span is delivered when it succeeds by the end of the grace window after the span, not later.
func TestDeliveryGrace(t *testing.T) {
	l := newLedger(t0, time.Second, 10)
	due := t0.Add(900 * time.Millisecond)
	for _, back := range []time.Duration{1500 * time.Millisecond, 1999 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
		l.requested(due)
		l.issued(due, due)
		l.completed(due, t0.Add(back), Sample{}, 0)
	}
	d := l.summary(t0, t0.Add(time.Second))
	if d.Requested != 4 || d.Issued != 4 || d.Delivered != 2 || d.Ratio != 0.5 {
		t.Errorf("summary %+v, want 4 requested and sent, 2 delivered (answered before 2 s: the span plus one window)", d)
	}
	if d := l.summary(t0, t0.Add(2*time.Second)); d.Delivered != 3 {
		t.Errorf("over two windows %d delivered, want 3 (answered before 3 s)", d.Delivered)
	}
}
