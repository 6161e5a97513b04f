package etcdtest

import "syscall"

// sysProcAttr makes the kernel kill etcd if the test binary dies without
// stopping it (a panic, a -timeout abort, kill -9), so no server outlives its
// test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
