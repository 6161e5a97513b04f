//go:build !linux

package childproc

import "syscall"

// Attr is empty where there is no parent-death signal: the tests and
// benchmarks stop their children themselves.
func Attr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
