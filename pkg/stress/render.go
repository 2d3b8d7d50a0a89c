package stress

import (
	"maps"

	"github.com/kube-burner/kube-burner/v2/pkg/util"
)

// Render renders an object template as kube-burner does (its template functions, missing keys are errors), with
// kube-burner's own variables (JobName, Iteration, Replica, UUID, RunID) set from the arguments and vars on top.
// It lets the catalogue check what a template really creates before any run.
func Render(body []byte, job string, iteration, replica int, uuid, runID string, vars map[string]any) ([]byte, error) {
	data := map[string]any{"JobName": job, "Iteration": iteration, "Replica": replica, "UUID": uuid, "RunID": runID}
	maps.Copy(data, vars)
	return util.RenderTemplate(body, data, util.MissingKeyError, nil)
}
