// Package signals turns SIGINT/SIGTERM/SIGHUP into context cancellation: the first signal cancels the context so that work
// stops and cleanup runs; a second signal exits at once, after running the registered last words.
package signals

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/exitcode"
)

var (
	mu        sync.Mutex
	lastWords []func()
	exit      = os.Exit
)

// OnForcedExit registers f to run (in registration order) when a second signal forces the process to exit, e.g. to
// print the exact cleanup command for what is still in the cluster. The returned func unregisters it.
func OnForcedExit(f func()) (remove func()) {
	mu.Lock()
	defer mu.Unlock()
	lastWords = append(lastWords, f)
	idx := len(lastWords) - 1
	return func() {
		mu.Lock()
		defer mu.Unlock()
		lastWords[idx] = nil
	}
}

// Signals are the signals that stop the process: Ctrl-C (SIGINT), SIGTERM (kill, a CI runner's stop) and SIGHUP
// (the terminal or the ssh session went away). All three behave alike.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// Context returns a context cancelled by the first SIGINT, SIGTERM or SIGHUP. A second one runs the OnForcedExit
// functions and exits with status 130 (exitcode.Interrupted).
func Context() context.Context {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, Signals...)
	ignoreBrokenPipe()
	return notify(ch)
}

func notify(ch <-chan os.Signal) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		s := <-ch
		fmt.Fprintf(os.Stderr, "\nreceived %v: stopping and cleaning up; this can take a minute, progress follows (press Ctrl-C again to exit at once, leaving what is not yet deleted)\n", s)
		cancel()
		<-ch
		mu.Lock()
		fs := append([]func(){}, lastWords...)
		mu.Unlock()
		for _, f := range fs {
			if f != nil {
				f()
			}
		}
		exit(exitcode.Interrupted)
	}()
	return ctx
}
