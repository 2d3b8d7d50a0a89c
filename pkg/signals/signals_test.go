package signals

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestFirstSignalCancelsSecondExits(t *testing.T) {
	exited := make(chan int, 1)
	exit = func(code int) { exited <- code }
	defer func() { exit = os.Exit }()
	said := make(chan struct{}, 1)
	remove := OnForcedExit(func() { said <- struct{}{} })
	defer remove()

	ch := make(chan os.Signal, 2)
	ctx := notify(ch)
	ch <- syscall.SIGINT
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("first signal did not cancel the context")
	}
	select {
	case <-exited:
		t.Fatal("exited after the first signal")
	default:
	}
	ch <- syscall.SIGTERM
	select {
	case code := <-exited:
		if code != 130 {
			t.Errorf("exit code %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not exit")
	}
	select {
	case <-said:
	default:
		t.Error("OnForcedExit function did not run before exit")
	}
}

// TestHangupAndTermStopLikeCtrlC: SIGHUP (ssh drop) and SIGTERM are among the signals Context listens to, and the
// first one cancels the context like Ctrl-C.
func TestHangupAndTermStopLikeCtrlC(t *testing.T) {
	for _, want := range []os.Signal{syscall.SIGHUP, syscall.SIGTERM, os.Interrupt} {
		found := false
		for _, s := range Signals {
			found = found || s == want
		}
		if !found {
			t.Errorf("Context does not listen to %v", want)
		}
	}
	exited := make(chan int, 1)
	exit = func(code int) { exited <- code }
	defer func() { exit = os.Exit }()
	ch := make(chan os.Signal, 2)
	ctx := notify(ch)
	ch <- syscall.SIGHUP
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not cancel the context")
	}
	select {
	case <-exited:
		t.Fatal("exited after the first signal")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestContextHangup sends a real SIGHUP to the process: it must cancel Context's context, not kill the process.
func TestContextHangup(t *testing.T) {
	ctx := Context()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not cancel the context")
	}
}
