package probe

import "context"

// Response is what the transport of a client built from DedicatedConfig saw of one logical request.
type Response struct {
	Status           int    // HTTP status of the last response; 0 when none arrived
	PriorityLevelUID string // X-Kubernetes-PF-PriorityLevel-UID of the last response that carried it
	Attempts         int    // requests sent: 1 plus client-go's own retries (429 or 5xx with Retry-After)
}

// Capture returns a context whose requests, made with a client built from DedicatedConfig, are recorded, and a
// function that returns what was recorded so far. It lets other engines (pkg/churn) time requests exactly as the
// prober does.
func Capture(ctx context.Context) (context.Context, func() Response) {
	ctx, c := withCapture(ctx)
	return ctx, func() Response {
		g := c.get()
		return Response{Status: g.status, PriorityLevelUID: g.priorityLevel, Attempts: g.attempts}
	}
}
