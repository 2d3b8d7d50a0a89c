//go:build !unix

package stress

import (
	"os"
	"syscall"
)

// sysProcAttr: nothing special; the kube-burner process exits when its stdin reaches EOF (the plugin is gone).
func sysProcAttr() *syscall.SysProcAttr { return nil }

// kill kills the kube-burner process.
func kill(p *os.Process) { _ = p.Kill() }
