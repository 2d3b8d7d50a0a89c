package cmd

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/run"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/safety"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/workers"
)

// WorkerFlags are run's and plan's --load-from flags: where the engine load of modes churn and api comes from.
// (Kept in one place so that knee can take the same flags.)
type WorkerFlags struct {
	LoadFrom   string // local, cluster, auto
	Workers    int
	MaxWorkers int
	FlowSchema bool // --workers-flowschema
}

func defaultWorkerFlags() WorkerFlags {
	return WorkerFlags{LoadFrom: run.LoadFromLocal, MaxWorkers: workers.MaxWorkers}
}

func (w *WorkerFlags) addWorkerFlags(f *pflag.FlagSet) {
	f.StringVar(&w.LoadFrom, "load-from", w.LoadFrom, "Where the churn/api engine load comes from: local (this process), cluster (--workers pods of the plugin's image, an Indexed Job per step), or auto (local; says when this process was the limit and how many workers would do).")
	f.IntVar(&w.Workers, "workers", w.Workers, "Worker pods per step with --load-from cluster; each offers rate/N (default 2 with --load-from cluster).")
	f.IntVar(&w.MaxWorkers, "max-workers", w.MaxWorkers, "Safety limit: most --workers.")
	f.BoolVar(&w.FlowSchema, "workers-flowschema", w.FlowSchema, "With --load-from cluster: put the workers' requests on a priority level of their own (a FlowSchema and a PriorityLevelConfiguration pyrometer-<run-id>-workers, a copy of the level they would fall into, created and deleted by the run), so API Priority and Fairness throttling of the load shows apart from everything else; the new level's shares shrink every other level's seats while it exists (the plan says by how much).")
}

// validateWorkers checks the --load-from flags (no I/O). engineModes: the selection has mode churn or api.
func (w *WorkerFlags) validateWorkers(engineModes bool, image string) error {
	if w.FlowSchema && w.LoadFrom != run.LoadFromCluster {
		return fmt.Errorf("invalid --workers-flowschema: needs --load-from cluster (it puts the worker pods' requests on a priority level of their own); --load-from is %s", w.LoadFrom)
	}
	switch w.LoadFrom {
	case run.LoadFromLocal, run.LoadFromAuto:
		if w.Workers != 0 {
			return fmt.Errorf("invalid --workers %d: needs --load-from cluster", w.Workers)
		}
	case run.LoadFromCluster:
		if w.Workers == 0 {
			w.Workers = 2
		}
		if !engineModes {
			return fmt.Errorf("invalid --load-from %s: needs mode churn or api (the load workers run the native engine)", w.LoadFrom)
		}
		if image == "" {
			return fmt.Errorf("invalid --load-from %s: the workers run the plugin's image: set --probe-image", w.LoadFrom)
		}
	default:
		return fmt.Errorf("invalid --load-from %q: allowed values are local, cluster, auto", w.LoadFrom)
	}
	switch {
	case w.MaxWorkers < 1 || w.MaxWorkers > 1000:
		return fmt.Errorf("invalid --max-workers %d: must be between 1 and 1000", w.MaxWorkers)
	case w.Workers < 0:
		return fmt.Errorf("invalid --workers %d: must be at least 1", w.Workers)
	case w.Workers > w.MaxWorkers:
		return fmt.Errorf("invalid --workers %d: above --max-workers %d", w.Workers, w.MaxWorkers)
	}
	return nil
}

// workersConfig is the run's --load-from configuration.
func (w *WorkerFlags) workersConfig() run.WorkersConfig {
	return run.WorkersConfig{From: w.LoadFrom, N: w.Workers, Max: w.MaxWorkers, FlowSchema: w.FlowSchema}
}

// hasEngineModes reports whether the run's selection has a mode run by the native engine.
func (o *RunOptions) hasEngineModes() bool {
	return o.selection != nil && len(o.selection.EngineLoads(1)) > 0
}

// workersRequirements is the workers' part of the safety requirements (nil unless --load-from cluster): each
// worker's requests at the last, largest step.
func (o *RunOptions) workersRequirements() *safety.WorkersRequirements {
	if o.LoadFrom != run.LoadFromCluster {
		return nil
	}
	cpu, mem := run.WorkerSize(o.selection.EngineLoads(o.Steps), o.Workers)
	req := &safety.WorkersRequirements{N: o.Workers, Max: o.MaxWorkers, CPUMillis: cpu, MemoryMi: mem}
	if o.FlowSchema { // the FlowSchema's subjects: the workers' ServiceAccount in every step namespace
		req.FlowSchema, req.RunID, req.Resources = true, o.RunID, run.WorkerResources(o.selection.EngineLoads(1))
		for i := 1; i <= o.Steps; i++ {
			req.Namespaces = append(req.Namespaces, cluster.StepNamespace(o.RunID, i))
		}
	}
	return req
}

// NewCmdLoadWorker returns the hidden "kubectl pyrometer __load-worker": the process of one worker pod of run
// --load-from cluster (pkg/workers); not for people.
func NewCmdLoadWorker() *cobra.Command {
	var spec string
	cmd := &cobra.Command{
		Use:    "__load-worker",
		Short:  "Internal: one load worker pod of run --load-from cluster",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := workers.DecodeSpec(spec)
			if err != nil {
				return err
			}
			index, err := strconv.Atoi(os.Getenv("JOB_COMPLETION_INDEX"))
			if err != nil {
				return fmt.Errorf("invalid JOB_COMPLETION_INDEX %q: the load worker runs in an Indexed Job", os.Getenv("JOB_COMPLETION_INDEX"))
			}
			rc, err := rest.InClusterConfig()
			if err != nil {
				return fmt.Errorf("failed to load the in-cluster config: %w", err)
			}
			return workers.RunAgent(c.Context(), s, index, rc, c.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&spec, "spec", "", "The load (base64 JSON).")
	return cmd
}
