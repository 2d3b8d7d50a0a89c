package churn

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

const (
	// DeliveredRatio is the share of the requested writes that must succeed for the load to count as delivered: a
	// step below it is "load not delivered", whatever its latencies say.
	DeliveredRatio = 0.95
	// LoadNotDelivered is the verdict of a step whose Delivery.Ratio is below DeliveredRatio.
	LoadNotDelivered = "load not delivered"
	// MutatingSLO is the write latency the server is held to (the Kubernetes mutating API call SLO: p99 <= 1 s).
	MutatingSLO = time.Second
	// LagLimit is the scheduling lag p99 above which the client counts as late: a tenth of a window.
	LagLimit = 100 * time.Millisecond
	// CPUBusyRatio is the share of the process's usable cores above which the client counts as CPU bound.
	CPUBusyRatio = 0.9
	// Limits named by Verdict.
	LimitClient = "client"
	LimitServer = "server"
)

// Window is the delivered-load account of one window (Config.Window, 1 s by default) of a run. Each write counts
// once in each of Requested (in the window of its intended time), Issued (of its start) and Completed (of its
// return); Succeeded, Throttled and Retries count with Completed. These are the rates over time (a chart of
// requested against succeeded per window shows a server falling behind); Delivery also follows each write from the
// window it was due in to whether it was delivered.
type Window struct {
	Start     time.Time `json:"start"`
	Requested int       `json:"requested"` // writes due in the window (by the schedule)
	Issued    int       `json:"issued"`    // writes sent in the window
	Completed int       `json:"completed"` // writes that returned in the window, with or without error
	Succeeded int       `json:"succeeded"`
	// Throttled counts completed writes answered 429 or retried by client-go (which retries a 429, or a 5xx
	// carrying Retry-After).
	Throttled int `json:"throttled"`
	Retries   int `json:"retries"` // client-go's retries of the completed writes
	// InFlightMax is the most writes in flight at once during the window (at least the number in flight when the
	// window was first touched).
	InFlightMax int `json:"in_flight_max"`
	// CapWaits counts the writes due in the window that waited for a free in-flight slot (Config.MaxInFlight).
	CapWaits int `json:"cap_waits"`
	// LagMaxMS is the largest scheduling lag (start minus intended time) of the writes due in the window.
	LagMaxMS float64 `json:"lag_max_ms"`
	// Live is the most objects that existed at once during the window, as the engine's own successful writes say.
	Live int `json:"live"`

	lag, latency probe.Latencies // of the writes due in the window
	// Of the writes due in the window: how many were sent, and how many succeeded, k windows later (index k;
	// the last index also counts anything later).
	sentBy, okBy []int32
}

// maxDelayWindows bounds Window.sentBy and okBy: a write sent or answered this many windows after it was due or
// later counts in the last bucket (never delivered within any grace a summary uses).
const maxDelayWindows = 256

func countBy(by []int32, k int) []int32 {
	k = min(max(k, 0), maxDelayWindows-1)
	for len(by) <= k {
		by = append(by, 0)
	}
	by[k]++
	return by
}

func sumBelow(by []int32, k int) int {
	n := 0
	for i := 0; i < k && i < len(by); i++ {
		n += int(by[i])
	}
	return n
}

// ledger accounts writes into windows. It is safe for concurrent use.
type ledger struct {
	mu       sync.Mutex
	start    time.Time
	width    time.Duration
	windows  []*Window
	inFlight int
	live     int
	cap      int
}

func newLedger(start time.Time, width time.Duration, inFlightCap int) *ledger {
	return &ledger{start: start, width: width, cap: inFlightCap}
}

// index is the number of the window holding t (t before the start counts in the first window).
func (l *ledger) index(t time.Time) int {
	if d := t.Sub(l.start); d > 0 {
		return int(d / l.width)
	}
	return 0
}

// at returns the window holding t, adding windows as needed. Call with mu held.
func (l *ledger) at(t time.Time) *Window {
	i := l.index(t)
	for len(l.windows) <= i {
		n := len(l.windows)
		l.windows = append(l.windows, &Window{
			Start:       l.start.Add(time.Duration(n) * l.width),
			InFlightMax: l.inFlight,
			Live:        l.live,
		})
	}
	return l.windows[i]
}

// requested counts a write due at intended.
func (l *ledger) requested(intended time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at(intended).Requested++
}

// capWait counts a write due at intended that had to wait for an in-flight slot.
func (l *ledger) capWait(intended time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at(intended).CapWaits++
}

// issued counts a write due at intended, sent at start.
func (l *ledger) issued(intended, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight++
	w := l.at(start)
	w.Issued++
	w.InFlightMax = max(w.InFlightMax, l.inFlight)
	lag := ms(start.Sub(intended))
	d := l.at(intended)
	d.lag.Add(lag)
	d.LagMaxMS = max(d.LagMaxMS, lag)
	d.sentBy = countBy(d.sentBy, l.index(start)-l.index(intended))
}

// completed counts the return, at end, of a write due at intended; liveDelta is +1 for a successful create, -1
// for a successful delete.
func (l *ledger) completed(intended, end time.Time, s Sample, liveDelta int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.at(end) // a window first touched here had this write in flight
	l.inFlight--
	l.live += liveDelta
	w.Completed++
	if s.Error == "" {
		w.Succeeded++
	}
	if s.Status == http.StatusTooManyRequests || s.Retries > 0 {
		w.Throttled++
	}
	w.Retries += s.Retries
	w.Live = max(w.Live, l.live)
	d := l.at(intended)
	d.latency.Add(s.LatencyMS)
	if s.Error == "" {
		d.okBy = countBy(d.okBy, l.index(end)-l.index(intended))
	}
}

// snapshot copies the windows.
func (l *ledger) snapshot() []Window {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Window, len(l.windows))
	for i, w := range l.windows {
		out[i] = *w
		out[i].lag, out[i].latency, out[i].sentBy, out[i].okBy = probe.Latencies{}, probe.Latencies{}, nil, nil
	}
	return out
}

// DeliveryGraceWindows is how many windows after the end of a span a write due in it may still be sent and
// answered and count as delivered (one window: 1 s by default). A write answered later was not delivered: the
// server (or the client) fell behind the requested rate.
const DeliveryGraceWindows = 1

// Delivery summarises the delivered load of a span of a run (whole windows).
type Delivery struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Seconds float64   `json:"seconds"`
	// Of the writes due in the span (by their intended time): Requested all of them, Issued those sent and
	// Delivered those answered with success, both by the end of the span plus DeliveryGraceWindows.
	Requested int `json:"requested"`
	Issued    int `json:"issued"`
	Delivered int `json:"delivered"`
	// By the time they returned, within the span (the server's throughput): as Window.
	Completed int `json:"completed"`
	Succeeded int `json:"succeeded"`
	Throttled int `json:"throttled"`
	Retries   int `json:"retries"`
	CapWaits  int `json:"cap_waits"`
	// Rates per second over the span.
	RequestedRate float64 `json:"requested_rate"`
	DeliveredRate float64 `json:"delivered_rate"`
	SucceededRate float64 `json:"succeeded_rate"`
	// Ratio is Delivered / Requested (1 when nothing was requested): the delivered share of the requested load.
	Ratio float64 `json:"ratio"`
	// Lag is the scheduling lag (start minus intended time) and Latency the write latency of the writes due in the
	// span, nearest rank, in ms.
	LagP50MS     float64 `json:"lag_p50_ms"`
	LagP99MS     float64 `json:"lag_p99_ms"`
	LagMaxMS     float64 `json:"lag_max_ms"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	InFlightMax  int     `json:"in_flight_max"`
	InFlightCap  int     `json:"in_flight_cap"` // 0: no cap (closed loop: the workers are the cap)
	LiveMax      int     `json:"live_max"`
	// CPUCores is the CPU this process used over the whole run (cores, from getrusage; 0 where unknown) and
	// CPUUsable the cores it could use (GOMAXPROCS).
	CPUCores  float64 `json:"cpu_cores"`
	CPUUsable int     `json:"cpu_usable"`
}

// summary sums the windows that start in [from, to). Writes due in them count as issued and delivered when
// sent and answered before the end of the DeliveryGraceWindows-th window after the span.
func (l *ledger) summary(from, to time.Time) Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := Delivery{From: from, To: to, InFlightCap: l.cap}
	var lags, lats []*probe.Latencies
	windows := 0
	for i, w := range l.windows {
		if w.Start.Before(from) || !w.Start.Before(to) {
			continue
		}
		windows++
		d.Requested += w.Requested
		d.Completed += w.Completed
		d.Succeeded += w.Succeeded
		d.Throttled += w.Throttled
		d.Retries += w.Retries
		d.CapWaits += w.CapWaits
		d.InFlightMax = max(d.InFlightMax, w.InFlightMax)
		d.LiveMax = max(d.LiveMax, w.Live)
		lags = append(lags, &w.lag)
		lats = append(lats, &w.latency)
		// Windows i..last of the span, then the grace: the write may take (last - i) + grace more windows.
		last := l.index(to.Add(-time.Nanosecond))
		d.Issued += sumBelow(w.sentBy, last-i+1+DeliveryGraceWindows)
		d.Delivered += sumBelow(w.okBy, last-i+1+DeliveryGraceWindows)
	}
	d.Seconds = (time.Duration(windows) * l.width).Seconds()
	if d.Seconds > 0 {
		d.RequestedRate = float64(d.Requested) / d.Seconds
		d.DeliveredRate = float64(d.Delivered) / d.Seconds
		d.SucceededRate = float64(d.Succeeded) / d.Seconds
	}
	d.Ratio = 1
	if d.Requested > 0 {
		d.Ratio = float64(d.Delivered) / float64(d.Requested)
	}
	lag, lat := merged(lags), merged(lats)
	d.LagP50MS, d.LagP99MS = probe.Percentile(lag, 0.5), probe.Percentile(lag, 0.99)
	if len(lag) > 0 {
		d.LagMaxMS = lag[len(lag)-1]
	}
	d.LatencyP50MS, d.LatencyP99MS = probe.Percentile(lat, 0.5), probe.Percentile(lat, 0.99)
	return d
}

func merged(ls []*probe.Latencies) []float64 {
	var all probe.Latencies
	for _, l := range ls {
		for _, v := range l.Sorted() {
			all.Add(v)
		}
	}
	return all.Sorted()
}

// Verdict says whether the requested load was delivered and, when not, which side was the limit.
type Verdict struct {
	Delivered bool    `json:"delivered"`
	Ratio     float64 `json:"ratio"`
	// Limit is LimitClient or LimitServer when the load was not delivered.
	Limit string `json:"limit,omitempty"`
	// Reason is one line naming the measurement behind Limit.
	Reason string `json:"reason,omitempty"`
}

// String is "delivered (0.99)" or "load not delivered (0.61): server: ...".
func (v Verdict) String() string {
	if v.Delivered {
		return fmt.Sprintf("delivered (%.2f of the requested writes)", v.Ratio)
	}
	return fmt.Sprintf("%s (%.2f of the requested writes delivered): the %s was the limit: %s", LoadNotDelivered, v.Ratio, v.Limit, v.Reason)
}

// Verdict applies DeliveredRatio. When the load was not delivered it names the limit, in this order:
//   - the client did not even send the load (Issued < DeliveredRatio of Requested): its CPU (CPUCores above
//     CPUBusyRatio of CPUUsable), else the in-flight cap (writes waited for a slot; the server is named instead when
//     write latency p99 broke MutatingSLO, since slow answers are what filled the cap), else its scheduling lag;
//   - the server did not serve what was sent: 429s (Throttled), else errors, else latency (p99 above MutatingSLO,
//     or writes not answered by the end of the grace after the span).
func (d Delivery) Verdict() Verdict {
	v := Verdict{Ratio: d.Ratio, Delivered: d.Ratio >= DeliveredRatio}
	if v.Delivered {
		return v
	}
	slow := d.LatencyP99MS > ms(MutatingSLO)
	if float64(d.Issued) < DeliveredRatio*float64(d.Requested) {
		v.Limit = LimitClient
		switch {
		case d.CPUUsable > 0 && d.CPUCores >= CPUBusyRatio*float64(d.CPUUsable):
			v.Reason = fmt.Sprintf("it sent %d of %d writes and used %.2f of its %d usable CPU cores", d.Issued, d.Requested, d.CPUCores, d.CPUUsable)
		case d.CapWaits > 0 && slow:
			v.Limit = LimitServer
			v.Reason = fmt.Sprintf("write latency p99 %.0f ms (above the %s SLO) filled the client's in-flight cap of %d, so %d writes waited", d.LatencyP99MS, MutatingSLO, d.InFlightCap, d.CapWaits)
		case d.CapWaits > 0:
			v.Reason = fmt.Sprintf("its in-flight cap of %d was full, %d writes waited (write latency p99 %.0f ms)", d.InFlightCap, d.CapWaits, d.LatencyP99MS)
		default:
			v.Reason = fmt.Sprintf("it sent %d of %d writes; scheduling lag p99 %.0f ms, max %.0f ms", d.Issued, d.Requested, d.LagP99MS, d.LagMaxMS)
		}
		return v
	}
	v.Limit = LimitServer
	failed := d.Completed - d.Succeeded
	switch {
	case d.Throttled > 0:
		v.Reason = fmt.Sprintf("it throttled %d writes (429, %d retries)", d.Throttled, d.Retries)
	case failed > 0 && float64(failed) >= (1-DeliveredRatio)*float64(d.Requested):
		v.Reason = fmt.Sprintf("%d of %d writes failed", failed, d.Completed)
	case slow:
		v.Reason = fmt.Sprintf("write latency p99 %.0f ms is above the %s SLO", d.LatencyP99MS, MutatingSLO)
	default:
		v.Reason = fmt.Sprintf("%d writes were sent but only %d were answered with success in time (write latency p99 %.0f ms)", d.Issued, d.Delivered, d.LatencyP99MS)
	}
	return v
}

// ms converts to milliseconds rounded to microseconds.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}
