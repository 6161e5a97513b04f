package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/stargate-edge/stargate/internal/http1/deadline"
	"github.com/stargate-edge/stargate/internal/http1/evloop"
)

// Server serves HTTP/1.1 (and h2c with prior knowledge) on plain
// listeners.
type Server struct {
	Handler http.Handler
	// ReadHeaderTimeout bounds reading a request's header block once its
	// first byte arrived (slowloris). Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection. Default 60 s.
	IdleTimeout time.Duration
	// BodyReadTimeout bounds each read of a request body that waits on the
	// network (nginx client_body_timeout). Default 60 s.
	BodyReadTimeout time.Duration
	// WriteTimeout bounds each flush of response bytes to the client
	// (nginx send_timeout). Default 60 s.
	WriteTimeout time.Duration
	// MaxHeaderBytes caps the request line plus headers. Default 64 KiB.
	MaxHeaderBytes int
	// StateChange, when set, is told of every connection state change
	// with the state left and the state entered: (StateNew, StateNew)
	// for an accepted connection, then Active/Idle transitions, and
	// exactly one change to StateClosed or StateHijacked at the end. It
	// runs on the connection's goroutine (Shutdown's for idle
	// connections it closes) and must be cheap: it sits on the request
	// path. Unlike http.Server.ConnState it does not name the
	// connection, so counting states needs no per-connection lookup.
	// To count connections by state for metrics, Conns is cheaper: it
	// costs nothing per request.
	StateChange func(from, to http.ConnState)
	// H2C enables HTTP/2 with prior knowledge on this listener.
	H2C bool
	// TLSConfig, when set, makes the listener a TLS one: the handshake
	// runs in the connection's goroutine (bounded by ReadHeaderTimeout),
	// "h2" negotiated by ALPN goes to HTTP/2, anything else is served
	// here as HTTP/1.1 with Request.TLS set.
	TLSConfig *tls.Config
	// Logger receives connection-level errors at debug level.
	Logger *slog.Logger
	// Loops, when set, serves plain (non-TLS) TCP listeners from these
	// event loops instead of a goroutine per connection (package evloop).
	// The Handler then runs inside a loop's coroutine and must wrap
	// anything that may block in Offload.
	Loops *evloop.Group

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	accepted  int64 // connections since the start, under mu
	shutdown  atomic.Bool
	h2        *http2.Server
	h2opts    *http2.ServeConnOpts
	h2once    sync.Once
	done      chan struct{} // closed when the last conn leaves after shutdown
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

func (s *Server) defaults() {
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = 10 * time.Second
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 60 * time.Second
	}
	if s.BodyReadTimeout <= 0 {
		s.BodyReadTimeout = 60 * time.Second
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = 60 * time.Second
	}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = 64 << 10
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
}

// Serve accepts connections on ln until it is closed. Temporary accept
// errors (too many open files) back off like net/http's.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.defaults()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	if s.Loops != nil && s.TLSConfig == nil {
		if ok, err := s.serveLoops(ln); ok {
			return err
		}
	}
	accept := ln
	if s.TLSConfig != nil {
		accept = tls.NewListener(ln, s.TLSConfig) // handshakes run per connection
	}
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		rwc, err := accept.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTemporary(err)) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.Logger.Debug("http1: accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(rwc)
		if c == nil {
			rwc.Close()
			continue
		}
		go c.serve()
	}
}

// loopListener stops the loops' accepting before closing the listener.
type loopListener struct {
	net.Listener
	unlisten func()
	closed   chan struct{}
	once     sync.Once
}

func (l *loopListener) Close() error {
	l.unlisten()
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// serveLoops hands ln to the event loops and waits until it is closed;
// ok is false when the loops cannot take it (the caller then accepts
// itself).
func (s *Server) serveLoops(ln net.Listener) (bool, error) {
	unlisten, err := s.Loops.Listen(ln, func(rwc *evloop.Conn) {
		c := s.newConn(rwc)
		if c == nil {
			rwc.Close()
			return
		}
		c.serve()
	})
	if err != nil {
		s.Logger.Warn("http1: serving without event loops", "err", err)
		return false, nil
	}
	ll := &loopListener{Listener: ln, unlisten: unlisten, closed: make(chan struct{})}
	s.mu.Lock()
	delete(s.listeners, ln)
	s.listeners[ll] = struct{}{}
	closedMeanwhile := s.shutdown.Load()
	s.mu.Unlock()
	if closedMeanwhile {
		ll.Close()
	}
	<-ll.closed
	s.mu.Lock()
	delete(s.listeners, ll)
	s.mu.Unlock()
	return true, ErrServerClosed
}

// errTemporary keeps the accept loop alive on EMFILE and friends, which
// net reports without a Timeout().
func errTemporary(err error) error {
	type temporary interface{ Temporary() bool }
	var t temporary
	if errors.As(err, &t) && t.Temporary() {
		return err
	}
	return nil
}

// Shutdown stops accepting, closes idle connections, lets active requests
// finish and waits for them until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	if s.done == nil {
		s.done = make(chan struct{})
		if len(s.conns) == 0 {
			close(s.done)
		}
	}
	done := s.done
	s.mu.Unlock()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.rwc.Close()
	}
	return nil
}

func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		for _, from := range []http.ConnState{http.StateIdle, http.StateNew} {
			if c.state.CompareAndSwap(int32(from), int32(http.StateClosed)) {
				s.changed(from, http.StateClosed)
				c.rwc.Close()
				break
			}
		}
	}
}

func (s *Server) newConn(rwc net.Conn) *conn {
	ra := rwc.RemoteAddr()
	c := &conn{srv: s, rwc: rwc, remote: ra.String()}
	if ta, ok := ra.(*net.TCPAddr); ok {
		// As netip.ParseAddrPort(remote) would have it: an IPv4 address
		// prints (and parses) as IPv4 even when net.IP holds it in its
		// 16-byte form.
		ap := ta.AddrPort()
		c.remoteAP = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if host, _, err := net.SplitHostPort(c.remote); err == nil {
			c.remoteIP = host
		}
	}
	c.state.Store(int32(http.StateNew))
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return nil
	}
	s.conns[c] = struct{}{}
	s.accepted++
	s.mu.Unlock()
	s.changed(http.StateNew, http.StateNew)
	return c
}

// ConnCounts are a server's connections as nginx's stub_status counts
// them.
type ConnCounts struct {
	Accepted int64 // since the server started
	Reading  int64 // open, no request yet (StateNew)
	Writing  int64 // serving a request (StateActive)
	Waiting  int64 // idle keep-alive (StateIdle)
}

// Add is the sum of two servers' counts.
func (n ConnCounts) Add(o ConnCounts) ConnCounts {
	return ConnCounts{n.Accepted + o.Accepted, n.Reading + o.Reading, n.Writing + o.Writing, n.Waiting + o.Waiting}
}

// Conns counts the open connections by state, when asked (a metrics
// scrape), from each connection's own state: the request path writes
// no shared counter for it. Counters updated on every state change
// cost four atomic additions per request on lines every CPU writes,
// which bounce between the event loops' CPUs.
func (s *Server) Conns() ConnCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := ConnCounts{Accepted: s.accepted}
	for c := range s.conns {
		switch http.ConnState(c.state.Load()) {
		case http.StateNew:
			n.Reading++
		case http.StateActive:
			n.Writing++
		case http.StateIdle:
			n.Waiting++
		}
	}
	return n
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.done != nil && len(s.conns) == 0 {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	s.mu.Unlock()
}

// conn is one client connection served by one goroutine.
type conn struct {
	srv    *Server
	rwc    net.Conn
	remote string
	// remoteAP and remoteIP are remote parsed, and its address part,
	// once per connection (RemoteAddrPort); zero when rwc's address is
	// not TCP.
	remoteAP netip.AddrPort
	remoteIP string
	br       *bufio.Reader
	bw       *outbuf
	state    atomic.Int32 // http.ConnState
	tls      *tls.ConnectionState
	hbuf     []byte // header block scratch, reused across requests
	dl       deadline.Tracker
	tmpl     *http.Request // carries the connection's context
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
)

// setState records a state change; it reports false when Shutdown closed
// the connection first.
func (c *conn) setState(from, to http.ConnState) bool {
	if !c.state.CompareAndSwap(int32(from), int32(to)) {
		return false
	}
	c.srv.changed(from, to)
	return true
}

func (s *Server) changed(from, to http.ConnState) {
	if s.StateChange != nil {
		s.StateChange(from, to)
	}
}

func (c *conn) close() {
	c.rwc.Close()
	// Hijacked and closed-by-Shutdown connections reported their end
	// already.
	if st := http.ConnState(c.state.Swap(int32(http.StateClosed))); st != http.StateHijacked && st != http.StateClosed {
		c.srv.changed(st, http.StateClosed)
	}
	c.srv.forget(c)
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	if c.bw != nil {
		c.bw.Reset(nil)
		outbufPool.Put(c.bw)
		c.bw = nil
	}
}

func (c *conn) serve() {
	hijacked := false
	defer func() {
		if p := recover(); p != nil {
			c.srv.Logger.Error("http1: panic serving connection", "remote", c.remote, "panic", p)
		}
		if !hijacked {
			c.close()
		}
	}()
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if !c.handshake(tc) {
			return
		}
		if c.tls.NegotiatedProtocol == http2.NextProtoTLS {
			hijacked = true
			c.serveH2TLS(tc)
			return
		}
	}
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.rwc)
	c.bw = outbufPool.Get().(*outbuf)
	c.bw.Reset(c.rwc)
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, c.rwc.LocalAddr())
	c.tmpl = (&http.Request{}).WithContext(ctx)
	s := c.srv
	first := true
	var spare *reqState // the last request's memory, when it was recycled
	prev := http.StateNew
	for {
		if c.br.Buffered() == 0 {
			c.dl.Read(c.rwc, s.IdleTimeout)
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		if !c.setState(prev, http.StateActive) {
			return // Shutdown closed us while idle
		}
		head := c.bufferedHead()
		if head == 0 {
			// The rest of the header must come from the network: bound it.
			c.dl.Read(c.rwc, s.ReadHeaderTimeout)
		}
		if first && s.H2C {
			first = false
			if c.isH2Preface() {
				hijacked = true
				// HTTP/2 runs its own goroutines on the connection.
				evloop.Block(c.rwc, func() {
					evloop.Detach(c.rwc)
					c.serveH2()
				})
				return
			}
		}
		// Fresh unless the handler recycled the previous request: in
		// general the request escapes into plugin contexts and log
		// entries that may outlive the response.
		st := spare
		spare = nil
		if st == nil {
			st = new(reqState)
		} else {
			// Emptied now rather than when the last request ended: by
			// now its memory has gone cold (other connections ran
			// meanwhile), and the parse about to fill it finds the
			// lines the reset just wrote in the cache, where a reset at
			// the end made both miss (callgrind's cache simulation,
			// BENCHMARKS.md "Twelfth session").
			st.reset()
		}
		if err := c.readRequest(st, head); err != nil {
			c.refuse(err)
			return
		}
		w := &st.w
		s.Handler.ServeHTTP(w, &st.req)
		if w.hijacked {
			hijacked = true
			return
		}
		keep := w.finish()
		if w.recycle {
			spare = st
		}
		if !keep || s.shutdown.Load() {
			_ = c.flush()
			return
		}
		if c.br.Buffered() == 0 {
			if err := c.flush(); err != nil {
				return
			}
		}
		if !c.setState(http.StateActive, http.StateIdle) {
			return
		}
		prev = http.StateIdle
	}
}

// bufferedHead is the length of the request head when all of it is
// already buffered, through the empty line that ends it; 0 when it is
// not (yet), or when it starts with an empty line (which readHeaderBlock
// skips). One pass over the buffered bytes, a line at a time: the scan
// both bounds the wait for the rest of a head and, once it is complete,
// lets readRequest copy it out of the reader in one piece rather than a
// line at a time (BENCHMARKS.md, "Twelfth session").
func (c *conn) bufferedHead() int {
	b, _ := c.br.Peek(c.br.Buffered())
	if len(b) == 0 || b[0] == '\r' || b[0] == '\n' {
		return 0
	}
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// flush sends buffered response bytes under the write timeout.
func (c *conn) flush() error {
	if c.bw.Buffered() == 0 {
		return nil
	}
	c.dl.Write(c.rwc, c.srv.WriteTimeout)
	return c.bw.Flush()
}

// handshake runs the TLS handshake under the header timeout and records
// the connection state for requests.
func (c *conn) handshake(tc *tls.Conn) bool {
	_ = tc.SetDeadline(time.Now().Add(c.srv.ReadHeaderTimeout))
	if err := tc.Handshake(); err != nil {
		c.srv.Logger.Debug("http1: TLS handshake", "remote", c.remote, "err", err)
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tls = &st
	return true
}
