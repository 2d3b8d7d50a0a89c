//go:build unix

package stress

import (
	"os"
	"syscall"
)

// kill kills the kube-burner process and its process group.
func kill(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}
