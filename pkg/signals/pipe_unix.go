//go:build unix

package signals

import (
	"os"
	"os/signal"
	"syscall"
)

// ignoreBrokenPipe keeps a write to a closed stdout/stderr (the `| tee` of a dropped ssh session) from killing the
// process with SIGPIPE before it has cleaned up: the write fails with EPIPE instead.
func ignoreBrokenPipe() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
