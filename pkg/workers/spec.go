// Package workers runs the native engines' load (pkg/churn) from many machines: an Indexed Job of the plugin's own
// image in a ramp step's namespace, each worker a share of the load (rate/N: independent Poisson streams of rate
// λ/N sum to a Poisson stream of λ) on disjoint object names, started together at a time the plugin writes into a
// ConfigMap, every raw sample and its delivery account streamed back through its pod's log (as the in-cluster probe
// does) and merged: counts summed, percentiles from the union of the raw samples, never averaged.
package workers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/churn"
)

// Spec is what every worker of a step runs; the pod gets it as an argument (base64 JSON) and its index from the
// Indexed Job (JOB_COMPLETION_INDEX).
type Spec struct {
	Namespace string `json:"namespace"` // the step namespace: the engines' objects and the start ConfigMap
	// StartConfigMap is the ConfigMap whose data[StartKey] (RFC 3339, the plugin's clock) is when every worker starts.
	StartConfigMap string `json:"startConfigMap"`
	Workers        int    `json:"workers"`
	// Loads are the step's engine loads as a single process would run them (whole rate and count); WorkerConfig
	// gives worker i its share.
	Loads []churn.Config `json:"loads"`
	// Window is how long the load runs from the start (the step's probe window): then the worker stops, as the local
	// engines are stopped at the window's end.
	Window time.Duration `json:"window"`
	// StartTimeout bounds the wait for the start time.
	StartTimeout time.Duration `json:"startTimeout"`
}

// StartKey is the key of the start time in the start ConfigMap.
const StartKey = "start"

// Encode is the spec as the worker's --spec argument.
func (s Spec) Encode() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeSpec reads a --spec argument.
func DecodeSpec(arg string) (Spec, error) {
	var s Spec
	b, err := base64.StdEncoding.DecodeString(arg)
	if err != nil {
		return s, fmt.Errorf("invalid --spec: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("invalid --spec: %w", err)
	}
	switch {
	case s.Workers < 1:
		return s, errors.New("invalid --spec: workers must be at least 1")
	case s.Namespace == "" || s.StartConfigMap == "":
		return s, errors.New("invalid --spec: needs a namespace and a start configmap")
	case len(s.Loads) == 0:
		return s, errors.New("invalid --spec: no load")
	case s.Window <= 0:
		return s, errors.New("invalid --spec: window must be positive")
	}
	return s, nil
}

// WorkerConfig is worker i's (0-based) share of cfg among n workers: rate/n, its share of Count (the first
// Count%n workers one more), the closed loop's workers likewise, object names <prefix>-w<i>-<seq> (disjoint), its own
// engine ID and arrival seed (independent streams).
func WorkerConfig(cfg churn.Config, n, i int) churn.Config {
	c := cfg
	c.Rate = cfg.Rate / float64(n)
	if cfg.Count > 0 {
		c.Count = cfg.Count / n
		if i < cfg.Count%n {
			c.Count++
		}
	}
	if cfg.Workers > 0 {
		c.Workers = max(1, int(math.Ceil(float64(cfg.Workers)/float64(n))))
	}
	c.NamePrefix = fmt.Sprintf("%s-w%d", cfg.NamePrefix, i)
	c.ID, c.Seed = "", 0
	return c
}

// Line is one line a worker writes on stdout (its pod log): a sample of load L, its result at the end, or an error.
type Line struct {
	Load   int           `json:"l"`
	Sample *churn.Sample `json:"s,omitempty"`
	Result *churn.Result `json:"r,omitempty"`
	// Started is when the worker started its engines (its clock), Done its last line.
	Started *time.Time `json:"started,omitempty"`
	Done    bool       `json:"done,omitempty"`
	// Interrupted (with Done): the worker was stopped by SIGTERM before the window's end (its pod deleted, evicted
	// or preempted), so it did not offer its whole share.
	Interrupted bool   `json:"interrupted,omitempty"`
	Error       string `json:"e,omitempty"`
}
