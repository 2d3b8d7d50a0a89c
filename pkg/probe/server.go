package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// The apiserver's request-duration histograms. apiserver_request_duration_seconds (STABLE, everywhere) covers the
// whole request including priority-and-fairness queue wait and webhooks, with buckets from 5 ms (5, 25, 50, 100,
// 200 ms, ...). The SLI histogram (1.26+) excludes webhooks and APF queue wait, which is what the API call SLOs
// measure, but its buckets start at 50 ms, so every healthy request reads "<=50"; the SLO name is its deprecated
// predecessor. Rows use the finest histogram the server exposes for that series (ties: this order).
var serverMetrics = []string{
	"apiserver_request_sli_duration_seconds",
	"apiserver_request_slo_duration_seconds",
	"apiserver_request_duration_seconds",
}

const processStartMetric = "process_start_time_seconds"

// The API Priority and Fairness counters kept per priority level (APFCounts): requests dispatched, and rejected
// (429: queue full, timed out in the queue, concurrency limit).
const (
	apfDispatchedMetric = "apiserver_flowcontrol_dispatched_requests_total"
	apfRejectedMetric   = "apiserver_flowcontrol_rejected_requests_total"
)

// ServerSnapshot is the apiserver's request-duration histograms at one moment, per
// verb/resource/subresource/scope (other labels such as group, version, component and dry_run are
// summed), taken from one apiserver's /metrics.
type ServerSnapshot struct {
	// Metric is the histogram rows use by preference: the one with the finest buckets among those the server
	// exposes (apiserver_request_duration_seconds on every current server).
	Metric string
	// ProcessStartTime is the answering apiserver's process_start_time_seconds (0 when absent). With
	// several apiservers behind a load balancer, two snapshots may come from different replicas; a
	// different start time between snapshots means the difference is not one server's traffic.
	ProcessStartTime float64

	families map[string]map[seriesKey]histogram
	order    []string // the families present, finest first
	// apf: per priority level, the dispatched and rejected counters (summed over flow schemas and reasons)
	apf map[string][2]float64
}

// APFCounts returns the requests dispatched and rejected by priority level level between before and after (the
// counters' deltas, from the same /metrics as the latency rows; a level without series has had no request yet: 0);
// ok is false when the server exposes no APF counter or ServerChanged says they are not one process's traffic.
func APFCounts(before, after *ServerSnapshot, level string) (dispatched, rejected int64, ok bool) {
	if before == nil || after == nil || len(after.apf) == 0 || ServerChanged(before, after) != "" {
		return 0, 0, false
	}
	a := after.apf[level]
	b := before.apf[level] // a level created since before: all of it is new
	return int64(math.Round(a[0] - b[0])), int64(math.Round(a[1] - b[1])), true
}

type seriesKey struct {
	verb, resource, subresource, scope string
}

// histogram holds cumulative bucket counts by upper bound; the last bucket is +Inf (the sample count).
type histogram struct {
	count   float64
	sum     float64 // seconds
	buckets []bucket
}

type bucket struct {
	upper float64
	count float64 // cumulative
}

// ServerStat is the server-side latency of one verb/resource/subresource/scope between two snapshots.
type ServerStat struct {
	Verb        string `json:"verb"`
	Resource    string `json:"resource"`
	Subresource string `json:"subresource,omitempty"`
	Scope       string `json:"scope"`
	Count       int64  `json:"count"`
	// Mean is exact: the delta of the histogram's _sum over the delta of its _count, in ms.
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	// P50Bucket.. say what the histogram can actually tell: the bucket holding the quantile, "<=50" (ms) or,
	// past the highest bound, ">60000". The interpolated P50.. are estimates inside that bucket: when every
	// request falls in the first bucket the interpolation says half its bound whatever the real latency was.
	P50Bucket string `json:"p50_bucket"`
	P90Bucket string `json:"p90_bucket"`
	P99Bucket string `json:"p99_bucket"`
	// Metric is the histogram this row came from.
	Metric string `json:"metric"`
}

// SnapshotServer reads GET /metrics through rc (a client of the dedicated config, typically
// client.Discovery().RESTClient()). When the identity may not read /metrics the error satisfies
// apierrors.IsForbidden, so callers can skip server-side figures with a note.
func SnapshotServer(ctx context.Context, rc rest.Interface) (*ServerSnapshot, error) {
	body, err := rc.Get().AbsPath("/metrics").SetHeader("Accept", "text/plain;version=0.0.4").Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to get /metrics: %w", err)
	}
	defer func() { _ = body.Close() }()
	snap, err := parseServerMetrics(body)
	if err != nil {
		return nil, fmt.Errorf("failed to read /metrics: %w", err)
	}
	return snap, nil
}

// parseServerMetrics keeps only the lines of the wanted families (an apiserver exposes tens of thousands
// of lines; parsing only these is cheaper and cannot fail on unrelated metrics), then parses them with
// the Prometheus text-format parser.
func parseServerMetrics(r io.Reader) (*ServerSnapshot, error) {
	wanted := map[string]bool{processStartMetric: true, apfDispatchedMetric: true, apfRejectedMetric: true}
	for _, m := range serverMetrics {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			wanted[m+suffix] = true
		}
	}
	var filtered strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if wanted[metricNameOf(line)] {
			filtered.WriteString(line)
			filtered.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(filtered.String()))
	if err != nil {
		return nil, err
	}
	snap := &ServerSnapshot{families: map[string]map[seriesKey]histogram{}}
	if mf := families[processStartMetric]; mf != nil && len(mf.GetMetric()) > 0 {
		m := mf.GetMetric()[0]
		snap.ProcessStartTime = m.GetGauge().GetValue() + m.GetUntyped().GetValue()
	}
	snap.apf = map[string][2]float64{}
	for i, name := range []string{apfDispatchedMetric, apfRejectedMetric} {
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "priority_level" {
					c := snap.apf[l.GetValue()]
					c[i] += m.GetCounter().GetValue() + m.GetUntyped().GetValue()
					snap.apf[l.GetValue()] = c
				}
			}
		}
	}
	finest := map[string]float64{}
	for _, name := range serverMetrics {
		mf := families[name]
		if mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		snap.families[name] = aggregate(mf)
		snap.order = append(snap.order, name)
		finest[name] = math.Inf(1)
		for _, h := range snap.families[name] {
			if len(h.buckets) > 1 {
				finest[name] = min(finest[name], h.buckets[0].upper)
			}
		}
	}
	if len(snap.order) == 0 {
		return nil, errors.New("no apiserver request duration histogram (" + strings.Join(serverMetrics, ", ") + ")")
	}
	sort.SliceStable(snap.order, func(i, j int) bool { return finest[snap.order[i]] < finest[snap.order[j]] })
	snap.Metric = snap.order[0]
	return snap, nil
}

// metricNameOf returns the metric name a text-format line is about: the sample's name, or the name
// after "# HELP " / "# TYPE ". Other comments give "".
func metricNameOf(line string) string {
	if name, ok := strings.CutPrefix(line, "# HELP "); ok {
		line = name
	} else if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
		line = name
	} else if strings.HasPrefix(line, "#") {
		return ""
	}
	if i := strings.IndexAny(line, "{ \t"); i >= 0 {
		return line[:i]
	}
	return line
}

// aggregate sums the family's histograms per seriesKey, bucket by bucket.
func aggregate(mf *dto.MetricFamily) map[seriesKey]histogram {
	type acc struct {
		count, sum float64
		buckets    map[float64]float64
	}
	accs := map[seriesKey]*acc{}
	for _, m := range mf.GetMetric() {
		var k seriesKey
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "verb":
				k.verb = l.GetValue()
			case "resource":
				k.resource = l.GetValue()
			case "subresource":
				k.subresource = l.GetValue()
			case "scope":
				k.scope = l.GetValue()
			}
		}
		a := accs[k]
		if a == nil {
			a = &acc{buckets: map[float64]float64{}}
			accs[k] = a
		}
		h := m.GetHistogram()
		a.count += float64(h.GetSampleCount()) + h.GetSampleCountFloat()
		a.sum += h.GetSampleSum()
		for _, b := range h.GetBucket() {
			if math.IsInf(b.GetUpperBound(), +1) {
				continue // the +Inf bucket is the sample count
			}
			a.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount()) + b.GetCumulativeCountFloat()
		}
	}
	out := make(map[seriesKey]histogram, len(accs))
	for k, a := range accs {
		h := histogram{count: a.count, sum: a.sum}
		for upper, c := range a.buckets {
			h.buckets = append(h.buckets, bucket{upper: upper, count: c})
		}
		sort.Slice(h.buckets, func(i, j int) bool { return h.buckets[i].upper < h.buckets[j].upper })
		h.buckets = append(h.buckets, bucket{upper: math.Inf(+1), count: a.count})
		out[k] = h
	}
	return out
}

// ServerChanged says why before and after cannot be one apiserver process's traffic, or "" when they can: the
// process start times differ (a restart, or another replica behind the load balancer answered), the server
// exposes other histograms (another version), or a counter went backwards (a reset the start time did not show).
// The difference of two such snapshots mixes processes and can hold another process's whole-lifetime histogram, so
// callers drop it.
func ServerChanged(before, after *ServerSnapshot) string {
	if before == nil || after == nil {
		return ""
	}
	if before.ProcessStartTime != after.ProcessStartTime {
		return fmt.Sprintf("the apiserver process changed between the snapshots (process_start_time_seconds %s, then %s): "+
			"it restarted, or another replica behind the load balancer answered",
			startTime(before.ProcessStartTime), startTime(after.ProcessStartTime))
	}
	if !slices.Equal(before.order, after.order) {
		return fmt.Sprintf("the apiserver exposes other histograms than at the previous snapshot (%s, then %s): another server answered",
			strings.Join(before.order, ", "), strings.Join(after.order, ", "))
	}
	for _, name := range before.order {
		bf, af := before.families[name], after.families[name]
		for k, b := range bf {
			a, ok := af[k]
			if !ok {
				if after.ProcessStartTime != 0 {
					continue // the same process (same start time) dropped a series: no reset of the others
				}
				return fmt.Sprintf("%s of %s %s disappeared: the apiserver's counters were reset", name, k.verb, k.resource)
			}
			if _, reset := subtract(a, b); reset {
				return fmt.Sprintf("%s of %s %s went backwards: the apiserver's counters were reset", name, k.verb, k.resource)
			}
		}
	}
	return ""
}

func startTime(v float64) string {
	if v == 0 {
		return "absent"
	}
	return time.Unix(0, int64(v*1e9)).UTC().Format(time.RFC3339)
}

// DiffServer returns, per verb/resource/subresource/scope, the count, exact mean and quantiles of the requests
// served between the two snapshots, from the finest histogram the server has for that series (ServerStat.Metric).
// Quantiles come from bucket deltas like Prometheus histogram_quantile: find the bucket holding the rank,
// interpolate linearly inside it (so values are estimates bounded by bucket edges, unlike the client-side
// nearest-rank figures), and report the highest finite bound when the rank falls in the +Inf bucket. The mean is
// the _sum delta over the _count delta.
//
// Only rows with a positive count delta are returned, sorted by count (descending) then verb, resource,
// subresource, scope. WATCH and CONNECT are left out: for these long-running requests the histogram
// records how long the stream stayed open, not a latency. Without a before snapshot, or when ServerChanged
// says the two are not one process's traffic, there is no difference to report: nil.
func DiffServer(before, after *ServerSnapshot) []ServerStat {
	if before == nil || after == nil || ServerChanged(before, after) != "" {
		return nil
	}
	var out []ServerStat
	seen := map[seriesKey]bool{}
	for _, name := range after.order {
		for k, a := range after.families[name] {
			if seen[k] || k.verb == "WATCH" || k.verb == "CONNECT" {
				continue
			}
			seen[k] = true
			d := a // a series created since before: all of it is new
			if b, ok := before.families[name][k]; ok {
				d, _ = subtract(a, b)
			}
			if d.count < 1 {
				continue
			}
			out = append(out, ServerStat{
				Verb: k.verb, Resource: k.resource, Subresource: k.subresource, Scope: k.scope,
				Count:     int64(math.Round(d.count)),
				Mean:      round3(max(d.sum, 0) / d.count * 1000),
				P50:       quantileMS(0.50, d.buckets),
				P90:       quantileMS(0.90, d.buckets),
				P99:       quantileMS(0.99, d.buckets),
				P50Bucket: bucketOf(0.50, d.buckets),
				P90Bucket: bucketOf(0.90, d.buckets),
				P99Bucket: bucketOf(0.99, d.buckets),
				Metric:    name,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Verb != b.Verb {
			return a.Verb < b.Verb
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Subresource != b.Subresource {
			return a.Subresource < b.Subresource
		}
		return a.Scope < b.Scope
	})
	return out
}

// subtract returns after-before bucket by bucket (bounds missing from before count as 0), and whether a count
// decreased (the counters were reset).
func subtract(after, before histogram) (histogram, bool) {
	prev := make(map[float64]float64, len(before.buckets))
	for _, b := range before.buckets {
		prev[b.upper] = b.count
	}
	d := histogram{count: after.count - before.count, sum: after.sum - before.sum, buckets: make([]bucket, len(after.buckets))}
	if d.count < 0 {
		return d, true
	}
	for i, b := range after.buckets {
		c := b.count - prev[b.upper]
		if c < 0 {
			return d, true
		}
		d.buckets[i] = bucket{upper: b.upper, count: c}
	}
	return d, false
}

// quantileMS is Prometheus' bucketQuantile (histogram_quantile) over cumulative buckets sorted by upper
// bound and ending with +Inf, converted to milliseconds and rounded to microseconds. Degenerate input
// gives 0 rather than NaN so results always encode as JSON.
func quantileMS(q float64, buckets []bucket) float64 {
	n := len(buckets)
	if n < 2 || !math.IsInf(buckets[n-1].upper, +1) {
		return 0
	}
	// Make counts monotonic, as Prometheus does for scrapes that raced with observations.
	cum := make([]float64, n)
	for i, b := range buckets {
		cum[i] = b.count
		if i > 0 && cum[i] < cum[i-1] {
			cum[i] = cum[i-1]
		}
	}
	total := cum[n-1]
	if total == 0 {
		return 0
	}
	r := q * total
	b := sort.Search(n-1, func(i int) bool { return cum[i] >= r })
	var v float64
	switch {
	case b == n-1:
		v = buckets[n-2].upper
	case b == 0 && buckets[0].upper <= 0:
		v = buckets[0].upper
	default:
		start, end, count := 0.0, buckets[b].upper, cum[b]
		if b > 0 {
			start = buckets[b-1].upper
			count -= cum[b-1]
			r -= cum[b-1]
		}
		v = start + (end-start)*(r/count)
	}
	return round3(v * 1000)
}

// bucketOf names the bucket holding quantile q: "<=B" with B its upper bound in ms, or ">B" past the highest finite
// bound.
func bucketOf(q float64, buckets []bucket) string {
	n := len(buckets)
	if n < 2 || buckets[n-1].count == 0 {
		return ""
	}
	r := q * buckets[n-1].count
	b := sort.Search(n, func(i int) bool { return buckets[i].count >= r })
	if b >= n-1 {
		return ">" + strconv.FormatFloat(buckets[n-2].upper*1000, 'f', -1, 64)
	}
	return "<=" + strconv.FormatFloat(buckets[b].upper*1000, 'f', -1, 64)
}
