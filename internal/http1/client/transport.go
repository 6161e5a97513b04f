// Package client is a lean HTTP/1.1 client for plain-TCP ("http" scheme)
// upstreams, used by the proxy in place of net/http.Transport.
//
// net/http.Transport runs a read goroutine and a write goroutine per
// connection and hands every request and response between them and the
// caller over channels; in the gateway that hand-off dominated upstream CPU.
// Here the calling goroutine writes the request and reads the response
// itself, and the response body reads straight from the connection's
// buffered reader. There are no goroutines per connection or per request;
// the only background work is one timer per Transport that closes idle
// connections once they expire.
//
// The client is deliberately strict about response framing (RFC 9112):
// a gateway that guesses at ambiguous framing is open to response
// smuggling, so anything ambiguous is an error and the connection is not
// reused.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/stargate-edge/stargate/internal/http1/evloop"
	"github.com/stargate-edge/stargate/internal/http1/wire"
)

const (
	defaultConnectTimeout = 60 * time.Second
	defaultIdleTimeout    = 60 * time.Second
	tcpKeepAlive          = 30 * time.Second

	// MaxHeaderBytes bounds one response header block (status line
	// included), and separately the trailers of a chunked body; the
	// upstreams' net/http transports take the same cap.
	MaxHeaderBytes = 64 << 10
	// maxInterim bounds the 1xx responses skipped before the final one, so
	// a misbehaving upstream cannot keep a request busy forever.
	maxInterim = 16
	// drainLimit is the most body bytes Close reads to keep a connection.
	drainLimit = 64 << 10
	// drainTimeout bounds how long Close waits for those bytes: reading a
	// few more bytes is cheaper than a new dial, waiting long is not.
	drainTimeout = 50 * time.Millisecond
	// earlyReadTimeout bounds the attempt to read a response the upstream
	// sent before it stopped accepting the request body.
	earlyReadTimeout = time.Second
)

// aLongTimeAgo is a deadline in the past, used to abort blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Transport is a keep-alive pool of HTTP/1.1 connections per address.
// It is safe for concurrent use; its fields must not change after first use.
type Transport struct {
	// Dial opens a connection; nil = net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30s}.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ConnectTimeout is used by the default dialer; 0 = 60s.
	ConnectTimeout time.Duration
	// MaxIdlePerHost is the number of idle connections kept per address.
	// <= 0 disables keep-alive: connections are closed after one exchange
	// (no "Connection: close" is sent, the upstream may not care).
	MaxIdlePerHost int
	// IdleTimeout: idle pooled connections older than this are closed and
	// not reused; 0 = 60s.
	IdleTimeout time.Duration

	// The idle connections live in shards: shard 0 for callers off the
	// event loops, shard 1+ID for each loop's coroutines (loops of two
	// groups with the same index share one; the pool key still keeps
	// their connections apart). A single pool
	// lock taken twice per request by every loop kept its cache line
	// moving between CPUs, and made every read of the settings above (on
	// that line) a miss; a loop's shard is only ever locked by that loop
	// and, now and then, by the reaper.
	shards  atomic.Pointer[[]*shard]
	reaping atomic.Bool // reaper armed; read on every putConn, written rarely
	mu      sync.Mutex  // serialises growing shards and arming the reaper
	reaper  *time.Timer
}

// shard is one part of the idle pool, padded so that two shards' locks
// never share a cache line.
type shard struct {
	mu   sync.Mutex
	idle map[poolKey]*idleList
	// lastKey's list, the one most recently used: a loop's requests
	// mostly go to one upstream, and hashing the struct key cost a
	// generic map lookup on every get and put (about 190 instructions).
	lastKey poolKey
	last    *idleList
	_       cpu.CacheLinePad
}

// list is key's idle list, or nil; sh.mu is held.
func (sh *shard) list(key poolKey) *idleList {
	if sh.last != nil && sh.lastKey == key {
		return sh.last
	}
	l := sh.idle[key]
	if l != nil {
		sh.lastKey, sh.last = key, l
	}
	return l
}

// drop deletes key's list; sh.mu is held.
func (sh *shard) drop(key poolKey) {
	delete(sh.idle, key)
	if sh.lastKey == key {
		sh.lastKey, sh.last = poolKey{}, nil
	}
}

// poolKey names an idle list: connections dialled from an event loop
// are kept apart per loop (only that loop's coroutines may use them).
type poolKey struct {
	addr string
	loop *evloop.Loop
}

// idleList is one address's idle connections, least recently used first;
// Do takes from the end (LIFO) because the most recently used connection
// is the one least likely to have been closed by the upstream.
type idleList struct {
	conns []*conn
}

// Options are per-request limits (a route's timeouts differ per request).
type Options struct {
	// ConnectTimeout overrides Transport's dial timeout when > 0. With a
	// custom Transport.Dial it is applied as a context deadline.
	ConnectTimeout time.Duration
	// SendTimeout is the write deadline for sending the request (0 = none).
	SendTimeout time.Duration
	// ReadTimeout is the deadline for the response headers and for each
	// body read that has to wait for the network (nginx proxy_read_timeout
	// semantics: the longest pause between two reads) (0 = none).
	ReadTimeout time.Duration
	// Loop, when set, is the event loop whose coroutine calls Do (see
	// server.Loop): connections are dialled on it and pooled for it, so
	// waiting for the upstream yields to the loop. The response body must
	// then be read and closed by the same coroutine. A custom Dial is not
	// used for such requests.
	Loop *evloop.Loop
	// Slot, when set, is where the response is built instead of a new
	// allocation; its previous response is overwritten. The caller must
	// be done with that one, its Header and body included (the proxy
	// passes a slot only for requests that keep nothing).
	Slot *Slot
	// DropHopByHop leaves the hop-by-hop fields (wire.HopByHop) and those
	// the response's Connection field names out of the response's Header,
	// as a proxy must not pass them on; the framing is in the response's
	// other fields. A proxy then need not go over the map again. The
	// request's hop-by-hop fields are not sent either, and its Connection
	// field does not ask for a close: a proxy can hand over its client's
	// Header as it is (having removed the fields its Connection names)
	// instead of copying it.
	DropHopByHop bool
	// Fields are request fields sent after the Header's, as name/value
	// pairs with canonical names; Header fields of the same names are not
	// sent (a proxy's X-Forwarded-For and the like, which then need not go
	// into a copy of its client's Header).
	Fields []string
	// Lines, when set, are the request's header fields as lines to send
	// in place of the Header's: the lines of the head the Header was
	// parsed from, checked to be its fields still (server.RequestLines),
	// whose names and values were checked when they were parsed and are
	// not checked again. Each is sent as it came unless its key is one
	// the client writes itself (Host, Connection, Content-Length,
	// Transfer-Encoding), is hop-by-hop (DropHopByHop) or is one of
	// Fields'. A proxy's request whose fields nothing changed then costs
	// no walk over the Header map and no second check of each field.
	Lines []wire.Line
	// RawHead, with a Slot and DropHopByHop, builds no Header map for the
	// response: resp.Header is nil until Slot.Header builds it, and
	// Slot.RawHead gives the field lines as they came, for a proxy to pass
	// on without going over them again (its client's listener writes
	// them: server.WriteHead). A proxy asks for it only when nothing (no
	// plugin) looks at the answer's fields.
	RawHead bool
}

// RoundTrip implements http.RoundTripper; it is Do(req, Options{}).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.Do(req, Options{})
}

// Do sends req and returns the response with its headers read. The body is
// read on demand from the connection by the caller's goroutine; the
// connection returns to the pool as soon as the body has been read to EOF
// (or on Close). req.Body is always closed.
//
// A request written on a reused connection that fails before any response
// byte arrived (the upstream closed the idle connection while it sat in the
// pool) is retried once on a new connection when its body can be replayed:
// no body, or req.GetBody set, and the method is idempotent (see
// idempotent).
func (t *Transport) Do(req *http.Request, o Options) (*http.Response, error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	var ri reqInfo
	addr, err := ri.prepare(req, body != nil, &o)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	ctx := req.Context()
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			if body != nil {
				body.Close()
			}
			return nil, fmt.Errorf("http1 client: %s: %w", addr, err)
		}
	}
	for attempt := 0; ; attempt++ {
		var c *conn
		if attempt == 0 {
			c = t.getIdle(poolKey{addr, o.Loop})
		}
		reused := c != nil
		if c == nil {
			nc, err := t.dial(ctx, addr, &o)
			if err != nil {
				if body != nil {
					body.Close()
				}
				return nil, fmt.Errorf("http1 client: dial %s: %w", addr, err)
			}
			c = newConn(nc, addr)
			c.loop = o.Loop
		}
		resp, stale, err := t.roundTrip(c, req, &ri, body, &o)
		if err == nil {
			return resp, nil
		}
		if !stale || !reused || attempt > 0 || !idempotent(req) {
			return nil, err
		}
		// The pooled connection was dead. Replay on a fresh one.
		if body != nil {
			if req.GetBody == nil {
				return nil, err
			}
			nb, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			if nb == http.NoBody {
				nb = nil
			}
			if nb == nil && ri.cl > 0 {
				return nil, err
			}
			body = nb
		}
	}
}

// idempotent reports whether a request may be sent twice: the upstream
// may have processed it before the connection died. Like nginx's
// proxy_next_upstream without non_idempotent, POST, PATCH and LOCK are
// not replayed unless the client marked them with an idempotency key.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodPost, http.MethodPatch, "LOCK":
		return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
	}
	return true
}

// isStale reports whether err is how a write to, or a read from, a
// connection the peer already closed fails.
func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// roundTrip performs one exchange on c, which it owns: on error c is closed,
// on success it belongs to the response body. stale reports an error that
// happened before any response byte arrived and looks like a connection the
// upstream had closed, so the request may be replayed elsewhere.
func (t *Transport) roundTrip(c *conn, req *http.Request, ri *reqInfo, body io.ReadCloser, o *Options) (resp *http.Response, stale bool, err error) {
	ctx := req.Context()
	c.abort.Store(false)
	if ctx.Done() != nil {
		c.ctx = ctx
		c.stop = context.AfterFunc(ctx, c.onCancel)
	}
	c.send = o.SendTimeout
	c.dl.Write(c.nc, o.SendTimeout)
	bodyErr, werr := c.writeRequest(req, ri, body)
	if bodyErr != nil {
		t.putConn(c, false)
		return nil, false, fmt.Errorf("http1 client: read request body for %s: %w", c.addr, bodyErr)
	}
	if werr != nil {
		if c.abort.Load() || isTimeout(werr) {
			err = c.ctxErr(werr)
			t.putConn(c, false)
			return nil, false, fmt.Errorf("http1 client: write request to %s: %w", c.addr, err)
		}
		// The upstream may have answered early (413, 401, ...) and stopped
		// reading; such a response is worth more than the write error.
		rt := earlyReadTimeout
		if o.ReadTimeout > 0 && o.ReadTimeout < rt {
			rt = o.ReadTimeout
		}
		resp, got, rerr := t.readResponse(c, req, ri, rt, o.ReadTimeout, false, o.Slot, o.DropHopByHop, o.RawHead)
		if rerr == nil {
			return resp, false, nil
		}
		return nil, !got && isStale(werr), fmt.Errorf("http1 client: write request to %s: %w", c.addr, werr)
	}
	resp, got, err := t.readResponse(c, req, ri, o.ReadTimeout, o.ReadTimeout, true, o.Slot, o.DropHopByHop, o.RawHead)
	if err != nil {
		return nil, !got && isStale(err), err
	}
	return resp, false, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dial opens a connection to addr.
func (t *Transport) dial(ctx context.Context, addr string, o *Options) (net.Conn, error) {
	if o.Loop != nil {
		return o.Loop.Dial(addr, t.connectTimeout(o))
	}
	if t.Dial != nil {
		if o.ConnectTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.ConnectTimeout)
			defer cancel()
		}
		return t.Dial(ctx, "tcp", addr)
	}
	d := net.Dialer{Timeout: t.connectTimeout(o), KeepAlive: tcpKeepAlive}
	return d.DialContext(ctx, "tcp", addr)
}

// connectTimeout is the request's, else the Transport's, else 60 s.
func (t *Transport) connectTimeout(o *Options) time.Duration {
	switch {
	case o.ConnectTimeout > 0:
		return o.ConnectTimeout
	case t.ConnectTimeout > 0:
		return t.ConnectTimeout
	}
	return defaultConnectTimeout
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleTimeout > 0 {
		return t.IdleTimeout
	}
	return defaultIdleTimeout
}

// getIdle pops the most recently used idle connection for key, or nil.
func (t *Transport) getIdle(key poolKey) *conn {
	if t.MaxIdlePerHost <= 0 {
		return nil
	}
	var now int64
	if key.loop != nil {
		now = key.loop.UnixNano() // the caller is the loop's coroutine
	} else {
		now = time.Now().UnixNano()
	}
	limit := int64(t.idleTimeout())
	sh := t.shard(key.loop)
	for {
		sh.mu.Lock()
		l := sh.list(key)
		if l == nil || len(l.conns) == 0 {
			sh.mu.Unlock()
			return nil
		}
		n := len(l.conns)
		c := l.conns[n-1]
		if now-c.idleAt > limit {
			// The newest has expired, so have all the older ones.
			expired := l.conns
			sh.drop(key)
			sh.mu.Unlock()
			for _, c := range expired {
				c.close()
			}
			return nil
		}
		l.conns[n-1] = nil
		l.conns = l.conns[:n-1]
		sh.mu.Unlock()
		if !c.stale() {
			return c
		}
		c.close() // and try the next one
	}
}

// putConn ends c's current exchange: it goes to the idle pool when reuse is
// true and it is clean, else it is closed.
func (t *Transport) putConn(c *conn, reuse bool) {
	if c.stop != nil {
		// stop false: the cancel callback ran or is running and has set,
		// or will set, a deadline in the past. The connection is unusable.
		if !c.stop() {
			reuse = false
		}
		c.stop = nil
	}
	c.ctx = nil
	if c.abort.Load() || t.MaxIdlePerHost <= 0 || c.br.Buffered() > 0 {
		// Buffered bytes nobody asked for would be parsed as the next
		// response: never reuse such a connection.
		reuse = false
	}
	if !reuse {
		c.close()
		return
	}
	if c.deadlineSet {
		// drain set one directly; the coarse ones stay (see deadline)
		c.nc.SetDeadline(time.Time{})
		c.deadlineSet = false
		c.dl.Forget()
	}
	c.idleAt = c.dl.UnixNano(c.nc)
	sh := t.shard(c.loop)
	sh.mu.Lock()
	if sh.idle == nil {
		sh.idle = make(map[poolKey]*idleList)
	}
	key := poolKey{c.addr, c.loop}
	l := sh.list(key)
	if l == nil {
		l = &idleList{}
		sh.idle[key] = l
		sh.lastKey, sh.last = key, l
	}
	if len(l.conns) >= t.MaxIdlePerHost {
		sh.mu.Unlock()
		c.close()
		return
	}
	l.conns = append(l.conns, c)
	sh.mu.Unlock()
	// After the append: a reap that finds the pool empty disarms before
	// it sweeps, so either it sees this connection or this sees it
	// disarmed.
	if !t.reaping.Load() {
		t.arm()
	}
}

// shard returns the idle-pool shard of loop's coroutines (nil loop: the
// shard of everyone else), growing the set on a loop's first use.
func (t *Transport) shard(loop *evloop.Loop) *shard {
	i := 0
	if loop != nil {
		i = 1 + loop.ID()
	}
	if p := t.shards.Load(); p != nil && i < len(*p) {
		return (*p)[i]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur []*shard
	if p := t.shards.Load(); p != nil {
		cur = *p
	}
	if i < len(cur) {
		return cur[i]
	}
	next := make([]*shard, i+1)
	copy(next, cur)
	for j := len(cur); j < len(next); j++ {
		next[j] = new(shard)
	}
	t.shards.Store(&next)
	return next[i]
}

// allShards is the current shard set, for the reaper and for
// CloseIdleConnections.
func (t *Transport) allShards() []*shard {
	if p := t.shards.Load(); p != nil {
		return *p
	}
	return nil
}

// arm starts the reaper's timer unless it is running.
func (t *Transport) arm() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reaping.Load() {
		return
	}
	t.reaping.Store(true)
	if t.reaper == nil {
		t.reaper = time.AfterFunc(t.idleTimeout(), t.reap)
	} else {
		t.reaper.Reset(t.idleTimeout())
	}
}

// reap closes expired idle connections, so that an address no longer used
// does not hold connections (and file descriptors) forever. It runs on the
// Transport's single timer.
func (t *Transport) reap() {
	limit := int64(t.idleTimeout())
	now := time.Now().UnixNano()
	var stale []*conn
	// Disarm first: a putConn that lands after a shard's sweep then arms
	// the timer again itself.
	t.reaping.Store(false)
	left := false
	for _, sh := range t.allShards() {
		sh.mu.Lock()
		for key, l := range sh.idle {
			i := 0
			for i < len(l.conns) && now-l.conns[i].idleAt > limit {
				i++
			}
			if i == len(l.conns) {
				stale = append(stale, l.conns...)
				sh.drop(key)
				continue
			}
			left = true
			if i == 0 {
				continue
			}
			stale = append(stale, l.conns[:i]...)
			n := copy(l.conns, l.conns[i:])
			clear(l.conns[n:])
			l.conns = l.conns[:n]
		}
		sh.mu.Unlock()
	}
	if left {
		t.arm()
	}
	for _, c := range stale {
		c.close()
	}
}

// CloseIdleConnections closes all idle connections. Connections in use are
// not affected and may still return to the pool afterwards.
func (t *Transport) CloseIdleConnections() {
	var idle []*conn
	for _, sh := range t.allShards() {
		sh.mu.Lock()
		for _, l := range sh.idle {
			idle = append(idle, l.conns...)
		}
		sh.idle = nil
		sh.lastKey, sh.last = poolKey{}, nil
		sh.mu.Unlock()
	}
	t.mu.Lock()
	if t.reaping.Load() {
		t.reaper.Stop()
		t.reaping.Store(false)
	}
	t.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// hostPort returns u.Host with port 80 added when it has none.
func hostPort(host string) string {
	// One scan from the end: a colon after any ']' starts a port.
	for i := len(host) - 1; i >= 0 && host[i] != ']'; i-- {
		if host[i] == ':' {
			return host
		}
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}
