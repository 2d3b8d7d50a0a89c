//go:build unix && !linux

package stress

import "syscall"

// sysProcAttr: the kube-burner process leads its own process group (a terminal's Ctrl-C goes to the plugin, which
// decides; kill reaches anything it started). Without Pdeathsig, it exits when its stdin reaches EOF.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
