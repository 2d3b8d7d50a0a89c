// Package signals turns SIGINT/SIGTERM into context cancellation: the first signal cancels the context so that work
// stops and cleanup runs; a second signal exits at once, after running the registered last words.
package signals

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
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

// Context returns a context cancelled by the first SIGINT or SIGTERM. A second signal runs the OnForcedExit
// functions and exits with status 130.
func Context() context.Context {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return notify(ch)
}

func notify(ch <-chan os.Signal) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		s := <-ch
		fmt.Fprintf(os.Stderr, "\nreceived %v: stopping and cleaning up (press Ctrl-C again to exit at once)\n", s)
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
		exit(130)
	}()
	return ctx
}
