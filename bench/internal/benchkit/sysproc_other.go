//go:build !linux

package benchkit

import "syscall"

// SysProcAttr is nil where there is no parent-death signal: the
// benchmarks stop their children themselves.
func SysProcAttr() *syscall.SysProcAttr { return nil }
