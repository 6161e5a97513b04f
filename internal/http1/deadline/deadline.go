// Package deadline keeps connection deadlines coarse. Setting a deadline
// on a net.Conn modifies a runtime timer, and a proxy would otherwise do
// it several times per request (idle wait, header read, upstream send and
// read) with the same 60-second timeouts. A Tracker remembers what it set
// and calls the connection only when the wanted deadline moved by more
// than a slack of timeout/64 (about a second for a minute): the timeout
// fires at most that much early, never late.
package deadline

import (
	"math"
	"net"
	"time"
)

// Tracker holds one connection's current read and write deadlines as set
// through it, in Unix nanoseconds (0: none). The zero value knows nothing
// and sets on first use. A Tracker serves one connection: it remembers
// whether that one has a Clock. Code that sets a deadline on the
// connection directly must call Forget.
//
// Why integers: a proxied request passes through here four times, and
// with time.Time values (Add, Sub, After, each minding the monotonic
// reading) that was about 1,400 instructions per request, 4% of the
// proxy's own (callgrind, BENCHMARKS.md "Tenth session").
type Tracker struct {
	read, write int64
	// clk is the connection's own clock, looked up once (probed).
	clk    Clock
	probed bool
}

// Read makes the read deadline now+d; d <= 0 means none.
func (t *Tracker) Read(c net.Conn, d time.Duration) {
	if want, ok := t.update(c, &t.read, d); ok {
		_ = c.SetReadDeadline(unix(want))
	}
}

// Write makes the write deadline now+d; d <= 0 means none.
func (t *Tracker) Write(c net.Conn, d time.Duration) {
	if want, ok := t.update(c, &t.write, d); ok {
		_ = c.SetWriteDeadline(unix(want))
	}
}

// unix is the deadline n as a time; 0 is none.
func unix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Clock is a connection that keeps a clock of its own, cheaper to read
// than time.Now (an event loop's connection reads the loop's, taken once
// per pass over its ready connections: evloop.Conn.UnixNano).
type Clock interface {
	UnixNano() int64
}

func (t *Tracker) clock(c net.Conn) Clock {
	if !t.probed {
		t.clk, _ = c.(Clock)
		t.probed = true
	}
	return t.clk
}

// Now is the time deadlines on c count from: c's own clock if it has one
// (looked up on first use; a Tracker serves one connection).
func (t *Tracker) Now(c net.Conn) time.Time {
	if clk := t.clock(c); clk != nil {
		return time.Unix(0, clk.UnixNano())
	}
	return time.Now()
}

// UnixNano is Now in Unix nanoseconds.
func (t *Tracker) UnixNano(c net.Conn) int64 {
	if clk := t.clock(c); clk != nil {
		return clk.UnixNano()
	}
	return time.Now().UnixNano()
}

// update records the deadline d asks for in cur and reports whether the
// connection must be told: it moved later by more than the slack of
// d/64, or earlier at all, or a deadline is to be set or cleared.
func (t *Tracker) update(c net.Conn, cur *int64, d time.Duration) (int64, bool) {
	if d <= 0 {
		if *cur == 0 {
			return 0, false
		}
		*cur = 0
		return 0, true
	}
	now := t.UnixNano(c)
	want := now + int64(d)
	if int64(d) > math.MaxInt64-now {
		want = math.MaxInt64 // a timeout of centuries: as time.Time.Add, no wrap into the past
	}
	if have := *cur; have != 0 && have <= want && want-have <= int64(d/64) {
		return want, false
	}
	*cur = want
	return want, true
}

// Forget records that the deadlines are unknown (set elsewhere).
func (t *Tracker) Forget() { t.read, t.write = 0, 0 }
