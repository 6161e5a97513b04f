// Package deadline keeps connection deadlines coarse. Setting a deadline
// on a net.Conn modifies a runtime timer, and a proxy would otherwise do
// it several times per request (idle wait, header read, upstream send and
// read) with the same 60-second timeouts. A Tracker remembers what it set
// and calls the connection only when the wanted deadline moved by more
// than a slack of timeout/64 (about a second for a minute): the timeout
// fires at most that much early, never late.
package deadline

import (
	"net"
	"time"
)

// Tracker holds one connection's current read and write deadlines as set
// through it. The zero value knows nothing and sets on first use. A
// Tracker serves one connection: it remembers whether that one has a
// Clock. Code that sets a deadline on the connection directly must call
// Forget.
type Tracker struct {
	read, write time.Time
	// clk is the connection's own clock, looked up once (probed).
	clk    Clock
	probed bool
}

func within(cur, want time.Time, d time.Duration) bool {
	return !cur.IsZero() && !cur.After(want) && want.Sub(cur) <= d/64
}

// Read makes the read deadline now+d; d <= 0 means none.
func (t *Tracker) Read(c net.Conn, d time.Duration) {
	if want, ok := t.update(c, &t.read, d); ok {
		_ = c.SetReadDeadline(want)
	}
}

// Write makes the write deadline now+d; d <= 0 means none.
func (t *Tracker) Write(c net.Conn, d time.Duration) {
	if want, ok := t.update(c, &t.write, d); ok {
		_ = c.SetWriteDeadline(want)
	}
}

// Clock is a connection that keeps a clock of its own, cheaper to read
// than time.Now (an event loop's connection reads the loop's, taken once
// per pass over its ready connections: evloop.Conn.Now).
type Clock interface {
	Now() time.Time
}

// Now is the time deadlines on c count from: c's own clock if it has one
// (looked up on first use; a Tracker serves one connection).
func (t *Tracker) Now(c net.Conn) time.Time {
	if !t.probed {
		t.clk, _ = c.(Clock)
		t.probed = true
	}
	if t.clk != nil {
		return t.clk.Now()
	}
	return time.Now()
}

// update records the deadline d asks for in cur and reports whether the
// connection must be told (it moved by more than the slack, or a
// deadline is to be set or cleared).
func (t *Tracker) update(c net.Conn, cur *time.Time, d time.Duration) (time.Time, bool) {
	if d <= 0 {
		if cur.IsZero() {
			return time.Time{}, false
		}
		*cur = time.Time{}
		return time.Time{}, true
	}
	want := t.Now(c).Add(d)
	if within(*cur, want, d) {
		return want, false
	}
	*cur = want
	return want, true
}

// Forget records that the deadlines are unknown (set elsewhere).
func (t *Tracker) Forget() { t.read, t.write = time.Time{}, time.Time{} }
