package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2 (h2 by ALPN, h2c by prior knowledge) is served by
// golang.org/x/net/http2 with the limits this server enforces on
// HTTP/1.1, so a client cannot escape them by speaking the other
// protocol:
//
//   - MaxHeaderBytes caps the header list (x/net's default is 1 MiB; a
//     request over the cap gets 431, as on HTTP/1.1).
//   - BodyReadTimeout bounds each read of a request body, and
//     WriteTimeout each write of a response (nginx's client_body_timeout
//     and send_timeout apply to HTTP/2 streams too). x/net has no such
//     per-operation limit: its WriteTimeout bounds a whole response and
//     would cut long downloads, and without any, a client that never
//     opens its flow-control window holds a handler (and the upstream
//     connection behind it) for as long as it keeps the TCP connection.
//   - WriteByteTimeout closes a connection whose socket takes no bytes
//     for WriteTimeout (the client stopped reading TCP altogether).
//   - Frames are at most 16 KiB (h2MaxFrameSize), the protocol's default,
//     instead of x/net's 1 MiB: the framer keeps a read buffer as large as
//     the largest frame a connection sent, so with 1 MiB frames every
//     connection of a many-connection client could pin 1 MiB.

// h2MaxFrameSize is SETTINGS_MAX_FRAME_SIZE: the RFC 9113 default (and
// its minimum).
const h2MaxFrameSize = 16 << 10

// h2Preface is what an HTTP/2 prior-knowledge client sends first.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// http2 returns the HTTP/2 server and the options every connection is
// served with, built once from s's settings.
func (s *Server) http2() (*http2.Server, *http2.ServeConnOpts) {
	s.h2once.Do(func() {
		s.h2 = &http2.Server{
			IdleTimeout:      s.IdleTimeout,
			MaxReadFrameSize: h2MaxFrameSize,
			WriteByteTimeout: s.WriteTimeout,
		}
		s.h2opts = &http2.ServeConnOpts{
			Handler: &h2Limits{h: s.Handler, read: s.BodyReadTimeout, write: s.WriteTimeout},
			BaseConfig: &http.Server{
				ReadHeaderTimeout: s.ReadHeaderTimeout,
				IdleTimeout:       s.IdleTimeout,
				MaxHeaderBytes:    s.MaxHeaderBytes,
			},
		}
	})
	return s.h2, s.h2opts
}

// serveH2TLS hands a TLS connection that negotiated h2 to HTTP/2.
func (c *conn) serveH2TLS(tc *tls.Conn) {
	h2, opts := c.srv.http2()
	h2.ServeConn(tc, opts)
	c.close()
}

// isH2Preface reports whether the connection starts with the HTTP/2
// preface. It waits for more bytes only while what arrived is still a
// prefix of it, so a short HTTP/1.1 request never waits for 24 bytes.
func (c *conn) isH2Preface() bool {
	for n := 1; n <= len(h2Preface); n++ {
		b, err := c.br.Peek(n)
		if err != nil || b[n-1] != h2Preface[n-1] {
			return false
		}
	}
	return true
}

// serveH2 hands the connection (and the bytes already read) to HTTP/2.
func (c *conn) serveH2() {
	pc := &prefixConn{Conn: c.rwc, r: io.MultiReader(bytes.NewReader(c.takeBuffered()), c.rwc)}
	_ = c.rwc.SetReadDeadline(time.Time{})
	br, bw := c.br, c.bw
	c.br, c.bw = nil, nil
	br.Reset(nil)
	readerPool.Put(br)
	bw.Reset(nil)
	outbufPool.Put(bw)
	h2, opts := c.srv.http2()
	h2.ServeConn(pc, opts)
	c.close()
}

func (c *conn) takeBuffered() []byte {
	n := c.br.Buffered()
	b, _ := c.br.Peek(n)
	out := append([]byte(nil), b...)
	_, _ = c.br.Discard(n)
	return out
}

// prefixConn replays bytes the HTTP/1.1 reader already buffered.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// streamDeadlines is what x/net's response writer offers for bounding a
// stream's reads and writes.
type streamDeadlines interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// disarmed is the deadline a stream's timer is parked at between
// operations. x/net ignores a deadline change once the stream's timer
// has stopped (the stream closed), but a stream that never had one gets
// a new timer even after it closed, which would later reset a closed
// stream; so the timer, once created, is moved far out rather than
// cleared.
func disarmed() time.Time { return time.Now().Add(1 << 62) }

// h2Limits runs the handler with each request-body read bounded by read
// and each response write (and the final flush after the handler
// returns) bounded by write.
type h2Limits struct {
	h           http.Handler
	read, write time.Duration
}

func (l *h2Limits) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d, ok := w.(streamDeadlines)
	if !ok {
		l.h.ServeHTTP(w, r)
		return
	}
	var hb *h2Body
	if r.Body != nil && r.Body != http.NoBody {
		hb = &h2Body{ReadCloser: r.Body, d: d, timeout: l.read, done: r.Context().Done()}
		r.Body = hb
	}
	hw := &h2Writer{ResponseWriter: w, d: d, timeout: l.write}
	l.h.ServeHTTP(hw, r)
	if hb != nil {
		hb.finish()
	}
	// x/net flushes what the handler left buffered after it returns;
	// that flush waits for the client's window too. The stream's close
	// stops the timer.
	if hw.armed || r.Context().Err() == nil {
		_ = d.SetWriteDeadline(time.Now().Add(l.write))
	}
}

// h2Body bounds each Read of an HTTP/2 request body. The body may be
// read by a goroutine other than the handler's, and after the handler
// returned (net/http's transport still sending it to a TLS or gRPC
// upstream that answered early): x/net's writer must not be touched
// then (it is recycled once the handler is done), so the deadlines stop
// with the handler (finish), under mu.
type h2Body struct {
	io.ReadCloser
	d       streamDeadlines
	timeout time.Duration
	done    <-chan struct{} // the stream's context: closed with the stream

	mu       sync.Mutex
	armed    bool // the stream has a read timer
	finished bool // the handler returned: no more deadlines
}

// deadline sets the read deadline unless the handler is done; it
// reports whether it did.
func (b *h2Body) deadline(t time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return false
	}
	if !b.armed {
		select {
		case <-b.done:
			return false // closed: the read fails at once
		default:
		}
		b.armed = true
	}
	_ = b.d.SetReadDeadline(t)
	return true
}

func (b *h2Body) finish() {
	b.mu.Lock()
	b.finished = true
	b.mu.Unlock()
}

func (b *h2Body) Read(p []byte) (int, error) {
	if !b.deadline(time.Now().Add(b.timeout)) {
		return b.ReadCloser.Read(p)
	}
	n, err := b.ReadCloser.Read(p)
	b.deadline(disarmed())
	return n, err
}

// h2Writer bounds each write and flush of an HTTP/2 response. Writes
// that fit x/net's 4 KiB stream buffer never wait; only writes that may
// send frames pay for the deadline.
type h2Writer struct {
	http.ResponseWriter
	d       streamDeadlines
	timeout time.Duration
	pending int  // bytes written since the last flush, while under h2BufSize
	armed   bool // the stream has a write timer
}

// h2BufSize is x/net's per-stream response buffer (handlerChunkWriteSize).
const h2BufSize = 4 << 10

func (w *h2Writer) fits(n int) bool {
	if w.pending+n < h2BufSize {
		w.pending += n
		return true
	}
	w.pending = h2BufSize // may have sent frames: unknown until a flush
	return false
}

// bounded runs write, under the write deadline when it may wait.
func (w *h2Writer) bounded(mayWait bool, write func() (int, error)) (int, error) {
	if !mayWait {
		return write()
	}
	w.armed = true
	_ = w.d.SetWriteDeadline(time.Now().Add(w.timeout))
	n, err := write()
	_ = w.d.SetWriteDeadline(disarmed())
	return n, err
}

func (w *h2Writer) Write(p []byte) (int, error) {
	return w.bounded(!w.fits(len(p)), func() (int, error) { return w.ResponseWriter.Write(p) })
}

func (w *h2Writer) WriteString(s string) (int, error) {
	return w.bounded(!w.fits(len(s)), func() (int, error) { return io.WriteString(w.ResponseWriter, s) })
}

// FlushError is what http.ResponseController's Flush calls.
func (w *h2Writer) FlushError() error {
	_, err := w.bounded(true, func() (int, error) {
		return 0, http.NewResponseController(w.ResponseWriter).Flush()
	})
	w.pending = 0
	return err
}

func (w *h2Writer) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach x/net's writer.
func (w *h2Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
