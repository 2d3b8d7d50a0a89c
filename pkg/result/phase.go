package result

import "time"

// Phase types.
const (
	PhaseTypeProbe    = "probe" // the baseline of a run, or the only phase of `kubectl pyrometer probe`
	PhaseTypeRamp     = "ramp"
	PhaseTypeTeardown = "teardown"
	PhaseTypeRecovery = "recovery"
	// PhaseTypeSetup is a ramp step's setup sub-phase ("ramp-step-1-setup": its load created and started), right
	// before the step's own phase, its window. Reported, not judged: a failed setup fails its step.
	PhaseTypeSetup = "setup"
)

// Phase statuses.
const (
	StatusPass    = "pass"
	StatusFail    = "fail"
	StatusAborted = "aborted"
	// StatusInconclusive is a knee step whose load the client could not deliver: it says nothing of the server.
	StatusInconclusive = "inconclusive"
)

// Phase is one stage of a run: one line of phases.jsonl, one row of summary.csv, one entry of run.json.
type Phase struct {
	// Name is "baseline", "ramp-step-1", ..., "teardown", "recovery", or "probe" for `kubectl pyrometer probe`; a ramp
	// step with a setup sub-phase has "ramp-step-1-setup" (type setup) before it.
	Name   string    `json:"name"`
	Type   string    `json:"type"` // PhaseTypeProbe, PhaseTypeRamp, PhaseTypeSetup, PhaseTypeTeardown or PhaseTypeRecovery
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Status string    `json:"status"` // StatusPass, StatusFail or StatusAborted; a knee step: its verdict, StatusInconclusive too
	Error  string    `json:"error,omitempty"`
	// RC is 0 when the phase succeeded, non-zero when it failed (the seed's exit_code column).
	RC int `json:"rc"`
	// UUID is the kube-burner uuid of a ramp step, if any.
	UUID    string            `json:"uuid,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// Elapsed is End - Start, or 0 when either is unset.
func (p Phase) Elapsed() time.Duration {
	if p.Start.IsZero() || p.End.IsZero() {
		return 0
	}
	return p.End.Sub(p.Start)
}

// Failed reports whether the phase failed or was aborted (or reported a non-zero RC).
func (p Phase) Failed() bool {
	return p.Status == StatusFail || p.Status == StatusAborted || p.RC != 0
}
