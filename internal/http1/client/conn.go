package client

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/http1/deadline"
	"github.com/stargate-edge/stargate/internal/http1/evloop"
)

// bufSize is the size of each connection's bufio.Reader and Writer. 4 KB
// holds a typical request head plus a small body, so a request goes out in
// one write; it also caps a chunk-size line.
const bufSize = 4 << 10

var (
	readerPool  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writerPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
	scratchPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}
)

// conn is one upstream connection. It is used by one exchange at a time:
// the goroutine in Do, then the response body's reader, then the pool.
type conn struct {
	nc   net.Conn
	addr string
	loop *evloop.Loop // the event loop it was dialled on, or nil
	br   *bufio.Reader
	bw   *bufio.Writer

	idleAt int64 // when it entered the pool, Unix ns; guarded by the pool shard's mu
	// send is the exchange's send timeout: it bounds each write of the
	// request, renewed as each piece of the body is read (renewSend),
	// as nginx's proxy_send_timeout bounds the pause between writes
	// rather than a whole upload.
	send        time.Duration
	deadlineSet bool // drain set a deadline directly; cleared before pooling
	// dl sets the exchange deadlines coarsely: they stay on the pooled
	// connection and are renewed only when they moved by more than a
	// slack, saving runtime timer updates per request.
	dl deadline.Tracker

	// Per exchange: the request context, its AfterFunc stop function, and
	// abort, set once the context was cancelled (the callback then sets a
	// past deadline to unblock any I/O in flight).
	ctx      context.Context
	stop     func() bool
	abort    atomic.Bool
	onCancel func()
}

func newConn(nc net.Conn, addr string) *conn {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(nc)
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(nc)
	c := &conn{nc: nc, addr: addr, br: br, bw: bw}
	c.onCancel = c.cancel // one closure per connection, not per request
	return c
}

// cancel runs (in its own goroutine) when the exchange's context is done.
// abort is set before the deadline so that a reader who sets its own
// deadline and then checks abort can never miss the cancellation.
func (c *conn) cancel() {
	c.abort.Store(true)
	c.nc.SetDeadline(aLongTimeAgo)
}

// ctxErr returns the context's error when the exchange was aborted by it,
// else err.
func (c *conn) ctxErr(err error) error {
	if c.abort.Load() && c.ctx != nil && c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	return err
}

// close closes the connection and recycles its buffers. Nothing may use c
// afterwards.
func (c *conn) close() {
	c.nc.Close()
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	if c.bw != nil {
		c.bw.Reset(nil)
		writerPool.Put(c.bw)
		c.bw = nil
	}
}

// renewSend moves the write deadline to now+send before a piece of the
// request body goes out. Waiting for the client's next piece does not
// count against the upstream (the listener's body timeout bounds that).
func (c *conn) renewSend() {
	if c.send > 0 {
		c.dl.Write(c.nc, c.send)
	}
}
