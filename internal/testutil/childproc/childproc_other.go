//go:build !linux

package childproc

import "syscall"

// attr has no parent-death signal where the platform has none: the tests
// and benchmarks stop their children themselves.
func attr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
