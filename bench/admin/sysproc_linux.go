package main

import (
	"os"
	"syscall"
)

// sysProcAttr makes the kernel kill a child (etcd, stargate) if the
// benchmark dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
