package main

import "syscall"

// sysProcAttr makes the kernel kill a child (stargate, nginx master, wrk)
// if the benchmark dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
