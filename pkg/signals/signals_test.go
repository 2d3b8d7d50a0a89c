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
