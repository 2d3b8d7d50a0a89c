package cmd

import (
	"strings"
	"testing"
)

// TestWorkersFlowSchemaNeedsLoadFromCluster: --workers-flowschema without --load-from cluster is one error line naming
// the flag and what it needs, before any request, on run, plan and knee.
func TestWorkersFlowSchemaNeedsLoadFromCluster(t *testing.T) {
	const want = "error: invalid --workers-flowschema: needs --load-from cluster (it puts the worker pods' requests on a priority level of their own); --load-from is "
	for _, args := range [][]string{
		{"run", "--modes", "churn", "--workers-flowschema"},
		{"run", "--modes", "churn", "--workers-flowschema", "--load-from", "auto"},
		{"plan", "--modes", "churn", "--workers-flowschema", "--load-from", "local"},
		{"knee", "--workers-flowschema"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			api := &fakeAPI{}
			code, out, errOut := runAgainst(t, api, args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
				t.Errorf("exit %d, stderr:\n%s\nwant one line starting %q", code, errOut, want)
			}
			if out != "" || len(api.other) > 0 || api.reviews > 0 {
				t.Errorf("refused before any request: stdout %q, requests %v, %d reviews", out, api.other, api.reviews)
			}
		})
	}
}
