package e2e

import "syscall"

// childAttr makes the kernel SIGKILL a child stargate if the test binary
// dies without stopping it (panic, -timeout abort), so none outlives a run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
