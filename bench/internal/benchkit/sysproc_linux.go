package benchkit

import "syscall"

// SysProcAttr makes the kernel kill a child (stargate, etcd, nginx, wrk)
// if the benchmark dies without stopping it.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
