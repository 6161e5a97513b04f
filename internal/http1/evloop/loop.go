//go:build linux

package evloop

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	epollExclusive = 1 << 28                                                     // EPOLLEXCLUSIVE, not in package syscall
	epollRDHup     = 0x2000                                                      // EPOLLRDHUP
	connEvents     = uint32(syscall.EPOLLIN|syscall.EPOLLOUT|epollRDHup) | 1<<31 // EPOLLET
	readEvents     = syscall.EPOLLIN | epollRDHup | syscall.EPOLLHUP | syscall.EPOLLERR
	writeEvents    = syscall.EPOLLOUT | syscall.EPOLLHUP | syscall.EPOLLERR
	hupEvents      = epollRDHup | syscall.EPOLLHUP | syscall.EPOLLERR
	// acceptBatch bounds the connections one loop accepts per wake-up, so
	// a connection storm does not starve the requests in flight.
	acceptBatch = 64
	// spinBeforePark is how long a loop with nothing to do polls before
	// it sleeps in epoll_wait (see Loop.wait), and spinMisses how many
	// spins in a row may find nothing before the loop stops spinning.
	spinBeforePark = 20 * time.Microsecond
	spinMisses     = 4
	// acceptPause is how long a loop stops accepting after running out
	// of descriptors or memory (net/http backs off likewise).
	acceptPause = 100 * time.Millisecond
)

// Supported reports whether this platform has event loops.
const Supported = true

// Group is a set of loops, one per CPU by default, sharing listeners.
type Group struct {
	loops []*Loop
	log   *slog.Logger
	once  sync.Once
}

// startProcs is GOMAXPROCS as the process started (the operator's
// GOMAXPROCS, or the CPUs it may use), before a group raised it: the
// default number of loops. Counting from the raised value, every further
// group would get one loop more than the one before.
var startProcs = runtime.GOMAXPROCS(0)

// DefaultLoops is the number of loops NewGroup(0) starts: GOMAXPROCS as
// the process started. State kept per loop elsewhere sizes itself by it.
func DefaultLoops() int { return startProcs }

// NewGroup starts n loops (n <= 0: one per CPU, GOMAXPROCS as the process
// started), and raises GOMAXPROCS to at least n+1.
//
// Why the extra P: a loop keeps its P while it runs and while it spins
// before sleeping, so with one P per loop everything else (the admin API,
// work handed to goroutines with Block, health checks, the garbage
// collector's workers) waited for the scheduler's monitor to preempt a
// busy loop: admin requests took 7-12 ms at the median while the proxy
// was saturated, against 1-2 ms with the extra P (BENCHMARKS.md, "Sixth
// session"). A loop sleeping in epoll_wait holds no CPU, so the extra P
// costs nothing when the loops are idle.
func NewGroup(n int, log *slog.Logger) (*Group, error) {
	if n <= 0 {
		n = startProcs
	}
	if runtime.GOMAXPROCS(0) < n+1 {
		runtime.GOMAXPROCS(n + 1)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Group{log: log}
	for range n {
		l, err := newLoop(log)
		if err != nil {
			g.Close()
			return nil, err
		}
		l.group = g
		l.id = len(g.loops)
		g.loops = append(g.loops, l)
		go l.run()
	}
	return g, nil
}

// Close stops the loops: their connections are closed, their coroutines
// run to their end, and the loops exit.
func (g *Group) Close() {
	g.once.Do(func() {
		for _, l := range g.loops {
			l.stop()
		}
		for _, l := range g.loops {
			<-l.done
		}
	})
}

// Listen makes every loop accept from ln (a TCP listener, which keeps its
// address; the loops use a duplicate of its descriptor) and run serve
// for each new connection in a coroutine of the loop that accepted it.
// The returned function stops accepting; close ln afterwards.
func (g *Group) Listen(ln net.Listener, serve func(*Conn)) (unlisten func(), err error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, errors.New("evloop: not a TCP listener")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("evloop: listener: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = dupCloexec(int(s)) }); err != nil {
		return nil, fmt.Errorf("evloop: listener: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("evloop: dup listener: %w", derr)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("evloop: listener: %w", err)
	}
	ls := &listener{fd: fd, serve: serve}
	for _, l := range g.loops {
		if err := l.addListener(ls); err != nil {
			for _, l := range g.loops {
				l.removeListener(ls)
			}
			syscall.Close(fd)
			return nil, err
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, l := range g.loops {
				l.removeListener(ls)
			}
			ls.mu.Lock()
			ls.closed = true
			syscall.Close(ls.fd)
			ls.mu.Unlock()
		})
	}, nil
}

func dupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// listener is a listening socket shared by the loops. mu keeps its
// descriptor open while a loop accepts from it.
type listener struct {
	fd     int
	serve  func(*Conn)
	mu     sync.RWMutex
	closed bool
}

// Loop is one event loop: an epoll set, the connections registered in it
// and their coroutines.
type Loop struct {
	epfd int
	efd  int // eventfd: wakes the loop for work handed in from goroutines
	log  *slog.Logger

	mu sync.Mutex
	// conns is indexed by descriptor (they are small and dense, as in
	// nginx's connection array): a map lookup per event cost more.
	conns     []*Conn
	lns       map[int32]*listener
	ready     []*task // woken from other goroutines
	timers    timerHeap
	incoming  []accepted // connections another loop accepted for this one
	stopping  bool
	efdClosed bool
	gen       uint32
	done      chan struct{} // closed when run returns

	group *Group
	id    int // index in the group
	// load is the number of accepted connections the loop serves: a new
	// connection goes to the least loaded loop, whichever accepted it
	// (with EPOLLEXCLUSIVE one loop may take most of a burst, and a loop
	// is one goroutine: a lopsided split leaves a CPU idle).
	load atomic.Int64

	// Loop goroutine only.
	// now: the clock (Unix ns) read at the start of the current pass over
	// the ready coroutines (runAll); see Conn.Now. nowT is the same
	// reading as a time.Time, with its monotonic part, for durations.
	now  int64
	nowT time.Time
	// misses counts the spins in a row that found nothing (see wait).
	misses int
	cur    *task // the coroutine running now
	runq   []*task
	tasks  int
}

func newLoop(log *slog.Logger) (*Loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("evloop: epoll_create: %w", err)
	}
	r, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		syscall.Close(epfd)
		return nil, fmt.Errorf("evloop: eventfd: %w", e)
	}
	efd := int(r)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, efd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(efd)}); err != nil {
		syscall.Close(epfd)
		syscall.Close(efd)
		return nil, fmt.Errorf("evloop: epoll_ctl: %w", err)
	}
	return &Loop{epfd: epfd, efd: efd, log: log, lns: map[int32]*listener{}, done: make(chan struct{})}, nil
}

// wait fills evs with ready events, sleeping in epoll_wait until one
// arrives or the time until (Unix ns) comes (-1: no limit, 0: do not
// wait).
//
// The loop's goroutine is locked to its thread (see run), and it sleeps
// in the system call itself, the way nginx's workers do: the kernel wakes
// this very thread when a socket becomes ready. Parking in the runtime's
// poller instead meant that whichever thread the poller woke had to take
// the goroutine over, and on a host where the proxy shares its CPUs with
// the upstream and the clients that wake-up often came late: the host sat
// idle 4-6 µs per request at saturation, against 0.7 µs for nginx
// (BENCHMARKS.md, "Sixth session").
func (l *Loop) wait(evs []syscall.EpollEvent, until int64) (int, error) {
	n, err := pollNow(l.epfd, evs)
	if n > 0 || until == 0 || (err != nil && err != syscall.EINTR) {
		return n, err
	}
	// Spin a little first: under load the next event (an upstream's
	// answer, a client's next request) is usually microseconds away, and
	// sleeping costs a wake-up that waits for a CPU. sched_yield hands the
	// CPU to the upstream or the clients meanwhile when they share it. A
	// loop whose last spinMisses spins found nothing (light load: the
	// next event is a round trip away) stops spinning, and starts again
	// once a sleep ends as soon as a spin would have.
	if l.misses < spinMisses {
		for t0 := time.Now(); time.Since(t0) < spinBeforePark; {
			schedYield()
			if n, err = pollNow(l.epfd, evs); n > 0 || (err != nil && err != syscall.EINTR) {
				l.misses = 0
				return n, err
			}
		}
		l.misses++
	}
	t0 := time.Now()
	n, err = epollSleep(l.epfd, evs, until, t0)
	if time.Since(t0) < spinBeforePark {
		l.misses = 0
	}
	if err == syscall.EINTR { // a signal (the runtime preempting us)
		return 0, nil
	}
	return n, err
}

func (l *Loop) addListener(ls *listener) error {
	l.mu.Lock()
	l.lns[int32(ls.fd)] = ls
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollExclusive, Fd: int32(ls.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, ls.fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.lns, int32(ls.fd))
		l.mu.Unlock()
		return fmt.Errorf("evloop: watch listener: %w", err)
	}
	return nil
}

func (l *Loop) removeListener(ls *listener) {
	l.mu.Lock()
	delete(l.lns, int32(ls.fd))
	l.mu.Unlock()
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, ls.fd, &syscall.EpollEvent{})
}

// register adds a connected non-blocking socket to the loop.
func (l *Loop) register(fd int, raddr net.Addr) (*Conn, error) {
	c := &Conn{loop: l, fd: fd, raddr: raddr}
	// Assume both directions ready: the first read of an accepted
	// connection usually finds its request there already.
	c.seq[rd].Store(1)
	c.seq[wr].Store(1)
	l.mu.Lock()
	if l.stopping {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	l.gen++
	c.gen = l.gen
	for fd >= len(l.conns) {
		l.conns = append(l.conns[:cap(l.conns)], nil)
	}
	l.conns[fd] = c
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: connEvents, Fd: int32(fd), Pad: int32(c.gen)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		l.conns[fd] = nil
		l.mu.Unlock()
		return nil, fmt.Errorf("evloop: watch connection: %w", err)
	}
	return c, nil
}

// forget closes c's descriptor (closing removes it from the epoll set).
func (l *Loop) forget(c *Conn) {
	l.mu.Lock()
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
	}
	l.disarm(c)
	l.mu.Unlock()
	syscall.Close(c.fd)
}

// task is a coroutine run by the loop.
type task struct {
	next   func() (struct{}, bool)
	yield  func(struct{}) bool
	queued bool
	done   bool
}

// spawn starts f as a coroutine; it runs when the loop gets to it.
func (l *Loop) spawn(f func()) {
	t := &task{}
	// The stop function is not kept: a coroutine ends by returning, once
	// its connection is closed (Loop.shutdown closes them all).
	t.next, _ = iter.Pull(func(yield func(struct{}) bool) {
		t.yield = yield
		defer func() {
			if p := recover(); p != nil {
				l.log.Error("evloop: panic in connection", "panic", p)
			}
		}()
		f()
	})
	l.tasks++
	l.schedule(t)
}

// schedule queues t to run in this iteration (loop goroutine only).
func (l *Loop) schedule(t *task) {
	if !t.queued && !t.done {
		t.queued = true
		l.runq = append(l.runq, t)
	}
}

// scheduleReadyLocked queues the coroutines other goroutines woke (l.mu
// held, loop goroutine).
func (l *Loop) scheduleReadyLocked() {
	for _, t := range l.ready {
		l.schedule(t)
	}
	clear(l.ready)
	l.ready = l.ready[:0]
}

// notify wakes a waiter; onLoop tells that the caller is the loop
// goroutine, which may queue a coroutine directly.
func (l *Loop) notify(w waiter, onLoop bool) {
	switch {
	case w.t != nil && onLoop:
		l.schedule(w.t)
	case w.t != nil:
		l.mu.Lock()
		l.ready = append(l.ready, w.t)
		l.mu.Unlock()
		l.wake()
	case w.ch != nil:
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

var one = [8]byte{1}

// wake interrupts the loop's epoll_wait. After the loop closed its
// eventfd (a goroutine offloaded by Block may finish later) it does
// nothing: the descriptor number may belong to something else by then.
func (l *Loop) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.efdClosed {
		return
	}
	for {
		_, err := syscall.Write(l.efd, one[:])
		if err != syscall.EINTR {
			return
		}
	}
}

// arm makes c's timer entry for dir due at d (the caller recorded d in
// c.tmr). Each connection has at most one entry per direction in the
// heap, so the heap is bounded by the connections, not by the requests.
// When the entry becomes the first, the loop is woken to sleep less
// (the caller may be another goroutine).
func (l *Loop) arm(c *Conn, dir int, d int64) {
	l.mu.Lock()
	e := c.tm[dir]
	if e == nil {
		e = &timer{c: c, dir: dir, idx: -1}
		c.tm[dir] = e
	}
	e.when = d
	if e.idx < 0 {
		heap.Push(&l.timers, e)
	} else {
		heap.Fix(&l.timers, e.idx)
	}
	first := e.idx == 0
	l.mu.Unlock()
	if first {
		l.wake()
	}
}

// disarm drops c's timer entries (it is closed).
func (l *Loop) disarm(c *Conn) {
	for _, e := range c.tm {
		if e != nil && e.idx >= 0 {
			heap.Remove(&l.timers, e.idx)
		}
	}
}

func (l *Loop) stop() {
	l.mu.Lock()
	l.stopping = true
	l.mu.Unlock()
	l.wake()
}

type event struct {
	c  *Conn
	ev uint32
}

func (l *Loop) run() {
	defer close(l.done)
	// The loop sleeps in epoll_wait on its own thread (see wait), and its
	// coroutines must run under the thread lock they were created with,
	// so the loop keeps its thread for its whole life.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	evs := make([]syscall.EpollEvent, 256)
	var got []event
	var accept []*listener
	var fired []*timer
	var incoming []accepted
	var efdBuf [8]byte
	for {
		n, err := l.wait(evs, l.until())
		if err != nil && err != syscall.EINTR {
			l.log.Error("evloop: epoll_wait", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		clear(fired)
		got, accept, fired = got[:0], accept[:0], fired[:0]
		l.mu.Lock()
		for _, ev := range evs[:max(n, 0)] {
			if fd := int(ev.Fd); fd < len(l.conns) {
				if c := l.conns[fd]; c != nil {
					if c.gen == uint32(ev.Pad) {
						got = append(got, event{c, ev.Events})
					}
					continue
				}
			}
			if ev.Fd == int32(l.efd) {
				_, _ = syscall.Read(l.efd, efdBuf[:])
				continue
			}
			if ls := l.lns[ev.Fd]; ls != nil {
				accept = append(accept, ls)
			}
		}
		nowT := time.Now()
		now := nowT.UnixNano()
		for len(l.timers) > 0 && l.timers[0].when <= now {
			fired = append(fired, heap.Pop(&l.timers).(*timer))
		}
		l.scheduleReadyLocked()
		incoming = append(incoming[:0], l.incoming...)
		clear(l.incoming)
		l.incoming = l.incoming[:0]
		stopping := l.stopping
		l.mu.Unlock()
		for _, a := range incoming {
			if stopping {
				l.load.Add(-1)
				syscall.Close(a.fd)
				continue
			}
			l.serveAccepted(a)
		}
		clear(incoming)

		for _, e := range got {
			if e.ev&hupEvents != 0 {
				e.c.hup.Store(true)
			}
			if e.ev&readEvents != 0 {
				e.c.ready(rd)
			}
			if e.ev&writeEvents != 0 {
				e.c.ready(wr)
			}
		}
		for _, t := range fired {
			if t.ls != nil {
				t.ls.mu.RLock()
				if !t.ls.closed {
					_ = l.addListener(t.ls) // accepting again after a pause
				}
				t.ls.mu.RUnlock()
				continue
			}
			t.c.fire(t.dir)
		}
		if !stopping {
			for _, ls := range accept {
				l.accept(ls)
			}
		}
		l.runAll(nowT)
		if stopping {
			l.shutdown()
			return
		}
	}
}

// runAll resumes every queued coroutine; coroutines woken meanwhile run in
// the same pass.
func (l *Loop) runAll(now time.Time) {
	l.now, l.nowT = now.UnixNano(), now
	for i := 0; i < len(l.runq); i++ {
		t := l.runq[i]
		l.runq[i] = nil
		t.queued = false
		if t.done {
			continue
		}
		l.cur = t
		_, ok := t.next()
		l.cur = nil
		if !ok {
			t.done = true
			l.tasks--
		}
	}
	l.runq = l.runq[:0]
}

// shutdown closes every connection and runs the coroutines to their end.
func (l *Loop) shutdown() {
	for range 100 {
		l.mu.Lock()
		var cs []*Conn
		for _, c := range l.conns {
			if c != nil {
				cs = append(cs, c)
			}
		}
		l.mu.Unlock()
		for _, c := range cs {
			c.Close() // wakes their coroutines through l.ready
		}
		l.mu.Lock()
		l.scheduleReadyLocked()
		l.mu.Unlock()
		l.runAll(time.Now())
		if l.tasks == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Close(l.epfd)
	l.mu.Lock()
	l.efdClosed = true
	syscall.Close(l.efd)
	l.mu.Unlock()
}

// until is when the loop must wake up at the latest (Unix ns): the first
// timer; -1 for no limit, 0 when work is waiting already.
func (l *Loop) until() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ready) > 0 {
		return 0
	}
	if len(l.timers) == 0 {
		return -1
	}
	if w := l.timers[0].when; w > time.Now().UnixNano() {
		return w
	}
	return 0
}

// accept takes up to acceptBatch connections from ls.
func (l *Loop) accept(ls *listener) {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	if ls.closed {
		return
	}
	for range acceptBatch {
		fd, sa, err := syscall.Accept4(ls.fd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			switch err {
			case syscall.EAGAIN:
				return
			case syscall.EINTR, syscall.ECONNABORTED:
				continue
			case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM:
				// Stop accepting for a moment (level-triggered, the
				// listener would wake us at once again).
				l.log.Warn("evloop: accept", "err", err, "retry_in", acceptPause)
				l.removeListener(ls)
				l.mu.Lock()
				heap.Push(&l.timers, &timer{when: time.Now().Add(acceptPause).UnixNano(), ls: ls, idx: -1})
				l.mu.Unlock()
				return
			default:
				l.log.Debug("evloop: accept", "err", err)
				return
			}
		}
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		a := accepted{fd: fd, raddr: sockaddrToTCP(sa), serve: ls.serve}
		to := l.leastLoaded()
		to.load.Add(1)
		if to == l {
			l.serveAccepted(a)
		} else if !to.handOver(a) {
			to.load.Add(-1)
			syscall.Close(fd)
		}
	}
}

// handOver queues a connection another loop accepted for this one and
// wakes it; false when the loop is stopping.
func (l *Loop) handOver(a accepted) bool {
	l.mu.Lock()
	ok := !l.stopping
	if ok {
		l.incoming = append(l.incoming, a)
	}
	l.mu.Unlock()
	if ok {
		l.wake()
	}
	return ok
}

// accepted is a connection handed from the loop that accepted it to the
// loop that serves it.
type accepted struct {
	fd    int
	raddr net.Addr
	serve func(*Conn)
}

// leastLoaded is the loop serving the fewest accepted connections; l on
// a tie.
func (l *Loop) leastLoaded() *Loop {
	best, bl := l, l.load.Load()
	for _, o := range l.group.loops {
		if n := o.load.Load(); n < bl {
			best, bl = o, n
		}
	}
	return best
}

// serveAccepted registers an accepted connection (counted in load) and
// starts its coroutine.
func (l *Loop) serveAccepted(a accepted) {
	c, err := l.register(a.fd, a.raddr)
	if err != nil {
		l.load.Add(-1)
		syscall.Close(a.fd)
		return
	}
	l.spawn(func() {
		defer l.load.Add(-1)
		a.serve(c)
	})
}

// Dial connects to addr ("ip:port", or "host:port", resolved outside the
// loop) from the running coroutine; the connection belongs to this loop.
func (l *Loop) Dial(addr string, timeout time.Duration) (*Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		host, port, serr := net.SplitHostPort(addr)
		if serr != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: serr}
		}
		var ips []netip.Addr
		var lerr error
		var pn int
		l.block(nil, func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			ips, lerr = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if lerr == nil {
				pn, lerr = net.DefaultResolver.LookupPort(ctx, "tcp", port)
			}
		})
		if lerr != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: lerr}
		}
		if len(ips) == 0 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no address for " + host)}
		}
		var last error
		deadline := time.Now().Add(timeout)
		for _, ip := range ips {
			c, err := l.dialAddr(netip.AddrPortFrom(ip.Unmap(), uint16(pn)), time.Until(deadline))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
	return l.dialAddr(ap, timeout)
}

func (l *Loop) dialAddr(ap netip.AddrPort, timeout time.Duration) (*Conn, error) {
	raddr := net.TCPAddrFromAddrPort(ap)
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	if timeout <= 0 {
		return fail(os.ErrDeadlineExceeded)
	}
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if a := ap.Addr().Unmap(); a.Is4() {
		sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	} else {
		family = syscall.AF_INET6
		sa6 := &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
		if z := a.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			}
		}
		sa = sa6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 30)
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 30)
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return fail(os.NewSyscallError("connect", err))
	}
	c, rerr := l.register(fd, raddr)
	if rerr != nil {
		syscall.Close(fd)
		return fail(rerr)
	}
	if err == syscall.EINPROGRESS {
		// Not writable until connected: wait for the first EPOLLOUT.
		c.drained[wr].Store(c.seq[wr].Load())
		c.setDeadline(wr, time.Now().Add(timeout))
		for c.seq[wr].Load() == c.drained[wr].Load() {
			if werr := c.await(wr); werr != nil {
				c.Close()
				return fail(werr)
			}
		}
		c.setDeadline(wr, time.Time{})
		soerr, gerr := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if gerr == nil && soerr != 0 {
			gerr = os.NewSyscallError("connect", syscall.Errno(soerr))
		}
		if gerr != nil {
			c.Close()
			return fail(gerr)
		}
	}
	return c, nil
}

// Block runs f so that it may block: when nc is a loop connection in the
// running coroutine, f runs in a new goroutine while the loop serves its
// other connections, and nc is in blocking mode meanwhile (f may use it
// from any goroutine). Otherwise f just runs. A panic in f is raised again
// in the caller.
func Block(nc net.Conn, f func()) {
	c, ok := nc.(*Conn)
	if !ok || !c.inline() {
		f()
		return
	}
	c.loop.block(c, f)
}

// inline reports whether c is in inline mode with its loop's coroutine
// running: then the caller is that coroutine (only it uses an inline
// connection), which may read the loop's state.
func (c *Conn) inline() bool {
	return !c.blocking.Load() && c.loop.cur != nil
}

// Inline reports whether nc is a loop connection served inline by the
// running coroutine, and its loop.
func Inline(nc net.Conn) (*Loop, bool) {
	c, ok := nc.(*Conn)
	if !ok || !c.inline() {
		return nil, false
	}
	return c.loop, true
}

func (l *Loop) block(c *Conn, f func()) {
	t := l.cur
	if c != nil {
		c.setBlocking(true)
	}
	var done atomic.Bool
	var perr any
	go func() {
		defer func() {
			perr = recover()
			done.Store(true)
			l.notify(waiter{t: t}, false)
		}()
		f()
	}()
	for !done.Load() {
		if !t.yield(struct{}{}) {
			// The loop is stopping; wait for f without it.
			for !done.Load() {
				time.Sleep(time.Millisecond)
			}
		}
	}
	if c != nil {
		c.setBlocking(false)
	}
	if perr != nil {
		panic(perr)
	}
}

// timer is a connection's deadline entry for one direction, or (ls set)
// the end of an accept pause. idx is its place in the heap, -1 when out.
type timer struct {
	when int64
	c    *Conn
	dir  int
	ls   *listener
	idx  int
}

type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timer)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.idx = -1
	*h = old[:n-1]
	return e
}
