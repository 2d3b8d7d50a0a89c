package workers

import (
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Merger merges the workers' accounts of one load into one churn.Result: counts and rates summed, the per-second
// windows summed by their index from the common start, and every percentile (write lag and latency, notification
// latency) taken from the union of the raw samples the workers streamed back (Add), never averaged from theirs.
type Merger struct {
	lag, lat probe.Latencies
	notify   map[string]*probe.Latencies // by notification verb: add, update, delete
	samples  int
}

// NewMerger returns an empty Merger.
func NewMerger() *Merger { return &Merger{notify: map[string]*probe.Latencies{}} }

// Add adds one raw sample of any worker.
func (m *Merger) Add(s churn.Sample) {
	m.samples++
	if s.Notification() {
		l := m.notify[s.Verb]
		if l == nil {
			l = &probe.Latencies{}
			m.notify[s.Verb] = l
		}
		l.Add(s.LatencyMS)
		return
	}
	m.lag.Add(s.LagMS)
	m.lat.Add(s.LatencyMS)
}

// Samples is how many samples were added.
func (m *Merger) Samples() int { return m.samples }

// Merge merges the workers' results (each its own engine's Result) with the raw samples added so far.
func (m *Merger) Merge(results []churn.Result) churn.Result {
	var r churn.Result
	d := &r.Delivery
	var seconds float64
	for i, w := range results {
		wd := w.Delivery
		if i == 0 || (!w.Start.IsZero() && w.Start.Before(r.Start)) {
			r.Start = w.Start
		}
		if w.End.After(r.End) {
			r.End = w.End
		}
		if i == 0 || (!wd.From.IsZero() && wd.From.Before(d.From)) {
			d.From = wd.From
		}
		if wd.To.After(d.To) {
			d.To = wd.To
		}
		seconds = max(seconds, wd.Seconds)
		d.Requested += wd.Requested
		d.Issued += wd.Issued
		d.Delivered += wd.Delivered
		d.Completed += wd.Completed
		d.Succeeded += wd.Succeeded
		d.Throttled += wd.Throttled
		d.Retries += wd.Retries
		d.CapWaits += wd.CapWaits
		d.InFlightMax += wd.InFlightMax
		d.InFlightCap += wd.InFlightCap
		d.LiveMax += wd.LiveMax
		d.CPUCores += wd.CPUCores
		d.CPUUsable += wd.CPUUsable
		r.Objects += w.Objects
		r.Rejected += w.Rejected
		r.Stopped = r.Stopped || w.Stopped
		r.Windows = sumWindows(r.Windows, w.Windows)
		r.Notifications = sumNotifications(r.Notifications, w.Notifications)
	}
	d.Seconds = seconds
	if seconds > 0 {
		d.RequestedRate = float64(d.Requested) / seconds
		d.DeliveredRate = float64(d.Delivered) / seconds
		d.SucceededRate = float64(d.Succeeded) / seconds
	}
	d.Ratio = 1
	if d.Requested > 0 {
		d.Ratio = float64(d.Delivered) / float64(d.Requested)
	}
	lag, lat := m.lag.Sorted(), m.lat.Sorted()
	d.LagP50MS, d.LagP99MS = probe.Percentile(lag, 0.5), probe.Percentile(lag, 0.99)
	if len(lag) > 0 {
		d.LagMaxMS = lag[len(lag)-1]
	}
	d.LatencyP50MS, d.LatencyP99MS = probe.Percentile(lat, 0.5), probe.Percentile(lat, 0.99)
	for verb, c := range map[string]*churn.NotifyCounts{"add": &r.Notifications.Add, "update": &r.Notifications.Update, "delete": &r.Notifications.Delete} {
		c.P50MS, c.P99MS, c.MaxMS = 0, 0, 0
		if l := m.notify[verb]; l != nil {
			s := l.Sorted()
			c.P50MS, c.P99MS = probe.Percentile(s, 0.5), probe.Percentile(s, 0.99)
			if len(s) > 0 {
				c.MaxMS = s[len(s)-1]
			}
		}
	}
	r.Verdict = d.Verdict()
	return r
}

// sumWindows adds b's windows to a's, window by window from the common start (the workers start together).
func sumWindows(a, b []churn.Window) []churn.Window {
	for i, w := range b {
		if i >= len(a) {
			a = append(a, churn.Window{Start: w.Start})
		}
		x := &a[i]
		if w.Start.Before(x.Start) {
			x.Start = w.Start
		}
		x.Requested += w.Requested
		x.Issued += w.Issued
		x.Completed += w.Completed
		x.Succeeded += w.Succeeded
		x.Throttled += w.Throttled
		x.Retries += w.Retries
		x.InFlightMax += w.InFlightMax
		x.CapWaits += w.CapWaits
		x.LagMaxMS = max(x.LagMaxMS, w.LagMaxMS)
		x.Live += w.Live
	}
	return a
}

func sumNotifications(a, b churn.Notifications) churn.Notifications {
	a.Watchers += b.Watchers
	for _, p := range []struct{ x, y *churn.NotifyCounts }{{&a.Add, &b.Add}, {&a.Update, &b.Update}, {&a.Delete, &b.Delete}} {
		p.x.Expected += p.y.Expected
		p.x.Seen += p.y.Seen
		p.x.Missed += p.y.Missed
		p.x.Coalesced += p.y.Coalesced
		p.x.Duplicates += p.y.Duplicates
	}
	a.Stray += b.Stray
	a.Reopened += b.Reopened
	a.Relisted += b.Relisted
	return a
}

// shift moves a worker's result from its clock to the plugin's (offset: its clock minus the plugin's).
func shift(r *churn.Result, offset time.Duration) {
	if offset == 0 {
		return
	}
	r.Start, r.End = r.Start.Add(-offset), r.End.Add(-offset)
	r.Delivery.From, r.Delivery.To = r.Delivery.From.Add(-offset), r.Delivery.To.Add(-offset)
	for i := range r.Windows {
		r.Windows[i].Start = r.Windows[i].Start.Add(-offset)
	}
}
