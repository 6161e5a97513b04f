package childproc

import "syscall"

// Attr asks for SIGKILL when the parent dies.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
