//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

type serverRow struct {
	Verb, Resource, Scope string
	Count                 int
	Mean                  float64 `json:"mean_ms"`
	P50Bucket             string  `json:"p50_bucket"`
	Metric                string
}

// TestRunWindows: a one-step run with the in-cluster probe beside the local one.
//   - Server side (issue 12 items 7, 20): every phase, teardown included, has its own rows, from the snapshots at its
//     boundaries: teardown holds the step namespace's deletion, recovery (which starts after teardown) does not. Rows
//     come from apiserver_request_duration_seconds (5 ms buckets) and carry the exact mean.
//   - In-cluster samples (item 8) carry the phase of the measured window holding their own timestamp (less the pod's
//     clock offset recorded in run.json): none of ramp-step-1 lies outside that step's probe window; the pod was
//     healthy to the end.
//   - Issue 17: the step's setup (kube-burner creating the cpu pod and waiting until it runs) is measured as the
//     sub-phase ramp-step-1-setup, right before the window: local and in-cluster samples and rows, server rows, no
//     verdict (the window is judged, the setup reported).
func TestRunWindows(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	r := pluginIn(t, dir, 10*time.Minute, "--kubeconfig", kubeconfig, "run", "--modes", "cpu", "--steps", "1",
		"--baseline", "6s", "--step-duration", "8s", "--recovery", "6s", "--interval", "250ms", "--cpu-millicores", "100",
		"--probe-from", "both", "--image-map", localImages(t), "--node-selector", realNode, "--run-id", id, "--output-dir", "out", "-o", "json")
	if r.code != 0 {
		t.Fatalf("run exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	out := filepath.Join(dir, "out")
	b, err := os.ReadFile(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Phases []struct {
			Name, Type string
			Start, End time.Time
			Details    map[string]string
		}
		Stats []struct {
			Phase, Kind string
			Count       int
		}
		Verdicts        []struct{ Phase, Kind string }
		ServerSide      map[string][]serverRow
		ServerSideNotes map[string]string
		ClusterProbe    *struct {
			ClockOffsetMS float64
			MaxDeliveryMS float64
			Samples       int
			Unmeasured    int
			Health        struct {
				Alive  bool
				Phase  string
				Reason string
			}
		}
		Notes []string
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}

	// Server side.
	if len(doc.ServerSideNotes) > 0 {
		t.Errorf("one apiserver, no restart: no phase may lose its server rows: %v", doc.ServerSideNotes)
	}
	hasNSDelete := func(rows []serverRow) bool {
		for _, row := range rows {
			if row.Verb == "DELETE" && row.Resource == "namespaces" {
				return true
			}
		}
		return false
	}
	fine := false
	for _, ph := range []string{"baseline", "ramp-step-1-setup", "ramp-step-1", "teardown", "recovery"} {
		rows := doc.ServerSide[ph]
		if len(rows) == 0 {
			t.Errorf("no server-side rows for %s: %v", ph, doc.ServerSide)
		}
		for _, row := range rows {
			if row.Metric != "apiserver_request_duration_seconds" || row.Mean <= 0 {
				t.Errorf("%s row %+v: want apiserver_request_duration_seconds (finer buckets) and a positive exact mean", ph, row)
			}
			if row.P50Bucket == "<=5" || row.P50Bucket == "<=25" {
				fine = true
			}
		}
	}
	if !hasNSDelete(doc.ServerSide["teardown"]) {
		t.Errorf("teardown's server rows lack the step namespace's DELETE: %+v", doc.ServerSide["teardown"])
	}
	if hasNSDelete(doc.ServerSide["recovery"]) {
		t.Errorf("recovery's server rows hold a namespace DELETE: recovery must start after teardown: %+v", doc.ServerSide["recovery"])
	}
	hasPodCreate := false
	for _, row := range doc.ServerSide["ramp-step-1-setup"] {
		hasPodCreate = hasPodCreate || row.Verb == "POST" && row.Resource == "pods"
	}
	if !hasPodCreate {
		t.Errorf("the setup's server rows lack the stress pod's creation: %+v", doc.ServerSide["ramp-step-1-setup"])
	}
	if !fine {
		t.Error("no server row's p50 is below 50 ms: the finer buckets were not used")
	}

	// In-cluster samples.
	cp := doc.ClusterProbe
	if cp == nil || cp.Samples == 0 || !cp.Health.Alive {
		t.Fatalf("run.json clusterProbe = %+v: want samples and a pod alive to the end", cp)
	}
	t.Logf("in-cluster probe: %d samples, %d unmeasured, clock offset %.3f ms, slowest delivery +%.1f ms, health %+v",
		cp.Samples, cp.Unmeasured, cp.ClockOffsetMS, cp.MaxDeliveryMS, cp.Health)
	for _, ph := range []string{"baseline", "ramp-step-1", "teardown", "recovery"} {
		rows := doc.ServerSide[ph]
		for i := 0; i < len(rows) && i < 3; i++ {
			t.Logf("server %s: %+v", ph, rows[i])
		}
	}
	offset := time.Duration(cp.ClockOffsetMS * float64(time.Millisecond))
	type window struct{ start, end time.Time }
	windows := map[string]window{}
	var setupEnd, stepStart time.Time
	for _, p := range doc.Phases {
		switch p.Name {
		case "baseline", "recovery", "ramp-step-1-setup":
			windows[p.Name] = window{p.Start, p.End}
			if p.Name == "ramp-step-1-setup" {
				setupEnd = p.End
				if p.Type != "setup" {
					t.Errorf("ramp-step-1-setup has type %q, want setup", p.Type)
				}
			}
		case "ramp-step-1":
			ws, err := time.Parse(time.RFC3339Nano, p.Details["window_start"])
			secs, err2 := strconv.ParseFloat(p.Details["window_seconds"], 64)
			if err != nil || err2 != nil {
				t.Fatalf("ramp-step-1 details %v", p.Details)
			}
			windows[p.Name] = window{ws, ws.Add(time.Duration(secs * float64(time.Second)))}
			stepStart = p.Start
		}
	}
	if setupEnd.IsZero() || !setupEnd.Equal(stepStart) {
		t.Errorf("ramp-step-1-setup ends at %v, ramp-step-1 starts at %v: the sub-phases must be contiguous", setupEnd, stepStart)
	}
	f, err := os.Open(filepath.Join(out, "probe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	perPhase := map[string]int{}
	const slack = time.Millisecond // run.json rounds the offset to microseconds; window_start is logged just before the window opens
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s struct {
			TS            time.Time `json:"ts"`
			Phase, Source string
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Source != "cluster" {
			continue
		}
		perPhase[s.Phase]++
		at := s.TS.Add(-offset)
		if w, ok := windows[s.Phase]; ok {
			if at.Before(w.start.Add(-slack)) || at.After(w.end.Add(slack)) {
				t.Errorf("in-cluster sample of %s at %v (pod clock %v, offset %v) lies outside its window [%v, %v]",
					s.Phase, at.Format(time.StampMicro), s.TS.Format(time.StampMicro), offset, w.start.Format(time.StampMicro), w.end.Format(time.StampMicro))
			}
		} else if s.Phase != "unmeasured" {
			t.Errorf("in-cluster sample with phase %q: want a measured window or unmeasured", s.Phase)
		}
		// a sample inside the step's window (or its setup) must carry the step's phase (or its setup's)
		for _, ph := range []string{"ramp-step-1", "ramp-step-1-setup"} {
			if w := windows[ph]; s.Phase != ph && at.After(w.start.Add(slack)) && at.Before(w.end.Add(-slack)) {
				t.Errorf("in-cluster sample at %v inside %s's window has phase %q", at.Format(time.StampMicro), ph, s.Phase)
			}
		}
	}
	t.Logf("in-cluster samples per phase: %v", perPhase)
	for _, ph := range []string{"baseline", "ramp-step-1-setup", "ramp-step-1", "recovery"} {
		if perPhase[ph] == 0 {
			t.Errorf("no in-cluster sample in %s: %v", ph, perPhase)
		}
	}
	// The setup has rows, local and in-cluster, and no verdict; teardown is not a measured window: whatever the pod
	// sampled then is not counted in a phase row, and no teardown@cluster row exists (the local probe has none either).
	setupRows := map[string]int{}
	for _, st := range doc.Stats {
		if st.Kind == "all" && strings.HasPrefix(st.Phase, "ramp-step-1-setup") {
			setupRows[st.Phase] = st.Count
		}
	}
	if setupRows["ramp-step-1-setup"] == 0 || setupRows["ramp-step-1-setup@cluster"] == 0 {
		t.Errorf("setup rows (all kinds): %v; want local and @cluster samples", setupRows)
	}
	t.Logf("setup sub-phase: %v samples (%.1fs)", setupRows, windows["ramp-step-1-setup"].end.Sub(windows["ramp-step-1-setup"].start).Seconds())
	for _, v := range doc.Verdicts {
		if strings.Contains(v.Phase, "setup") {
			t.Errorf("verdict on %s/%s: the setup is reported, not judged", v.Phase, v.Kind)
		}
	}
	for _, st := range doc.Stats {
		if strings.HasPrefix(st.Phase, "teardown") || strings.HasPrefix(st.Phase, "unmeasured") {
			t.Errorf("stats row for %s: only measured windows have rows", st.Phase)
		}
	}
	if perPhase["unmeasured"] != cp.Unmeasured {
		t.Errorf("probe.jsonl has %d unmeasured in-cluster samples, run.json says %d", perPhase["unmeasured"], cp.Unmeasured)
	}
	assertNothingLeft(t, id)
}
