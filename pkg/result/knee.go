package result

import "github.com/kubepyrometer/kubectl-pyrometer/pkg/knee"

// CommandKnee is the Command of the run document of `kubectl pyrometer knee`: phases baseline, knee-step-N (type
// ramp) and cooldown-N (type PhaseTypeCooldown), the search and its answer in Knee.
const CommandKnee = "knee"

// PhaseTypeCooldown is the type of the waits between two knee steps (the probe measures until the control plane is
// back at its baseline).
const PhaseTypeCooldown = "cooldown"

// Knee is run.json's `knee` section: the search's settings, every step (rate requested and delivered, the rows and
// the verdict), the cool-downs, and the answer.
type Knee struct {
	knee.Result
	Mix string `json:"mix"` // churn, api, or the file's name
	// WritesPerObject converts the write rate into the objects per second the engine was asked for.
	WritesPerObject float64 `json:"writesPerObject"`
	StepSeconds     float64 `json:"stepSeconds"`
	// Criteria are the SLOs (ms per kind) and the ceilings the steps were judged on.
	Criteria knee.Criteria `json:"criteria"`
}

// KneeOutcome is the outcome of a knee search: pass (exit 0) when a knee was found (also unconfirmed, or at least
// --max-rate); slo-failed (exit 2) when the control plane failed without load (doomed) or at --start-rate; failed
// (exit 1) when the search could not answer (inconclusive, interrupted).
func KneeOutcome(k knee.Result) Outcome {
	o := Outcome{Reasons: []string{k.Summary}}
	switch k.Status {
	case knee.StatusFound, knee.StatusUnconfirmed, knee.StatusAboveMax:
		o.Result, o.ExitCode = ResultPass, ExitPass
	case knee.StatusDoomed, knee.StatusBelowStart:
		o.Result, o.ExitCode = ResultSLOFailed, ExitSLOFailed
	default:
		o.Result, o.ExitCode = ResultFailed, ExitFailed
	}
	return o
}
