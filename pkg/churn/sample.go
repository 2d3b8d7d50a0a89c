package churn

import (
	"strings"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Rows of the result tables: one per write verb and one per notification type.
const (
	RowCreate       = "churn:create"
	RowUpdate       = "churn:update"
	RowDelete       = "churn:delete"
	RowNotifyAdd    = "notify:add"
	RowNotifyUpdate = "notify:update"
	RowNotifyDelete = "notify:delete"
)

// Rows lists every row in display order.
var Rows = []string{RowCreate, RowUpdate, RowDelete, RowNotifyAdd, RowNotifyUpdate, RowNotifyDelete}

// NotifyRow is the row of a notification type.
func NotifyRow(t EventType) string { return "notify:" + string(t) }

// Sample is one write of the engine, or one notification of a write, serialised as one JSON line.
//
// A write sample (Row churn:create|update|delete) is timed like a probe sample: TS is its intended time (its slot
// in the schedule, fixed when the object's arrival was drawn), Start when it was sent, LagMS = Start - TS,
// LatencyMS the time around the client-go call (a timeout counts at the request timeout), Status the HTTP status of
// the last response (0 for none), Retries client-go's own retries (after a 429 or a 5xx with Retry-After).
//
// A notification sample (Row notify:add|update|delete) is the first notification, on watch Watcher, of the write
// that started at Start: LatencyMS is from the write's start to the moment the watch delivered the event, on this
// process's clock (no clock skew). TS and Start are both the write's start.
type Sample struct {
	TS        time.Time `json:"ts"`
	Start     time.Time `json:"start"`
	Phase     string    `json:"phase,omitempty"`
	Row       string    `json:"row"`
	Verb      string    `json:"verb"` // create, update, delete; add, update, delete for notifications
	Object    string    `json:"object"`
	Seq       int64     `json:"seq"` // the object's number in the run, from 1
	Gen       int       `json:"gen"` // the object's generation after the write: 0 as created, k after update k
	LatencyMS float64   `json:"latency_ms"`
	LagMS     float64   `json:"lag_ms,omitempty"`
	Status    int       `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
	Retries   int       `json:"retries,omitempty"`
	// PriorityLevel is the APF priority level that served the write (its name when the engine could list
	// PriorityLevelConfigurations, else the UID from the response header).
	PriorityLevel string `json:"priority_level,omitempty"`
	Watcher       int    `json:"watcher,omitempty"` // notification: which watch (0-based)
}

// Notification reports whether s is a notification sample (not a write).
func (s Sample) Notification() bool { return strings.HasPrefix(s.Row, "notify:") }

// Probe converts s for the probe statistics (probe.Aggregate): Kind is the row (churn:create, notify:add, ...),
// Seq the object's number.
func (s Sample) Probe(source string) probe.Sample {
	return probe.Sample{
		TS: s.TS, Phase: s.Phase, Kind: probe.Kind(s.Row), Verb: s.Verb, LatencyMS: s.LatencyMS, LagMS: s.LagMS,
		Status: s.Status, Error: s.Error, Seq: s.Seq, Source: source, PriorityLevel: s.PriorityLevel, Retries: s.Retries,
	}
}
