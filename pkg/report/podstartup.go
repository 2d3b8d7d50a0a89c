package report

import (
	"fmt"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// PodStartupTitle heads the pod startup table (text and report.html).
const PodStartupTitle = "POD STARTUP (ms; pod-startup = the SLI: created -> all containers started, observed via watch; SLO p99 <= 5s)"

// PodStartupHeader and PodStartupRows are the pod startup table of a run (run.json podStartup): per phase its rows
// (pod-startup, pod-schedule, pod-run, pod-startup-server), the SLO and the scheduling throughput on the
// pod-startup row, and a note (control-plane only on hollow nodes; pods pending at the end).
func PodStartupHeader() []string {
	return []string{"PHASE", "KIND", "COUNT", "P50", "P90", "P99", "SLO", "SCHED/S MEAN", "SCHED/S MAX", "NOTE"}
}

// PodStartupRows: see PodStartupHeader; nil without pod startup figures.
func PodStartupRows(ps *result.PodStartup) [][]string {
	if ps == nil {
		return nil
	}
	var rows [][]string
	for _, p := range ps.Phases {
		note := ""
		if p.ControlPlaneOnly {
			note = "control-plane only (hollow nodes: no kubelet, no image pull)"
		}
		if p.Pending > 0 {
			note = strings.TrimPrefix(note+fmt.Sprintf("; %d pending %v", p.Pending, p.PendingReasons), "; ")
		}
		for _, r := range p.Rows {
			slo, mean, mx := "", "", ""
			if r.Kind == "pod-startup" {
				slo, mean, mx = p.SLO, fmt.Sprintf("%.2f", p.ThroughputMean), fmt.Sprintf("%.2f", p.ThroughputMax)
			}
			rows = append(rows, []string{p.Phase, string(r.Kind), fmt.Sprint(r.Count), fmt.Sprintf("%.0f", r.P50), fmt.Sprintf("%.0f", r.P90),
				fmt.Sprintf("%.0f", r.P99), slo, mean, mx, note})
		}
	}
	return rows
}

// HollowLine says what hollow nodes the run had ("" without).
func HollowLine(h *result.Hollow) string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf("HOLLOW NODES: %d (kwok %s, taint %s), present in every phase from the baseline on", h.Nodes, h.Controller, h.Taint)
}

// KwokTrafficTitle heads the table of kwok's own traffic (text and report.html).
const KwokTrafficTitle = "KWOK TRAFFIC (kwok's writes for the hollow nodes, seen by watches of this process; SERVER LEASE PUTS: the apiserver's count from every client)"

// KwokTrafficHeader and KwokTrafficRows are the table of kwok's writes per phase (run.json hollow.traffic).
func KwokTrafficHeader() []string {
	return []string{"PHASE", "SECONDS", "LEASE RENEWALS", "NODE UPDATES", "WRITES/S", "SERVER LEASE PUTS"}
}

// KwokTrafficRows: see KwokTrafficHeader; nil without figures.
func KwokTrafficRows(h *result.Hollow) [][]string {
	if h == nil || h.Traffic == nil {
		return nil
	}
	var rows [][]string
	for _, p := range h.Traffic.Phases {
		server := "-"
		if p.ServerLeaseWrites >= 0 {
			server = fmt.Sprint(p.ServerLeaseWrites)
		}
		rows = append(rows, []string{p.Phase, fmt.Sprintf("%.0f", p.Seconds), fmt.Sprint(p.LeaseRenewals), fmt.Sprint(p.NodeUpdates),
			fmt.Sprintf("%.2f", p.WritesPerSecond), server})
	}
	return rows
}

// KwokTrafficNotes are the lines under the table: the FlowSchema of each kind of kwok's requests (or why unknown)
// and the traffic's note.
func KwokTrafficNotes(h *result.Hollow) []string {
	if h == nil || h.Traffic == nil {
		return nil
	}
	t := h.Traffic
	var out []string
	for _, m := range t.FlowSchemas {
		switch {
		case m.FlowSchema == "":
			out = append(out, fmt.Sprintf("kwok's %s requests match no FlowSchema (the apiserver then uses catch-all)", m.Request))
		case m.Dedicated:
			out = append(out, fmt.Sprintf("kwok's %s requests: FlowSchema %s (names kwok's ServiceAccount), priority level %s", m.Request, m.FlowSchema, m.PriorityLevel))
		default:
			out = append(out, fmt.Sprintf("kwok's %s requests: FlowSchema %s, priority level %s (no FlowSchema of its own)", m.Request, m.FlowSchema, m.PriorityLevel))
		}
	}
	if t.FlowSchemaNote != "" {
		out = append(out, "kwok's FlowSchema unknown: "+t.FlowSchemaNote)
	}
	if t.Note != "" {
		out = append(out, t.Note)
	}
	return out
}
