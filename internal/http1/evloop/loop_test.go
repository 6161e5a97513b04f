//go:build linux

package evloop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/http1/deadline"

	"go.uber.org/goleak"
)

// A loop's connection lends its clock to the deadline trackers of the
// listener and the upstream client; without it every deadline reads the
// system clock (a silent slowdown, not a failure), so the build checks it.
var _ deadline.Clock = (*Conn)(nil)

// serveGroup starts a group of n loops serving a loopback listener with
// serve, and stops both when the test ends.
func serveGroup(t *testing.T, n int, serve func(*Conn)) (*Group, string) {
	t.Helper()
	g, err := NewGroup(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unlisten, err := g.Listen(ln, serve)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unlisten()
		ln.Close()
		g.Close()
	})
	return g, ln.Addr().String()
}

// echo copies lines back until EOF.
func echo(c *Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := c.Write([]byte(line)); err != nil {
			return
		}
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestEchoManyConnections(t *testing.T) {
	_, addr := serveGroup(t, 2, echo)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for j := range 50 {
				msg := strings.Repeat("x", i*j%300) + "\n"
				if _, err := c.Write([]byte(msg)); err != nil {
					errs <- err
					return
				}
				got, err := br.ReadString('\n')
				if err != nil || got != msg {
					errs <- errors.New("echo mismatch")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A write larger than the socket buffers waits for the reader (partial
// writes, EPOLLOUT) and arrives whole.
func TestLargeWrite(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		n, err := c.Write(payload)
		if err != nil || n != len(payload) {
			t.Errorf("write: %d, %v", n, err)
		}
	})
	c := dial(t, addr)
	time.Sleep(50 * time.Millisecond) // let the buffers fill first
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("got %d bytes, want %d", len(got), len(payload))
	}
}

func TestReadDeadline(t *testing.T) {
	res := make(chan error, 1)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		start := time.Now()
		_, err := c.Read(make([]byte, 10))
		if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
			err = errors.New("deadline after " + d.String())
		}
		res <- err
	})
	c := dial(t, addr)
	var err error
	select {
	case err = <-res:
	case <-time.After(5 * time.Second):
		t.Fatal("the read deadline did not end the read")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want deadline exceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%v is not a net.Error timeout", err)
	}
	// The connection is closed after the handler returned.
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read: %v, want EOF", err)
	}
}

// A deadline moved into the past by another goroutine ends a wait at
// once, in both modes (the upstream client cancels requests that way).
func TestDeadlineFromOtherGoroutine(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		t.Run(map[bool]string{false: "inline", true: "blocking"}[blocking], func(t *testing.T) {
			res := make(chan error, 1)
			_, addr := serveGroup(t, 1, func(c *Conn) {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(time.Minute))
				go func() {
					time.Sleep(100 * time.Millisecond)
					_ = c.SetReadDeadline(time.Unix(1, 0))
				}()
				read := func() { _, err := c.Read(make([]byte, 10)); res <- err }
				if blocking {
					Block(c, read)
				} else {
					read()
				}
			})
			dial(t, addr)
			select {
			case err := <-res:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the read did not end")
			}
		})
	}
}

// Close from another goroutine ends a wait with net.ErrClosed.
func TestCloseWakesReader(t *testing.T) {
	res := make(chan error, 1)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		go func() {
			time.Sleep(50 * time.Millisecond)
			c.Close()
		}()
		_, err := c.Read(make([]byte, 10))
		res <- err
	})
	dial(t, addr)
	select {
	case err := <-res:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not wake the reader")
	}
}

// While one connection's work blocks inside Block, the loop serves the
// others; the blocked function may use its connection from its goroutine.
func TestBlockKeepsLoopServing(t *testing.T) {
	release := make(chan struct{})
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if line == "block\n" {
			Block(c, func() {
				<-release
				_, _ = c.Write([]byte("released\n"))
			})
			return
		}
		_, _ = c.Write([]byte("quick\n"))
	})
	slow := dial(t, addr)
	if _, err := slow.Write([]byte("block\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for range 3 {
		q := dial(t, addr)
		q.Write([]byte("hi\n"))
		got, err := bufio.NewReader(q).ReadString('\n')
		if err != nil || got != "quick\n" {
			t.Fatalf("a connection beside the blocked one: %q, %v", got, err)
		}
	}
	close(release)
	got, err := bufio.NewReader(slow).ReadString('\n')
	if err != nil || got != "released\n" {
		t.Fatalf("blocked connection: %q, %v", got, err)
	}
}

// A panic inside Block is raised again in the coroutine; a panic in a
// coroutine is logged and the loop goes on serving.
func TestPanics(t *testing.T) {
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		switch line {
		case "panic\n":
			panic("boom")
		case "block-panic\n":
			defer func() {
				if p := recover(); p != "inner" {
					panic(p)
				}
				c.Write([]byte("recovered\n"))
			}()
			Block(c, func() { panic("inner") })
		default:
			c.Write([]byte("ok\n"))
		}
	})
	p := dial(t, addr)
	p.Write([]byte("panic\n"))
	if _, err := p.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after a panic: %v, want EOF", err)
	}
	b := dial(t, addr)
	b.Write([]byte("block-panic\n"))
	if got, _ := bufio.NewReader(b).ReadString('\n'); got != "recovered\n" {
		t.Fatalf("panic in Block: %q", got)
	}
	o := dial(t, addr)
	o.Write([]byte("x\n"))
	if got, _ := bufio.NewReader(o).ReadString('\n'); got != "ok\n" {
		t.Fatalf("the loop after panics: %q", got)
	}
}

// Dial from a coroutine: to an address, to a name (resolved outside the
// loop), and to a closed port (ECONNREFUSED).
func TestDial(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(up.Addr().String())
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	type result struct {
		target string
		reply  string
		err    error
	}
	results := make(chan result, 3)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		for _, target := range []string{"127.0.0.1:" + port, "localhost:" + port, closedAddr} {
			uc, err := c.loop.Dial(target, 5*time.Second)
			if err != nil {
				results <- result{target: target, err: err}
				continue
			}
			uc.Write([]byte("ping\n"))
			line, err := bufio.NewReader(uc).ReadString('\n')
			uc.Close()
			results <- result{target, line, err}
		}
	})
	dial(t, addr)
	for range 3 {
		select {
		case r := <-results:
			switch r.target {
			case closedAddr:
				if !errors.Is(r.err, syscall.ECONNREFUSED) {
					t.Errorf("dial %s: %v, want connection refused", r.target, r.err)
				}
			default:
				if r.err != nil || r.reply != "ping\n" {
					t.Errorf("dial %s: %q, %v", r.target, r.reply, r.err)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("dial results missing")
		}
	}
}

// Closing the group closes its connections and ends their coroutines
// (goleak checks that nothing is left).
func TestGroupClose(t *testing.T) {
	g, err := NewGroup(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	started := make(chan struct{}, 4)
	unlisten, err := g.Listen(ln, func(c *Conn) {
		started <- struct{}{}
		c.Read(make([]byte, 1)) // waits until closed
	})
	if err != nil {
		t.Fatal(err)
	}
	var cs []net.Conn
	for range 4 {
		cs = append(cs, dial(t, ln.Addr().String()))
	}
	for range 4 {
		<-started
	}
	unlisten()
	g.Close()
	for _, c := range cs {
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("connection still open after Close")
		}
	}
	// After unlisten, the listener is the caller's again.
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("mine"))
			c.Close()
		}
	}()
	c := dial(t, ln.Addr().String())
	got, _ := io.ReadAll(c)
	if string(got) != "mine" {
		t.Fatalf("after unlisten: %q", got)
	}
}

// Deadlines renewed on every wait keep one heap entry per connection and
// direction, and a closed connection leaves none behind: the heap is
// bounded by the connections, not by the requests.
func TestTimerHeapBounded(t *testing.T) {
	sizes := make(chan [2]int, 1)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		br := bufio.NewReader(c)
		most := 0
		for i := range 200 {
			_ = c.SetReadDeadline(time.Now().Add(time.Minute - time.Duration(i)*time.Millisecond))
			if _, err := br.ReadString('\n'); err != nil {
				break
			}
			c.loop.mu.Lock()
			most = max(most, len(c.loop.timers))
			c.loop.mu.Unlock()
		}
		c.Close()
		c.loop.mu.Lock()
		after := len(c.loop.timers)
		c.loop.mu.Unlock()
		sizes <- [2]int{most, after}
	})
	c := dial(t, addr)
	for range 200 {
		if _, err := c.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // make the reads wait now and then
	}
	select {
	case s := <-sizes:
		if s[0] > 2 || s[1] != 0 {
			t.Fatalf("timer heap: at most %d entries while serving, %d after close; want <= 2 and 0", s[0], s[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
}

// New connections go to the least loaded loop, whichever loop accepted
// them: a burst of connections is split evenly.
func TestConnectionsBalanced(t *testing.T) {
	g, addr := serveGroup(t, 2, echo)
	var cs []net.Conn
	for range 20 {
		c := dial(t, addr)
		// A round trip makes sure the connection is being served.
		c.Write([]byte("x\n"))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	a, b := g.loops[0].load.Load(), g.loops[1].load.Load()
	if a+b != 20 || a < 9 || b < 9 {
		t.Fatalf("connections per loop: %d and %d, want 10 and 10", a, b)
	}
	for _, c := range cs {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for g.loops[0].load.Load()+g.loops[1].load.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("load after the clients left: %d and %d", g.loops[0].load.Load(), g.loops[1].load.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Out of descriptors, a loop stops accepting for a moment instead of
// spinning on the listener, and takes the waiting connections once
// descriptors are free again.
func TestAcceptOutOfDescriptors(t *testing.T) {
	_, addr := serveGroup(t, 1, echo)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	low := lim
	low.Cur = uint64(len(fds) + 8)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer restore()
	// Client sockets and accepted ones share the budget: some dials
	// complete in the kernel while the loop cannot accept them.
	var cs []net.Conn
	for range 12 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		cs = append(cs, c)
	}
	time.Sleep(150 * time.Millisecond) // the loop hits EMFILE meanwhile
	restore()
	if len(cs) < 5 {
		t.Fatalf("only %d connections dialled", len(cs))
	}
	for i, c := range cs {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "ping\n" {
			t.Fatalf("conn %d after descriptors were freed: %q, %v", i, got, err)
		}
		c.Close()
	}
}

// A peer's FIN that arrived together with its last data is read as EOF
// right after the data, and a read after EOF sees EOF again: no edge
// follows either, so the connection must not be left waiting for one.
func TestReadAfterEOF(t *testing.T) {
	res := make(chan [2]error, 1)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		// Let the data and the FIN both arrive, and the loop see their
		// edges, before the first read.
		Block(c, func() { time.Sleep(100 * time.Millisecond) })
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		var errs [2]error
		for _, err := c.Read(buf); err == nil; _, err = c.Read(buf) {
		}
		_, errs[0] = c.Read(buf)
		_, errs[1] = c.Read(buf)
		res <- errs
	})
	c := dial(t, addr)
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	select {
	case errs := <-res:
		if errs[0] != io.EOF || errs[1] != io.EOF {
			t.Fatalf("reads after EOF: %v, %v; want EOF twice", errs[0], errs[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
}

// Writing to a peer that reset the connection fails with an error, and
// raises no SIGPIPE at the process: a program that listens for SIGPIPE
// (an operator's signal handling, a library's) must not get one per
// client that went away.
func TestWriteToResetPeer(t *testing.T) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	res := make(chan []error, 1)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		Block(c, func() { time.Sleep(100 * time.Millisecond) }) // the reset arrives
		var errs []error
		for range 10 {
			if _, err := c.Write([]byte("after the reset\n")); err != nil {
				errs = append(errs, err)
				if len(errs) == 2 { // ECONNRESET first, then EPIPE
					break
				}
			}
		}
		res <- errs
	})
	c := dial(t, addr).(*net.TCPConn)
	_ = c.SetLinger(0) // close sends RST
	c.Close()
	select {
	case errs := <-res:
		if len(errs) != 2 {
			t.Fatalf("writes after a reset: errors %v, want two", errs)
		}
		for _, err := range errs {
			var oe *net.OpError
			if !errors.As(err, &oe) || !(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
				t.Errorf("write error %v (%T), want a *net.OpError with EPIPE or ECONNRESET", err, err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	select {
	case s := <-sigs:
		t.Fatalf("the process got %v", s)
	case <-time.After(100 * time.Millisecond):
	}
}

// Conn.Now: inline, the loop's clock of the current pass (taken after the
// epoll wait that returned the new connection, so not older than the
// dial; never ahead of the real clock; it may predate data that arrived
// during the pass); in blocking mode the real clock, even after the loop
// sat parked.
func TestConnNow(t *testing.T) {
	type reading struct{ before, now, after time.Time }
	got := make(chan reading, 2)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		got <- reading{now: c.Now(), after: time.Now()}
		Block(c, func() {
			time.Sleep(300 * time.Millisecond) // the loop parks meanwhile
			before := time.Now()
			got <- reading{before: before, now: c.Now(), after: time.Now()}
		})
		_, _ = c.Write([]byte("done\n"))
	})
	dialed := time.Now()
	nc := dial(t, addr)
	if _, err := nc.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	inline := <-got
	if inline.now.Before(dialed.Truncate(time.Microsecond)) || inline.now.After(inline.after) {
		t.Errorf("inline Now %v: want between the dial (%v) and the real clock after the read (%v)", inline.now, dialed, inline.after)
	}
	blocking := <-got
	if blocking.now.Before(blocking.before) || blocking.now.After(blocking.after) {
		t.Errorf("blocking Now %v: want the real clock, between %v and %v", blocking.now, blocking.before, blocking.after)
	}
	if line, err := bufio.NewReader(nc).ReadString('\n'); err != nil || line != "done\n" {
		t.Fatalf("after Block: %q, %v", line, err)
	}
}

// LocalAddr may be called by two goroutines at once on a detached
// connection (a WebSocket's two copy loops); run with -race.
func TestLocalAddrConcurrent(t *testing.T) {
	got := make(chan string, 4)
	_, addr := serveGroup(t, 1, func(c *Conn) {
		defer c.Close()
		Block(c, func() {
			Detach(c)
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got <- c.LocalAddr().String()
				}()
			}
			wg.Wait()
		})
	})
	nc := dial(t, addr)
	defer nc.Close()
	for range 4 {
		if a := <-got; a != addr {
			t.Fatalf("LocalAddr %q, want the listener's %q", a, addr)
		}
	}
}

// Loops that have nothing to do sleep in epoll_wait: after serving a
// request, an idle group of two loops uses (almost) no CPU. A loop that
// kept spinning would use a whole CPU.
func TestIdleLoopsSleep(t *testing.T) {
	_, addr := serveGroup(t, 2, echo)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 50 { // make the loops spin and sleep a few times
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("round %d: %q, %v", i, line, err)
		}
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	time.Sleep(50 * time.Millisecond)
	before := cpu()
	time.Sleep(500 * time.Millisecond)
	if used := cpu() - before; used > 100*time.Millisecond {
		t.Fatalf("idle loops used %v of CPU in 500ms", used)
	}
	// Still serving after the sleep.
	if _, err := c.Write([]byte("pong\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "pong\n" {
		t.Fatalf("after idling: %q, %v", line, err)
	}
}

// Each loop keeps its P while it runs, so a group of n loops raises
// GOMAXPROCS to n+1: goroutines outside the loops (the admin API, work
// handed off with Block) still get a CPU promptly while every loop is
// busy, instead of waiting for the scheduler to preempt a loop (10 ms).
func TestOthersRunWhileLoopsBusy(t *testing.T) {
	n := runtime.NumCPU()
	release := make(chan struct{})
	var busy atomic.Int32
	g, addr := serveGroup(t, n, func(c *Conn) {
		defer c.Close()
		busy.Add(1)
		for { // a handler that computes without yielding
			select {
			case <-release:
				return
			default:
			}
		}
	})
	if got := runtime.GOMAXPROCS(0); got < n+1 {
		t.Fatalf("GOMAXPROCS %d with %d loops, want at least %d", got, n, n+1)
	}
	if len(g.loops) != n {
		t.Fatalf("%d loops, want %d", len(g.loops), n)
	}
	defer close(release)
	// The hand-off gives each loop one of the first connections; a
	// loop stuck in its handler takes no more.
	for range n * 4 {
		dial(t, addr)
	}
	for deadline := time.Now().Add(5 * time.Second); busy.Load() < int32(n); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d loops busy", busy.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	lat := make([]time.Duration, 21)
	for i := range lat {
		t0 := time.Now()
		time.Sleep(time.Millisecond)
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	// Without the extra P the median is about 20 ms (preemption every
	// 10 ms); a busy CI host may delay the sleeper's thread a little.
	if med := lat[len(lat)/2]; med > 10*time.Millisecond {
		t.Fatalf("a 1ms sleep took %v at the median while the loops were busy", med)
	}
}

// The default number of loops is GOMAXPROCS as the process started:
// groups made one after the other do not grow by the P that each one
// adds for the rest of the process.
func TestDefaultLoops(t *testing.T) {
	for range 3 {
		g, err := NewGroup(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := len(g.loops)
		for i, l := range g.loops {
			if l.ID() != i {
				t.Errorf("loop %d has ID %d", i, l.ID())
			}
		}
		g.Close()
		if got != startProcs {
			t.Fatalf("%d loops, want %d (GOMAXPROCS at start)", got, startProcs)
		}
		if p := runtime.GOMAXPROCS(0); p < got+1 {
			t.Fatalf("GOMAXPROCS %d with %d loops", p, got)
		}
	}
}
