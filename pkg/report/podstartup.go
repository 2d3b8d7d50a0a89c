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
