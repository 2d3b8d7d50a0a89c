// Package stress is the only package that imports kube-burner. It turns a ramp step's stress jobs into a
// kube-burner config.Spec and runs it (see ../../README.md, "How the stress is created").
package stress

import (
	"fmt"
	"time"

	"github.com/kube-burner/kube-burner/v2/pkg/config"
	mtypes "github.com/kube-burner/kube-burner/v2/pkg/measurements/types"
)

// Job is one kube-burner creation job: Iterations x Objects in one namespace.
type Job struct {
	Name            string
	Namespace       string
	Iterations      int
	QPS             float32
	Burst           int
	IterationDelay  time.Duration
	Wait            bool // wait for the objects to become ready (pods Running, ...)
	NamespaceLabels map[string]string
	Objects         []Object
}

// Object is one templated object of a job, created Replicas times per iteration.
type Object struct {
	Template string
	Replicas int
	Group    int // objects of a lower group are created (all iterations) before those of a higher one
	Vars     map[string]any
}

// SpecOptions are the run-wide settings of a kube-burner spec.
type SpecOptions struct {
	UUID           string
	RunID          string
	Timeout        time.Duration // whole kube-burner run; bounded by the step
	RequestTimeout time.Duration
	MaxWaitTimeout time.Duration // readiness wait per job
}

// BuildSpec builds a kube-burner spec in Go. kube-burner sets many defaults only in its YAML unmarshalers; every
// one that matters is set here explicitly (a zero IterationsPerNamespace divides by zero, a zero Timeout times out
// at once, PreLoadImages would create DaemonSets pulling images, Cleanup would delete other runs' namespaces).
func BuildSpec(o SpecOptions, jobs []Job) (config.Spec, error) {
	if o.UUID == "" || o.RunID == "" {
		return config.Spec{}, fmt.Errorf("kube-burner spec needs a uuid and a run id")
	}
	if o.Timeout <= 0 || o.RequestTimeout <= 0 || o.MaxWaitTimeout <= 0 {
		return config.Spec{}, fmt.Errorf("kube-burner spec needs positive timeouts (got timeout=%v request=%v wait=%v)",
			o.Timeout, o.RequestTimeout, o.MaxWaitTimeout)
	}
	spec := config.Spec{GlobalConfig: config.GlobalConfig{
		UUID:             o.UUID,
		RUNID:            o.RunID,
		Timeout:          o.Timeout,
		RequestTimeout:   o.RequestTimeout,
		GC:               false, // teardown is ours, by label
		DeletionStrategy: "default",
		Measurements:     []mtypes.Measurement{},
	}}
	for _, j := range jobs {
		if j.Name == "" || j.Namespace == "" {
			return config.Spec{}, fmt.Errorf("kube-burner job needs a name and a namespace")
		}
		if j.Iterations < 1 {
			return config.Spec{}, fmt.Errorf("job %s: iterations must be >= 1, got %d", j.Name, j.Iterations)
		}
		if j.QPS < 1 || j.Burst < 1 {
			// kube-burner sizes a channel by int(QPS): below 1 it hangs until the global timeout.
			return config.Spec{}, fmt.Errorf("job %s: qps and burst must be >= 1, got qps=%v burst=%d", j.Name, j.QPS, j.Burst)
		}
		job := config.Job{
			Name:                   j.Name,
			Namespace:              j.Namespace,
			JobType:                config.CreationJob,
			JobIterations:          j.Iterations,
			JobIterationDelay:      j.IterationDelay,
			QPS:                    j.QPS,
			Burst:                  j.Burst,
			NamespacedIterations:   false, // one namespace per step, created by us
			IterationsPerNamespace: j.Iterations,
			PreLoadImages:          false,
			Cleanup:                false,
			GC:                     false,
			WaitWhenFinished:       j.Wait,
			PodWait:                false,
			VerifyObjects:          true,
			ErrorOnVerify:          false, // we verify and count ourselves
			WaitForDeletion:        false,
			MaxWaitTimeout:         o.MaxWaitTimeout,
			MetricsClosing:         config.AfterJob,
			ExecutionMode:          config.ExecutionModeParallel,
			SkipIndexing:           true,
			NamespaceLabels:        j.NamespaceLabels,
			Measurements:           []mtypes.Measurement{},
		}
		for _, obj := range j.Objects {
			if obj.Replicas < 1 {
				return config.Spec{}, fmt.Errorf("job %s: object %s: replicas must be >= 1", j.Name, obj.Template)
			}
			job.Objects = append(job.Objects, config.Object{
				ObjectTemplate:         obj.Template,
				Replicas:               obj.Replicas,
				InputVars:              obj.Vars,
				Wait:                   j.Wait,
				RepeatEveryNIterations: 1,
				Group:                  config.ObjectGroup{ID: obj.Group},
			})
		}
		spec.Jobs = append(spec.Jobs, job)
	}
	return spec, nil
}
