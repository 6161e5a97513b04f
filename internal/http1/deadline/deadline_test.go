package deadline

import (
	"math"
	"net"
	"testing"
	"time"
)

// countConn counts deadline calls.
type countConn struct {
	net.Conn
	reads, writes int
	last          time.Time
}

func (c *countConn) SetReadDeadline(t time.Time) error  { c.reads++; c.last = t; return nil }
func (c *countConn) SetWriteDeadline(t time.Time) error { c.writes++; c.last = t; return nil }

func TestTracker(t *testing.T) {
	for _, c := range []struct {
		desc  string
		steps []time.Duration // pauses before each set; timeout 64s (slack 1s)
		calls int
	}{
		{"first use sets", []time.Duration{0}, 1},
		{"within slack: one call", []time.Duration{0, 0, 10 * time.Millisecond}, 1},
		{"past slack: set again", []time.Duration{0, 1100 * time.Millisecond}, 2},
	} {
		t.Run(c.desc, func(t *testing.T) {
			var tr Tracker
			cc := &countConn{}
			for _, pause := range c.steps {
				time.Sleep(pause)
				tr.Read(cc, 64*time.Second)
				tr.Write(cc, 64*time.Second)
				if want := time.Now().Add(64 * time.Second); cc.last.After(want) {
					t.Fatalf("deadline %v later than wanted %v", cc.last, want)
				}
			}
			if cc.reads != c.calls || cc.writes != c.calls {
				t.Errorf("reads %d writes %d, want %d each", cc.reads, cc.writes, c.calls)
			}
		})
	}
	t.Run("a shorter timeout is never delayed", func(t *testing.T) {
		var tr Tracker
		cc := &countConn{}
		tr.Read(cc, 60*time.Second)
		tr.Read(cc, 10*time.Second)
		if d := time.Until(cc.last); d > 10*time.Second || cc.reads != 2 {
			t.Errorf("deadline in %v after %d calls", d, cc.reads)
		}
	})
	t.Run("zero clears once", func(t *testing.T) {
		var tr Tracker
		cc := &countConn{}
		tr.Read(cc, time.Minute)
		tr.Read(cc, 0)
		tr.Read(cc, 0)
		if cc.reads != 2 || !cc.last.IsZero() {
			t.Errorf("reads %d, last %v", cc.reads, cc.last)
		}
	})
	t.Run("forget", func(t *testing.T) {
		var tr Tracker
		cc := &countConn{}
		tr.Read(cc, time.Minute)
		tr.Forget()
		tr.Read(cc, time.Minute)
		if cc.reads != 2 {
			t.Errorf("reads %d", cc.reads)
		}
	})
}

// TestHugeTimeout: a timeout too large to add to the clock is a deadline
// far ahead, not one wrapped into the past.
func TestHugeTimeout(t *testing.T) {
	var tr Tracker
	cc := &countConn{}
	tr.Read(cc, time.Duration(math.MaxInt64))
	if !cc.last.After(time.Now().Add(100 * 365 * 24 * time.Hour)) {
		t.Errorf("deadline %v", cc.last)
	}
}
