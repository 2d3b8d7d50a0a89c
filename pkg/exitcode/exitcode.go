// Package exitcode holds the process exit codes of kubectl pyrometer (README, "Exit codes") and the one function that
// turns a command's outcome into one. Every command returns an error; Of maps it to the code.
package exitcode

import "errors"

// The exit codes.
const (
	// OK: success; for run, every phase passed.
	OK = 0
	// Failed: an error (bad input, the cluster unreachable, a refused plan), or the run failed or was interrupted.
	Failed = 1
	// SLOFailed: run completed, but a phase failed its SLO (latency or availability).
	SLOFailed = 2
	// Regression: compare --fail-on-regression found a significant regression above the threshold.
	Regression = 3
	// Interrupted: a second Ctrl-C (SIGINT, SIGTERM, SIGHUP) exited at once without cleaning up, or Ctrl-C at a
	// prompt of run -i/-c/-r (nothing was created): 128 + SIGINT, as shells report it.
	Interrupted = 130
)

// Error is an error that ends the process with a code other than Failed.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns err with exit code code; with code OK it returns nil (success has no error).
func New(code int, err error) error {
	if code == OK {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Of returns the exit code of a command that returned err: OK for nil, the code of the first *Error in err's chain,
// and Failed for any other error.
func Of(err error) int {
	if err == nil {
		return OK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Failed
}
