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
// through it. The zero value knows nothing and sets on first use. Code
// that sets a deadline on the connection directly must call Forget.
type Tracker struct {
	read, write time.Time
}

func within(cur, want time.Time, d time.Duration) bool {
	return !cur.IsZero() && !cur.After(want) && want.Sub(cur) <= d/64
}

// Read makes the read deadline now+d; d <= 0 means none.
func (t *Tracker) Read(c net.Conn, d time.Duration) {
	if want, ok := update(&t.read, d); ok {
		_ = c.SetReadDeadline(want)
	}
}

// Write makes the write deadline now+d; d <= 0 means none.
func (t *Tracker) Write(c net.Conn, d time.Duration) {
	if want, ok := update(&t.write, d); ok {
		_ = c.SetWriteDeadline(want)
	}
}

// update records the deadline d asks for in cur and reports whether the
// connection must be told (it moved by more than the slack, or a
// deadline is to be set or cleared).
func update(cur *time.Time, d time.Duration) (time.Time, bool) {
	if d <= 0 {
		if cur.IsZero() {
			return time.Time{}, false
		}
		*cur = time.Time{}
		return time.Time{}, true
	}
	want := time.Now().Add(d)
	if within(*cur, want, d) {
		return want, false
	}
	*cur = want
	return want, true
}

// Forget records that the deadlines are unknown (set elsewhere).
func (t *Tracker) Forget() { *t = Tracker{} }
