// Package result is the one run document (run.json) of `kubectl pyrometer run` and `probe --output-dir`: its type,
// the names of the artifacts of a results directory, the verdict and outcome logic, the JSONL readers and writers,
// and Load, which reads a results directory back. Every command writes and reads the document through Doc; renderers
// (pkg/report, pkg/compare) keep no mirror of it.
//
// It is a leaf: it imports the standard library, the packages of the types the document holds (pkg/probe for
// statistics and samples, pkg/cluster for the teardown's objects, pkg/version) and pkg/stat (the recovery's error
// ratio test); never run, report, compare or cmd.
package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// The artifacts of a results directory (--output-dir).
const (
	RunFile        = "run.json"        // the run document (Doc)
	SamplesFile    = "probe.jsonl"     // every probe sample, one probe.Sample a line
	PhasesFile     = "phases.jsonl"    // one Phase a line, written as each phase ends
	FailuresFile   = "failures.jsonl"  // one Failure a line
	EventsFile     = "events.jsonl"    // the Kubernetes events of the run's namespaces
	MonitorFile    = "monitor.jsonl"   // run --monitor: the cluster's state every --monitor-interval
	SummaryFile    = "summary.csv"     // one row per phase
	ProbeStatsFile = "probe-stats.csv" // one row per phase and probe kind
	ReportFile     = "report.html"     // the self-contained HTML report
	SafetyPlanFile = "safety-plan.txt" // the safety plan the run was admitted with
	ImageMapFile   = "image-map.txt"   // the image rewrites of the run
	KubeBurnerLog  = "kube-burner.log" // kube-burner's own log
	PanicFile      = "panic.txt"       // only after an internal error: the panic and its stack
	// LegacyProbeFile is what `probe --output-dir` wrote instead of run.json before it wrote run.json: still
	// recognised as an artifact (CheckOutputDir, bundle), never written.
	LegacyProbeFile = "probe.json"
)

// Files are the artifacts a results directory may hold (and a bundle may take); nothing else there is ours.
var Files = []string{RunFile, PhasesFile, SamplesFile, SummaryFile, ProbeStatsFile, FailuresFile, EventsFile, MonitorFile,
	SafetyPlanFile, ImageMapFile, KubeBurnerLog, ReportFile, PanicFile, LegacyProbeFile}

// Commands that write a run document.
const (
	CommandRun   = "run"
	CommandProbe = "probe"
)

// Doc is the run document: run.json. `run` writes it at its end; `probe --output-dir` writes one too (Command
// "probe", one phase "probe", in-cluster rows "probe@cluster"); `report` and `compare` read it with Load.
type Doc struct {
	// Command is CommandProbe for `kubectl pyrometer probe`; empty for a run (run.json of a run has no command).
	Command  string                        `json:"command,omitempty"`
	Version  version.Info                  `json:"version"`
	RunID    string                        `json:"runID"`
	Server   string                        `json:"server"`
	Start    time.Time                     `json:"start"`
	End      time.Time                     `json:"end"`
	Flags    map[string]string             `json:"flags"` // as given (the flags that were set)
	Modes    []string                      `json:"modes"`
	Settings map[string]map[string]float64 `json:"settings"`
	// Safety is the safety plan the run was admitted with (safety.Plan; among others the cost per step and in
	// total, computed once, by the safety check). It is kept as JSON: pkg/safety renders
	// with pkg/report, which imports this package, so a safety.Plan field would be an import cycle.
	Safety json.RawMessage `json:"safety,omitempty"`
	// Interactive is what was answered at the prompts of run -i/-c/-r (the command's answers), as JSON: their type
	// lives with the prompts (pkg/cmd, pkg/interactive, which import the mode catalogue and kube-burner).
	Interactive json.RawMessage               `json:"interactive,omitempty"`
	Fingerprint Fingerprint                   `json:"fingerprint"`
	Phases      []Phase                       `json:"phases"`
	Stats       []probe.Stats                 `json:"stats"`
	ServerSide  map[string][]probe.ServerStat `json:"serverSide,omitempty"`
	Verdicts    []Verdict                     `json:"verdicts"`
	Recovery    *Recovery                     `json:"recovery,omitempty"`
	ProbeLag    []probe.Lag                   `json:"probeLag,omitempty"` // per phase, local probe
	Outcome     Outcome                       `json:"outcome"`
	Failures    []Failure                     `json:"failures,omitempty"`
	Teardown    []cluster.Object              `json:"teardown,omitempty"`
	Notes       []string                      `json:"notes,omitempty"`
	OutputDir   string                        `json:"outputDir"`
	// Samples are every probe sample of the run (its part of probe.jsonl, streamed), for sparklines and charts;
	// nil when there is none.
	Samples SampleSource `json:"-"`

	// ServerSideNotes says per phase why it has no server-side rows (the apiserver process changed, a snapshot
	// failed).
	ServerSideNotes map[string]string `json:"serverSideNotes,omitempty"`
	// ClusterProbe is the in-cluster probe's clock offset, attribution and health (--probe-from cluster|both).
	ClusterProbe *ClusterProbe `json:"clusterProbe,omitempty"`
	// Loads are the native engines' accounts per ramp step (modes churn and api): the delivered-load proof (churn.go).
	Loads []LoadStep `json:"loads,omitempty"`
	// Hollow: run --hollow-nodes (nil without); PodStartup: the pod startup figures of the run's stress pods (nil
	// when the run started none).
	Hollow     *Hollow     `json:"hollow,omitempty"`
	PodStartup *PodStartup `json:"podStartup,omitempty"`
	// Knee: `kubectl pyrometer knee` (Command CommandKnee): the search, its steps and its answer (knee.go).
	Knee *Knee `json:"knee,omitempty"`
	// Workers: --load-from cluster, the worker pods and their --workers-flowschema objects (workers.go).
	Workers *Workers `json:"workers,omitempty"`
}

// CommandName is the command that wrote the document: CommandRun or CommandProbe.
func (d *Doc) CommandName() string {
	if d.Command == "" {
		return CommandRun
	}
	return d.Command
}

// Cost is what one ramp step (or the whole run) creates and requests.
type Cost struct {
	Namespaces int   `json:"namespaces"`
	Objects    int   `json:"objects"` // objects created from templates
	Pods       int   `json:"pods"`
	CPUMillis  int64 `json:"cpuMillis"`
	MemoryMi   int64 `json:"memoryMi"`
}

// Add returns c + o.
func (c Cost) Add(o Cost) Cost {
	return Cost{c.Namespaces + o.Namespaces, c.Objects + o.Objects, c.Pods + o.Pods, c.CPUMillis + o.CPUMillis, c.MemoryMi + o.MemoryMi}
}

// Fingerprint describes the cluster, so that two runs can be told comparable or not.
type Fingerprint struct {
	ServerVersion  string `json:"serverVersion"`
	Nodes          int    `json:"nodes"`
	ReadyNodes     int    `json:"readyNodes"`
	AllocatableCPU string `json:"allocatableCPU"`
	AllocatableMem string `json:"allocatableMemory"`
	Error          string `json:"error,omitempty"`
}

// Failure is one line of failures.jsonl.
type Failure struct {
	Time   time.Time `json:"ts"`
	Phase  string    `json:"phase"`
	Reason string    `json:"reason"`
}

// ClusterProbe is run.json's account of the in-cluster probe.
type ClusterProbe struct {
	// ClockOffsetMS is the pod's clock minus this machine's, estimated from the first samples: for each, the pod's
	// time when it finished (ts + lag + latency) minus the time its log line arrived here; the largest such
	// difference (the line delivered fastest) is the estimate. It is low by that fastest delivery delay (typically
	// a few ms), as a one-way measurement must be. Samples are attributed to phases by ts - offset.
	ClockOffsetMS float64 `json:"clockOffsetMS"`
	// MaxDeliveryMS is how much longer than the fastest the slowest log line took to arrive: how far behind the
	// stream fell under load (the reason samples are attributed by their timestamps, not by when they arrive).
	MaxDeliveryMS float64 `json:"maxDeliveryMS"`
	Samples       int     `json:"samples"`
	// Unmeasured counts the samples outside every measured window (phase "unmeasured" in probe.jsonl).
	Unmeasured int                       `json:"unmeasured"`
	Health     *probe.ClusterProbeHealth `json:"health,omitempty"`
}

// RawJSON encodes v for Doc.Safety and Doc.Interactive; nil stays nil (the field is left out).
func RawJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %T for run.json: %w", v, err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// Encode writes d as run.json is written: indented JSON, one trailing newline.
func (d *Doc) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Save writes d to dir/run.json.
func (d *Doc) Save(dir string) error {
	path := filepath.Join(dir, RunFile)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", RunFile, err)
	}
	if err := d.Encode(f); err != nil {
		f.Close()
		return fmt.Errorf("failed to write %s: %w", RunFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write %s: %w", RunFile, err)
	}
	return nil
}

// Load reads the results directory dir (of a run or of `probe --output-dir`): its run.json, and its probe.jsonl
// as the document's Samples (streamed when read; nil when the file is missing). Errors are one line naming the
// file: "failed to read DIR/run.json: ...".
func Load(dir string) (*Doc, error) {
	path := filepath.Join(dir, RunFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, lerr := os.Stat(filepath.Join(dir, LegacyProbeFile)); lerr == nil {
				return nil, fmt.Errorf("failed to read %s: %w (%s holds the probe.json of an older version: probe it again)",
					path, PathError(err), dir)
			}
			return nil, fmt.Errorf("failed to read %s: %w (is %s a run or probe --output-dir directory?)", path, PathError(err), dir)
		}
		return nil, fmt.Errorf("failed to read %s: %w", path, PathError(err))
	}
	d := &Doc{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("failed to read %s: malformed JSON: %w", path, err)
	}
	if sp := filepath.Join(dir, SamplesFile); fileExists(sp) {
		d.Samples = SampleFile{Path: sp}
	}
	return d, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// PathError drops the path from err (a *fs.PathError): a message that names the file once.
func PathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
