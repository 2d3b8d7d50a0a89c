package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// executeGuarded runs execute and recovers from a panic in it: the panic is recorded (failures.jsonl, the stack in
// panic.txt) and the run counts as interrupted, so Run still tears down, writes the artifacts and exits non-zero.
// The goroutines of the run recover on their own and turn a panic into an error of their step (API flood, breaker).
func (r *Runner) executeGuarded(ctx context.Context) (interrupted bool) {
	return r.guarded(ctx, r.execute)
}

// guarded runs execute (a run's phases, or a knee search's: knee.go) with the panic handling of executeGuarded.
func (r *Runner) guarded(ctx context.Context, execute func(context.Context) bool) (interrupted bool) {
	defer func() {
		if p := recover(); p != nil {
			stack := debug.Stack()
			msg := fmt.Sprintf("internal error (panic: %v)", p)
			r.fail("run", msg)
			r.note(msg + "; stack in panic.txt")
			_ = os.WriteFile(filepath.Join(r.dir, result.PanicFile), append([]byte(msg+"\n\n"), stack...), 0o644)
			r.logf("%s: stopping; tearing down and writing the artifacts (stack in %s). If anything is left: kubectl pyrometer cleanup --run-id %s",
				msg, filepath.Join(r.dir, result.PanicFile), r.env.RunID)
			interrupted = true
		}
	}()
	return execute(ctx)
}
