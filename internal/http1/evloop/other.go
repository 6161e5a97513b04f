//go:build !linux

package evloop

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// Supported reports whether this platform has event loops.
const Supported = false

// Group is unavailable here: servers keep a goroutine per connection.
type Group struct{}

// Loop is unavailable here.
type Loop struct{}

// Conn is unavailable here.
type Conn struct{ net.Conn }

// NewGroup reports that event loops need Linux.
func NewGroup(int, *slog.Logger) (*Group, error) {
	return nil, errors.New("evloop: event loops need Linux")
}

func (g *Group) Close() {}

func (g *Group) Listen(net.Listener, func(*Conn)) (func(), error) {
	return nil, errors.New("evloop: event loops need Linux")
}

func (l *Loop) Dial(string, time.Duration) (*Conn, error) {
	return nil, errors.New("evloop: event loops need Linux")
}

// DefaultLoops is 1: there are no loops, and state kept per loop needs
// one slot.
func DefaultLoops() int { return 1 }

// ID is 0.
func (l *Loop) ID() int { return 0 }

// Now is the clock.
func (l *Loop) Now() time.Time { return time.Now() }

// UnixNano is Now in Unix nanoseconds.
func (l *Loop) UnixNano() int64 { return time.Now().UnixNano() }

// Block runs f.
func Block(_ net.Conn, f func()) { f() }

// Inline is always false here.
func Inline(net.Conn) (*Loop, bool) { return nil, false }

// Detach does nothing here.
func Detach(net.Conn) {}
