//go:build linux

package evloop

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	rd = 0
	wr = 1
)

// waiter is who waits for one direction of a connection: the loop's
// coroutine (t) or, in blocking mode, a goroutine on ch.
type waiter struct {
	t  *task
	ch chan struct{}
}

// Conn is a TCP connection served by a Loop. It implements net.Conn and
// syscall.Conn. In its default (inline) mode only the loop's coroutine that
// owns it may use it; after Block switches it (or Detach, for good) any
// goroutine may.
type Conn struct {
	loop *Loop
	fd   int
	gen  uint32

	raddr net.Addr
	// laddr is filled on first use (LocalAddr), possibly by two
	// goroutines at once once the connection is detached.
	laddr atomic.Pointer[net.TCPAddr]

	// Readiness per direction: the loop bumps seq on every edge; an
	// operation that found the socket drained (EAGAIN, or a short read or
	// write) stores the seq it saw before trying in drained. Ready means
	// seq != drained, so an edge that arrives while an operation is in
	// flight is never lost.
	seq     [2]atomic.Uint32
	drained [2]atomic.Uint32
	// hup: the peer shut down its side (EPOLLRDHUP, HUP or ERR seen).
	// After that a short read no longer means drained: the end of stream
	// still waits to be read, and no further edge will announce it.
	hup atomic.Bool
	// dl holds the deadlines in Unix nanoseconds, 0 for none; exp is set
	// once a deadline has passed (by SetDeadline, or by the loop's timer),
	// so reads and writes check a flag instead of the clock.
	dl  [2]atomic.Int64
	exp [2]atomic.Bool
	// refs counts operations in flight, with closedBit set by Close and
	// finalBit by whoever closes the descriptor (the last one out).
	refs atomic.Int64

	// blocking: the connection is in blocking mode (Block, Detach).
	// Changed under mu, so that a waiter registers consistently with it;
	// read without the lock where only the mode matters (inline, Now).
	blocking atomic.Bool

	mu       sync.Mutex
	closed   bool // Close was called
	detached bool
	wait     [2]waiter
	ch       [2]chan struct{}
	// tmr is the time of the timer entry armed per direction (0 = none);
	// the entry itself (tm, reused) is guarded by loop.mu.
	tmr [2]int64
	tm  [2]*timer
}

const (
	closedBit = 1 << 62
	finalBit  = 1 << 61
)

func (c *Conn) incref() bool {
	if c.refs.Add(1)&closedBit != 0 {
		c.decref()
		return false
	}
	return true
}

func (c *Conn) decref() {
	if c.refs.Add(-1) == closedBit && c.refs.CompareAndSwap(closedBit, closedBit|finalBit) {
		c.loop.forget(c)
	}
}

// Close closes the connection; operations waiting on it return
// net.ErrClosed. The descriptor is closed once no operation uses it.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Source: c.knownLocal(), Addr: c.raddr, Err: net.ErrClosed}
	}
	c.closed = true
	w := c.wait
	c.wait = [2]waiter{}
	c.mu.Unlock()
	for _, x := range w {
		c.loop.notify(x, false)
	}
	if c.refs.Add(closedBit) == closedBit && c.refs.CompareAndSwap(closedBit, closedBit|finalBit) {
		c.loop.forget(c)
	}
	return nil
}

func (c *Conn) opErr(op string, err error) error {
	if err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.knownLocal(), Addr: c.raddr, Err: err}
}

func (c *Conn) Read(p []byte) (int, error) {
	if !c.incref() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	defer c.decref()
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := c.io(rd, func() (done, empty bool) {
		m, err := rawRead(c.fd, p)
		switch {
		case err == nil:
			n = m
			if m == 0 {
				rerr = io.EOF
			}
			// A short read emptied the socket, unless the peer's FIN
			// came with the data (hup) or was just read (m == 0): no
			// edge follows those, and the next read must see EOF.
			return true, m > 0 && m < len(p) && !c.hup.Load()
		case err == syscall.EINTR:
			return false, false
		case err == syscall.EAGAIN:
			return false, true
		}
		rerr = c.opErr("read", os.NewSyscallError("read", err))
		return true, false
	})
	if err != nil {
		return 0, c.opErr("read", err)
	}
	return n, rerr
}

func (c *Conn) Write(p []byte) (int, error) {
	if !c.incref() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	defer c.decref()
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	var werr error
	err := c.io(wr, func() (done, empty bool) {
		m, err := rawWrite(c.fd, p[n:])
		if m > 0 {
			n += m
		}
		switch {
		case err == nil:
			return n == len(p), n < len(p) // a short write filled the send buffer
		case err == syscall.EINTR:
			return false, false
		case err == syscall.EAGAIN:
			return false, true
		}
		werr = c.opErr("write", os.NewSyscallError("write", err))
		return true, false
	})
	if err != nil {
		return n, c.opErr("write", err)
	}
	return n, werr
}

// io runs op while dir is ready, until it reports done. op reports empty
// when the socket had nothing more to give (or no room to take): the seq
// seen before the attempt is recorded as drained, and the next attempt
// waits for a newer edge. It fails only with a passed deadline or a
// closed connection. The caller holds a reference.
func (c *Conn) io(dir int, op func() (done, empty bool)) error {
	for {
		if c.exp[dir].Load() {
			return os.ErrDeadlineExceeded
		}
		s := c.seq[dir].Load()
		if s != c.drained[dir].Load() {
			done, empty := op()
			if empty {
				c.drained[dir].Store(s)
			}
			if done {
				return nil
			}
			if !empty {
				continue
			}
		}
		if err := c.await(dir); err != nil {
			return err
		}
	}
}

// await waits until dir may be ready again, its deadline passes or the
// connection is closed. A wake-up may be spurious: callers try again.
func (c *Conn) await(dir int) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	if c.seq[dir].Load() != c.drained[dir].Load() {
		c.mu.Unlock()
		return nil
	}
	if c.exp[dir].Load() {
		c.mu.Unlock()
		return os.ErrDeadlineExceeded
	}
	if c.blocking.Load() {
		ch := c.ch[dir]
		if ch == nil {
			ch = make(chan struct{}, 1)
			c.ch[dir] = ch
		}
		c.wait[dir] = waiter{ch: ch}
		c.mu.Unlock()
		<-ch
		return nil
	}
	t := c.loop.cur
	if t == nil {
		c.mu.Unlock()
		panic("evloop: a loop connection in inline mode waited outside its loop's coroutine")
	}
	c.wait[dir] = waiter{t: t}
	c.mu.Unlock()
	if !t.yield(struct{}{}) {
		return net.ErrClosed // the loop is stopping
	}
	return nil
}

// ready records an edge for dir and wakes its waiter (the loop calls it).
func (c *Conn) ready(dir int) {
	c.seq[dir].Add(1)
	c.mu.Lock()
	w := c.wait[dir]
	c.wait[dir] = waiter{}
	c.mu.Unlock()
	c.loop.notify(w, true)
}

// fire runs when dir's timer entry came due (the loop calls it): the
// deadline has passed, or it moved later meanwhile and is armed again.
func (c *Conn) fire(dir int) {
	c.mu.Lock()
	c.tmr[dir] = 0
	d := c.dl[dir].Load()
	if d == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	if d > time.Now().UnixNano() {
		c.tmr[dir] = d
		c.mu.Unlock()
		c.loop.arm(c, dir, d)
		return
	}
	c.expireLocked(dir, true)
}

// expireLocked marks dir's deadline passed and wakes its waiter, who
// finds it so; c.mu is held and released here.
func (c *Conn) expireLocked(dir int, onLoop bool) {
	c.exp[dir].Store(true)
	w := c.wait[dir]
	c.wait[dir] = waiter{}
	c.mu.Unlock()
	c.loop.notify(w, onLoop)
}

// setDeadline records a deadline. A future one gets a timer entry
// unless one is armed earlier already (it re-arms when it fires); a past
// one wakes the waiter now.
func (c *Conn) setDeadline(dir int, t time.Time) {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
		if d == 0 {
			d = 1
		}
	}
	if c.dl[dir].Swap(d) == d {
		return
	}
	if d == 0 {
		c.exp[dir].Store(false) // an armed entry finds no deadline and stops
		return
	}
	if d > time.Now().UnixNano() {
		c.exp[dir].Store(false)
		c.mu.Lock()
		arm := !c.closed && (c.tmr[dir] == 0 || d < c.tmr[dir])
		if arm {
			c.tmr[dir] = d
		}
		c.mu.Unlock()
		if arm {
			c.loop.arm(c, dir, d)
		}
		return
	}
	c.mu.Lock()
	c.expireLocked(dir, false)
}

func (c *Conn) SetReadDeadline(t time.Time) error  { c.setDeadline(rd, t); return nil }
func (c *Conn) SetWriteDeadline(t time.Time) error { c.setDeadline(wr, t); return nil }
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadline(rd, t)
	c.setDeadline(wr, t)
	return nil
}

func (c *Conn) LocalAddr() net.Addr {
	if a := c.laddr.Load(); a != nil {
		return a
	}
	if sa, err := syscall.Getsockname(c.fd); err == nil {
		if a := sockaddrToTCP(sa); a != nil {
			c.laddr.Store(a)
			return a
		}
	}
	return nil
}

// knownLocal is the local address if LocalAddr found it already (errors
// name it without a system call).
func (c *Conn) knownLocal() net.Addr {
	if a := c.laddr.Load(); a != nil {
		return a
	}
	return nil
}

func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// CloseWrite shuts down the sending side (a WebSocket proxy half-closes).
func (c *Conn) CloseWrite() error {
	if !c.incref() {
		return c.opErr("close", net.ErrClosed)
	}
	defer c.decref()
	return c.opErr("close", syscall.Shutdown(c.fd, syscall.SHUT_WR))
}

// setBlocking switches between inline and blocking mode; it must not be
// called while an operation waits.
func (c *Conn) setBlocking(b bool) {
	c.mu.Lock()
	if !c.detached {
		c.blocking.Store(b)
	}
	c.mu.Unlock()
}

// Detach puts nc, when it is a loop connection, in blocking mode for the
// rest of its life: it has left the loop's coroutine (a hijacked
// connection). Call it from a function run by Block.
func Detach(nc net.Conn) {
	if c, ok := nc.(*Conn); ok {
		c.mu.Lock()
		c.blocking.Store(true)
		c.detached = true
		c.mu.Unlock()
	}
}

// Now is the current time for deadlines set on c: in inline mode the
// loop's clock, read once per pass over the ready coroutines (which is
// what runs the caller), instead of a clock read per deadline; a
// deadline comes at most one pass early. In blocking mode the clock
// itself (the loop may be parked with an old reading).
func (c *Conn) Now() time.Time {
	if c.blocking.Load() {
		return time.Now()
	}
	return c.loop.Now()
}

// UnixNano is Now in Unix nanoseconds (deadline.Clock).
func (c *Conn) UnixNano() int64 {
	if c.blocking.Load() {
		return time.Now().UnixNano()
	}
	return c.loop.UnixNano()
}

// ID is the loop's index in its group, from 0: what nginx calls the
// worker id, for state kept per loop (metrics shards).
func (l *Loop) ID() int { return l.id }

// Now is the loop's clock as Conn.Now has it, for the coroutines the
// loop runs (and only them).
func (l *Loop) Now() time.Time {
	if l.now != 0 {
		return l.nowT // with its monotonic reading: durations survive clock steps
	}
	return time.Now()
}

// UnixNano is Now in Unix nanoseconds, without building a time.Time.
func (l *Loop) UnixNano() int64 {
	if l.now != 0 {
		return l.now
	}
	return time.Now().UnixNano()
}

// InputPending reports whether bytes or the end of the stream wait to be
// read. A pooled idle upstream connection must be empty: bytes that
// arrived while it was idle (a body after a HEAD or 204 answer, more
// than Content-Length said, sent late) would be taken for the next
// request's response, and a connection the upstream closed would fail
// the next request. With no read edge since the last read drained the
// socket, the answer is known without a system call; otherwise one
// non-blocking peek settles it. Only the connection's user may call it.
func (c *Conn) InputPending() bool {
	if !c.incref() {
		return true
	}
	defer c.decref()
	if c.hup.Load() {
		return true
	}
	s := c.seq[rd].Load()
	if s == c.drained[rd].Load() {
		return false
	}
	var b [1]byte
	_, err := rawPeek(c.fd, b[:])
	if err == syscall.EAGAIN {
		c.drained[rd].Store(s)
		return false
	}
	return true // data, the end of the stream (0 bytes) or an error
}

// SyscallConn gives sendfile and friends the descriptor, waiting through
// the loop.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return rawConn{c}, nil }

type rawConn struct{ c *Conn }

func (r rawConn) Control(f func(fd uintptr)) error {
	if !r.c.incref() {
		return net.ErrClosed
	}
	defer r.c.decref()
	f(uintptr(r.c.fd))
	return nil
}

func (r rawConn) Read(f func(fd uintptr) bool) error  { return r.run(rd, f) }
func (r rawConn) Write(f func(fd uintptr) bool) error { return r.run(wr, f) }

// run calls f until it reports done; false means the socket would block.
func (r rawConn) run(dir int, f func(fd uintptr) bool) error {
	c := r.c
	if !c.incref() {
		return net.ErrClosed
	}
	defer c.decref()
	return c.io(dir, func() (done, empty bool) {
		done = f(uintptr(c.fd))
		return done, !done
	})
}

func sockaddrToTCP(sa syscall.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *syscall.SockaddrInet6:
		ta := &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				ta.Zone = ifi.Name
			}
		}
		return ta
	}
	return nil
}
