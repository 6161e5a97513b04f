//go:build unix

package client

import (
	"net"
	"syscall"
)

// inputPending peeks at a socket without blocking: one recv system call.
// Connections that are not sockets (tests' pipes) report false.
func inputPending(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	pending := false
	var b [1]byte
	err = rc.Control(func(fd uintptr) {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, the end of the stream (n == 0 without error), or an error
		// other than "nothing yet".
		pending = rerr != syscall.EAGAIN && rerr != syscall.EWOULDBLOCK
	})
	return err != nil || pending
}
