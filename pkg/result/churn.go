package result

import (
	"fmt"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
)

// SLONotifyMS is the p99 threshold of the notification rows (notify:add, notify:update, notify:delete): the time from
// a write's start to its watch event. Kubernetes has no official watch-latency SLO; a notification is sent once its
// write is committed, which the mutating SLO allows 1 s, and then goes through the watch cache to every watcher,
// which we allow another second: 2 s. A watcher (a controller) notified later acts on state that is stale by more
// than the write SLO already permits.
const SLONotifyMS = 2 * SLOSingleObjectMS

// engineSLOThresholdMS is the p99 SLO of the native engine's rows: the mutating SLO for its writes, SLONotifyMS for
// the notifications; 0 for anything else.
func engineSLOThresholdMS(kind string) float64 {
	switch {
	case strings.HasPrefix(kind, "churn:"):
		return SLOSingleObjectMS
	case strings.HasPrefix(kind, "notify:"):
		return SLONotifyMS
	}
	return 0
}

// LoadStep is run.json's account of one native engine (mode churn or api) in one ramp step: what it was asked for,
// the delivered-load proof (requested, issued, completed, succeeded and delivered writes, per step and per second),
// its verdict and the notifications its watches saw.
type LoadStep struct {
	Phase    string  `json:"phase"`
	Mode     string  `json:"mode"`
	Kind     string  `json:"kind"`
	Rate     float64 `json:"rate"` // objects per second asked for
	Arrival  string  `json:"arrival"`
	Lifetime string  `json:"lifetime"` // "0s": kept until teardown
	Updates  int     `json:"updates"`
	Size     int     `json:"size"`
	Watchers int     `json:"watchers"`
	Workers  int     `json:"workers,omitempty"` // > 0: a closed loop of that many sequential clients
	Count    int     `json:"count,omitempty"`
	// ExpectedPopulation is rate x lifetime (Little's law); LiveMax in Delivery is what the engine saw.
	ExpectedPopulation float64             `json:"expectedPopulation,omitempty"`
	Delivery           churn.Delivery      `json:"delivery"`
	Verdict            churn.Verdict       `json:"verdict"`
	Notifications      churn.Notifications `json:"notifications"`
	Objects            int64               `json:"objects"`  // created
	Rejected           int64               `json:"rejected"` // creates the server refused
	// Windows are the per-second accounts (requested, issued, completed, succeeded, ...) for the rate chart.
	Windows []churn.Window `json:"windows,omitempty"`
	Error   string         `json:"error,omitempty"` // the engine could not start
	// LoadFrom is "cluster" when worker pods ran the load (run --load-from cluster, workers.go); PerWorker are
	// their own accounts, whose merge the fields above are.
	LoadFrom  string      `json:"loadFrom,omitempty"`
	PerWorker []WorkerRow `json:"perWorker,omitempty"`
}

// Name is "churn configmap" or "api secret".
func (l LoadStep) Name() string { return l.Mode + " " + l.Kind }

// NotDelivered is the reason a step's load was not delivered ("" when every engine of it delivered): one line per
// engine, naming the limit.
func NotDelivered(loads []LoadStep, phase string) string {
	var parts []string
	for _, l := range loads {
		if l.Phase != phase {
			continue
		}
		switch {
		case l.Error != "":
			parts = append(parts, fmt.Sprintf("%s: %s: %s", churn.LoadNotDelivered, l.Name(), l.Error))
		case !l.Verdict.Delivered:
			parts = append(parts, fmt.Sprintf("%s: %s", l.Name(), l.Verdict))
		}
	}
	return strings.Join(parts, "; ")
}

// LoadStepOf records an engine's result.
func LoadStepOf(phase, mode string, cfg churn.Config, res churn.Result) LoadStep {
	l := LoadStep{Phase: phase, Mode: mode, Kind: string(cfg.Kind), Rate: cfg.Rate, Arrival: string(cfg.Arrival),
		Lifetime: cfg.Lifetime.String(), Updates: cfg.Updates, Size: cfg.Size, Watchers: cfg.Watchers, Workers: cfg.Workers, Count: cfg.Count,
		Delivery: res.Delivery, Verdict: res.Verdict, Notifications: res.Notifications, Objects: res.Objects,
		Rejected: res.Rejected, Windows: res.Windows}
	if cfg.Lifetime > 0 {
		l.ExpectedPopulation = cfg.Rate * cfg.Lifetime.Seconds()
	}
	return l
}
