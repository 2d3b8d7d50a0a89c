//go:build linux

package stress

import "syscall"

// sysProcAttr: the kube-burner process leads its own process group (a terminal's Ctrl-C goes to the plugin, which
// decides; kill reaches anything it started) and is killed when the plugin dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
