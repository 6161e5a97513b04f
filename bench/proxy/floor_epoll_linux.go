package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"syscall"
)

// The epoll floor is the Go floor's forwarding (floor.go) done nginx's
// way: one event loop per CPU, each locked to an OS thread with its own
// SO_REUSEPORT listener and epoll set, level-triggered, every client
// connection with its own upstream connection in the same loop, reads and
// writes as plain non-blocking syscalls. No goroutine is parked or woken
// per request. It shows what a Go proxy with an event-loop design could
// reach on this host. Stargate's plain port (internal/http1/evloop) is
// built on the same loops, but runs each connection's ordinary blocking
// code as a coroutine instead of forwarding bytes from callbacks.

// epollFloorMain is the child: it serves until killed.
func epollFloorMain(listen, upstream string) {
	la, err := netip.ParseAddrPort(listen)
	ua, err2 := netip.ParseAddrPort(upstream)
	if err != nil || err2 != nil || !la.Addr().Is4() || !ua.Addr().Is4() {
		fmt.Fprintln(os.Stderr, "epoll floor: IPv4 host:port expected")
		os.Exit(2)
	}
	n := runtime.GOMAXPROCS(0)
	errs := make(chan error, n)
	for range n {
		go func() { errs <- epollLoop(la, ua) }()
	}
	fmt.Fprintln(os.Stderr, "epoll floor:", <-errs)
	os.Exit(1)
}

type epConn struct {
	fd, peer int
	client   bool
	buf      []byte // bytes read and not yet forwarded
	fwd      []byte // client side: forwardHeaders for its address
	out      []byte // client side: the request head being sent, reused
	need     int    // upstream side: length of the answer being collected, 0 = head not complete
}

func epollLoop(la, ua netip.AddrPort) error {
	runtime.LockOSThread()
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	const soReusePort = 15
	for _, o := range []int{syscall.SO_REUSEADDR, soReusePort} {
		if err := syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, o, 1); err != nil {
			return err
		}
	}
	if err := syscall.Bind(lfd, &syscall.SockaddrInet4{Port: int(la.Port()), Addr: la.Addr().As4()}); err != nil {
		return err
	}
	if err := syscall.Listen(lfd, 1024); err != nil {
		return err
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	watch := func(fd int) error {
		return syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)})
	}
	if err := watch(lfd); err != nil {
		return err
	}
	up := &syscall.SockaddrInet4{Port: int(ua.Port()), Addr: ua.Addr().As4()}
	conns := map[int]*epConn{}
	drop := func(c *epConn) {
		syscall.Close(c.fd)
		syscall.Close(c.peer)
		delete(conns, c.fd)
		delete(conns, c.peer)
	}
	evs := make([]syscall.EpollEvent, 256)
	rbuf := make([]byte, 64<<10)
	for {
		n, err := syscall.EpollWait(ep, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range evs[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				acceptAll(lfd, up, conns, watch)
				continue
			}
			c := conns[fd]
			if c == nil {
				continue
			}
			m, err := syscall.Read(fd, rbuf)
			if err == syscall.EAGAIN {
				continue
			}
			if m <= 0 {
				drop(c)
				continue
			}
			c.buf = append(c.buf, rbuf[:m]...)
			var ok bool
			if c.client {
				ok = c.forwardRequests()
			} else {
				ok = c.forwardAnswers()
			}
			if !ok {
				drop(c)
			}
		}
	}
}

// acceptAll accepts what is pending and dials each connection's upstream.
func acceptAll(lfd int, up *syscall.SockaddrInet4, conns map[int]*epConn, watch func(int) error) {
	for {
		cfd, sa, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return
		}
		// A blocking connect on loopback completes at once.
		ufd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err == nil {
			if err = syscall.Connect(ufd, up); err == nil {
				err = syscall.SetNonblock(ufd, true)
			}
		}
		if err != nil {
			syscall.Close(cfd)
			syscall.Close(ufd)
			continue
		}
		for _, fd := range []int{cfd, ufd} {
			_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		}
		remote := "unknown"
		if a, ok := sa.(*syscall.SockaddrInet4); ok {
			remote = netip.AddrFrom4(a.Addr).String()
		}
		conns[cfd] = &epConn{fd: cfd, peer: ufd, client: true,
			fwd: forwardHeaders(remote)}
		conns[ufd] = &epConn{fd: ufd, peer: cfd}
		if watch(cfd) != nil || watch(ufd) != nil {
			syscall.Close(cfd)
			syscall.Close(ufd)
			delete(conns, cfd)
			delete(conns, ufd)
		}
	}
}

var crlf2 = []byte("\r\n\r\n")

// forwardRequests sends every complete request head in c.buf upstream
// with the forwarding headers added. Only requests without a body are
// expected (wrk's GETs).
func (c *epConn) forwardRequests() bool {
	for {
		i := bytes.Index(c.buf, crlf2)
		if i < 0 {
			return len(c.buf) < 64<<10
		}
		c.out = append(append(c.out[:0], c.buf[:i+2]...), c.fwd...)
		if !writeAll(c.peer, c.out) {
			return false
		}
		c.buf = c.buf[:copy(c.buf, c.buf[i+4:])]
	}
}

// forwardAnswers sends every complete Content-Length answer in c.buf to
// the client.
func (c *epConn) forwardAnswers() bool {
	for {
		if c.need == 0 {
			i := bytes.Index(c.buf, crlf2)
			if i < 0 {
				return len(c.buf) < 64<<10
			}
			n := contentLength(c.buf[:i+4])
			if n < 0 {
				return false // the floor relays Content-Length answers only
			}
			c.need = i + 4 + n
		}
		if len(c.buf) < c.need {
			return true
		}
		if !writeAll(c.peer, c.buf[:c.need]) {
			return false
		}
		c.buf = c.buf[:copy(c.buf, c.buf[c.need:])]
		c.need = 0
	}
}

// writeAll writes b to the non-blocking fd, waiting out a full socket
// buffer (which a client reading each answer before the next request
// never causes at these sizes).
func writeAll(fd int, b []byte) bool {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EAGAIN {
			runtime.Gosched()
			continue
		}
		if err != nil || n <= 0 {
			return false
		}
		b = b[n:]
	}
	return true
}
