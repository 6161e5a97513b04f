package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/http1/client"
	"github.com/stargate-edge/stargate/internal/http1/evloop"
	"github.com/stargate-edge/stargate/internal/http1/server"
	"github.com/stargate-edge/stargate/internal/http1/wire"
	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy/router"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
)

// maxRetryBody is the largest request body kept in memory so that a retry
// can send it again; larger bodies are streamed once, without retries.
const maxRetryBody = 1 << 20

// Handler serves proxied requests from the loader's current snapshot.
type Handler struct {
	snaps *snapshot.Loader
	log   *slog.Logger
	// TLS tells the handler it sits behind the TLS listener (scheme https).
	TLS bool
}

// NewHandler returns the pipeline for one listener.
func NewHandler(snaps *snapshot.Loader, log *slog.Logger, tls bool) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{snaps: snaps, log: log, TLS: tls}
}

var (
	notFoundBody = []byte(`{"error_msg":"404 Route Not Found"}` + "\n")
	badGateway   = []byte(`{"error_msg":"502 Bad Gateway"}` + "\n")
	gwTimeout    = []byte(`{"error_msg":"504 Gateway Time-out"}` + "\n")
)

// removeHop deletes the hop-by-hop headers from h, and those the
// Connection header names.
func removeHop(h http.Header) {
	wire.DeleteNamed(h, h["Connection"])
	for k := range h {
		if wire.HopByHop(k) {
			delete(h, k)
		}
	}
}

// Route finds the route a request would take; the debug endpoint uses it.
func Route(snap *snapshot.Snapshot, method, host, path string, remote netip.Addr, v router.Request) (*snapshot.Route, router.Match, bool) {
	v.Method, v.Host, v.Path, v.Remote = method, host, path, remote
	m, ok := snap.Router.Match(&v)
	if !ok {
		return nil, m, false
	}
	return m.Route.Target.(*snapshot.Route), m, true
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := h.snaps.Current()
	host := routeHost(r.Host)
	// The listener parsed its connection's address once; parse it here
	// only for other callers (and if a wrapper rewrote RemoteAddr).
	remote, rip, ok := server.RemoteAddrPort(w, r.RemoteAddr)
	if !ok {
		remote, _ = netip.ParseAddrPort(r.RemoteAddr)
		rip = remoteIP(r.RemoteAddr, remote)
	}
	scheme := "http"
	if h.TLS {
		scheme = "https"
	}
	// The request's pipeline state: one allocation, or none when an
	// earlier request without plugins gave its state back. It comes
	// zeroed (new, or emptied by release) but for the memory release
	// keeps, so its fields are set one by one: a composite literal was
	// built in this frame and copied over, a kilobyte of stack written
	// per request on a coroutine stack the cache has lost since the
	// connection's last request.
	st := pipePool.Get().(*pipeState)
	rv := &st.rv
	rv.r, rv.host, rv.remote, rv.scheme, rv.pipe = r, host, rip, scheme, st
	pc := &st.pc
	if st.respHdr == nil {
		st.respHdr = http.Header{}
	}
	worker := -1
	l := server.Loop(w)
	if l != nil {
		worker = l.ID()
	}
	pc.Req, pc.Vars, pc.RespHeader, pc.Start, pc.Worker = r, rv, st.respHdr, now(l), worker
	if n, ok := server.RequestHeadLength(w); ok {
		pc.RequestHeadLength = n
	}
	rv.pc = pc
	org := ""
	pc.Upstreams = snap

	mr := &st.match
	mr.Method, mr.Host, mr.Path, mr.Remote, mr.Vars = r.Method, host, r.URL.Path, remote.Addr(), rv
	m, ok := snap.Router.Match(mr)
	var rt *snapshot.Route
	chain := (*plugin.Chain)(nil)
	if ok {
		rt = m.Route.Target.(*snapshot.Route)
		rv.params, rv.route = m.Params, rt
		pc.MatchedURI, pc.MatchedHost = m.URI, m.Host
		org = rt.Org
		pc.RouteID, pc.ServiceID = rt.ID, rt.ServiceID
		chain = rt.Plugins
	}
	if snap.Consumers != nil && (chain.Len() > 0 || snap.Global.Len() > 0) {
		// Only plugins look consumers up: a request without any skips
		// finding its organization's view (a map lookup).
		pc.Consumers = snap.Consumers.ForOrg(org)
	}
	// Unless a plugin keeps the request, its context or its answer past
	// this handler (log batches, mirrors, background cache refreshes:
	// plugins not declared Transient), its memory is reused.
	st.plain = chain.Transient() && snap.Global.Transient()
	st.chain, st.w = chain, w
	defer func() {
		pc.Latency = now(server.Loop(w)).Sub(pc.Start)
		snap.Global.Log(pc)
		st.chain.Log(pc)
		abort := st.abort
		if st.plain && !st.kept {
			server.Recycle(w)
			st.release()
		}
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()
	if !chain.Inline() || !snap.Global.Inline() {
		// A plugin may wait (a call out, a delay, a cache lock): not on
		// the listener's event loop.
		server.Offload(w, func() { h.phases(w, r, pc, rt, rv, snap, st) })
		return
	}
	h.phases(w, r, pc, rt, rv, snap, st)
}

// phases runs the plugin phases and forwards; st.chain is the route's
// chain, and the consumer's merged one once an auth plugin found one.
func (h *Handler) phases(w http.ResponseWriter, r *http.Request, pc *plugin.Ctx, rt *snapshot.Route, rv *reqVars, snap *snapshot.Snapshot, st *pipeState) {
	chain := st.chain
	// Global rules run whether or not a route matched, before the route's
	// plugins in each phase.
	if snap.Global.Rewrite(pc) || chain.Rewrite(pc) {
		h.exit(w, pc, snap, chain)
		return
	}
	// An auth plugin found a consumer: its (and its group's) plugins
	// override the route's, and the added ones get their rewrite phase.
	var added map[string]bool
	if pc.Consumer != nil && pc.Consumer.Chain.Len() > 0 {
		added = map[string]bool{}
		for _, n := range pc.Consumer.Chain.Names {
			added[n] = true
		}
		chain = plugin.Merge(chain, pc.Consumer.Chain)
		st.chain = chain
		st.plain = st.plain && chain.Transient()
		if !chain.Inline() {
			server.Offload(w, func() { h.access(w, r, pc, rt, rv, snap, chain, added) })
			return
		}
	}
	h.access(w, r, pc, rt, rv, snap, chain, added)
}

// access runs the consumer's added plugins' rewrite phase (added), the
// access phase, and forwards.
func (h *Handler) access(w http.ResponseWriter, r *http.Request, pc *plugin.Ctx, rt *snapshot.Route, rv *reqVars, snap *snapshot.Snapshot, chain *plugin.Chain, added map[string]bool) {
	if added != nil && chain.RewriteOnly(pc, added) {
		h.exit(w, pc, snap, chain)
		return
	}
	if snap.Global.Access(pc) || chain.Access(pc) {
		h.exit(w, pc, snap, chain)
		return
	}
	if rt == nil {
		pc.Exit(http.StatusNotFound, notFoundBody)
		h.exit(w, pc, snap, chain)
		return
	}
	up := rt.UpstreamIn(snap)
	if pc.Upstream != nil {
		up = pc.Upstream // a plugin chose (traffic-split)
	}
	if up == nil {
		h.log.Warn("proxy: route has no upstream", "route", rt.ID)
		pc.Exit(http.StatusBadGateway, badGateway)
		h.exit(w, pc, snap, chain)
		return
	}
	h.forward(w, r, pc, rt, up, chain, rv, snap)
}

// routeHost is the Host header as the router sees it: lower case, without
// port, brackets or a trailing dot. It allocates only when the header is
// not already lower case.
func routeHost(h string) string {
	// Strip ":port" from "host:port" and "[v6]:port" (not from a bare
	// IPv6 address, whose last group is not a port).
	if i := strings.LastIndexByte(h, ':'); i >= 0 && (h[0] == '[' && i > 0 && h[i-1] == ']' || strings.IndexByte(h, ':') == i) {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// remoteIP is the client address without its port. RemoteAddr comes
// from the connection in canonical form, so net.SplitHostPort's substring
// is the address as netip would print it, without formatting it again.
func remoteIP(remoteAddr string, ap netip.AddrPort) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return ap.Addr().String()
}

// pipeState is what one request needs through the pipeline, allocated
// together.
type pipeState struct {
	pc    plugin.Ctx
	rv    reqVars
	match router.Request
	// out is the request to the upstream, when it goes through the lean
	// HTTP/1.1 client (outSlot).
	out outReq
	// respHdr is the headers plugins add to the response (plugin.Ctx's
	// RespHeader until the answer's own replace it), kept by a pooled
	// state like out's.
	respHdr http.Header
	// w answers the request (server.RequestLines asks it for the
	// request's field lines).
	w http.ResponseWriter
	// chain: the plugins the request runs (the route's, merged with the
	// consumer's once one is known).
	chain *plugin.Chain
	// loop: the listener's event loop serving the request inline (nil
	// otherwise); upstream connections are dialled on it.
	loop *evloop.Loop
	// plain: every plugin the request runs (global rules included) is
	// Transient.
	// kept: something the handler started may still use the state (a
	// WebSocket, net/http's transport), so it is not reused.
	plain, kept bool
	// bare: no plugin (route, consumer or global) looks at the upstream's
	// answer (plugin.Chain.Passthrough), so its fields go out as the lean
	// client parsed them, without a header map (client.Options.RawHead,
	// server.WriteHead), with those plugins added to Ctx.RespHeader.
	bare bool
	// abort: the answer's body was cut short and the ResponseWriter has
	// no server.Abort (HTTP/2); the handler ends with
	// http.ErrAbortHandler so the stream is reset.
	abort bool
}

// pipePool holds the state of finished requests whose plugins were all
// transient, zeroed by release but for the memory it keeps (ServeHTTP
// relies on that).
var pipePool = sync.Pool{New: func() any { return new(pipeState) }}

// release empties st (dropping what it referenced, keeping the memory it
// reuses: the upstream request's header map, the slot the upstream's
// answer is parsed into, and the plugins' response header map) and gives
// it back to the pool.
func (st *pipeState) release() {
	hdr, rh, resp := st.out.hdr, st.respHdr, st.out.resp
	*st = pipeState{}
	st.out.resp = resp // the previous answer stays in it until overwritten
	if len(hdr) <= maxPooledHeaders {
		clear(hdr)
		st.out.hdr = hdr
	}
	if len(rh) <= maxPooledHeaders {
		clear(rh)
		st.respHdr = rh
	}
	pipePool.Put(st)
}

// maxPooledHeaders bounds the header maps a pooled state keeps (clearing
// a map costs its capacity).
const maxPooledHeaders = 40

// outSlot is where the request to the upstream is built and its answer
// parsed (outReq.respSlot): the pipeline's own slot for a plain request
// through the lean HTTP/1.1 client, which keeps nothing of either once
// the exchange is over; otherwise nil (allocate).
// Background fetches (rv.pipe nil) and TLS upstreams (net/http's
// transport may still write the request from its own goroutine) never
// use the slot.
func (rv *reqVars) outSlot(up *upstream.Upstream) *outReq {
	if rv.pipe == nil || !rv.pipe.plain || up.H1() == nil {
		return nil
	}
	return &rv.pipe.out
}

// exit answers a request that a plugin (or Stargate itself) ended, through
// the header and body filters like any other answer.
func (h *Handler) exit(w http.ResponseWriter, pc *plugin.Ctx, snap *snapshot.Snapshot, chain *plugin.Chain) {
	_, status, body := pc.Exited()
	hdr := http.Header{}
	for k, v := range pc.RespHeader {
		hdr[k] = v
	}
	if hdr.Get("Content-Type") == "" && len(body) > 0 && (body[0] == '{' || body[0] == '[') {
		hdr.Set("Content-Type", "application/json")
	}
	snap.Global.HeaderFilter(pc, status, hdr)
	chain.HeaderFilter(pc, status, hdr)
	pc.RespHeader = hdr // what is sent, for the log phase
	h.send(w, pc, status, hdr, bytes.NewReader(body), int64(len(body)), snap, chain)
}

// send writes status, headers and body through the body filters.
func (h *Handler) send(w http.ResponseWriter, pc *plugin.Ctx, status int, hdr http.Header, body io.Reader, length int64, snap *snapshot.Snapshot, chain *plugin.Chain) {
	if s := pc.StatusOverride(); s != 0 {
		status = s // response-rewrite's status_code
	}
	var cw *countWriter
	if rv, ok := pc.Vars.(*reqVars); ok {
		cw = &rv.cw // lives in the request's pipeState: no allocation
		*cw = countWriter{w: w}
	} else {
		cw = &countWriter{w: w}
	}
	bw, closeGlobal := snap.Global.WrapBody(pc, status, hdr, cw)
	bw, closeRoute := chain.WrapBody(pc, status, hdr, bw)
	filtered := bw != io.Writer(cw)
	if filtered {
		// A body filter may change the length.
		hdr.Del("Content-Length")
	} else if length >= 0 && first(hdr, "Content-Length") == "" {
		hdr["Content-Length"] = []string{strconv.FormatInt(length, 10)}
	}
	if !replaceHeader(w, hdr) {
		dst := w.Header()
		for k, v := range hdr {
			dst[k] = v
		}
	}
	w.WriteHeader(status)
	stream := length < 0 || strings.HasPrefix(first(hdr, "Content-Type"), "text/event-stream")
	h.sendBody(w, pc, status, bw, cw, body, stream, filtered, closeRoute, closeGlobal)
}

// sendBody copies the answer's body through bw (the body filters, ending
// at cw, closed by the closers when given), pushing each piece out as it
// arrives when the answer is a stream, and records what was sent for the
// log phase; a body the upstream cut short ends the client's answer
// unfinished.
func (h *Handler) sendBody(w http.ResponseWriter, pc *plugin.Ctx, status int, bw io.Writer, cw *countWriter, body io.Reader, stream, filtered bool, closers ...func() error) {
	if stream {
		// Push each chunk through the filters and out as it arrives.
		rc := http.NewResponseController(w)
		buf := make([]byte, 32<<10)
		for {
			n, err := body.Read(buf)
			if n > 0 {
				if _, werr := bw.Write(buf[:n]); werr != nil {
					break
				}
				if f, ok := bw.(plugin.Flusher); ok && filtered {
					_ = f.Flush()
				}
				_ = rc.Flush()
			}
			if err != nil {
				break
			}
		}
	} else {
		_, _ = io.Copy(bw, body)
	}
	for _, c := range closers {
		_ = c() // the filters flush what they hold
	}
	pc.Status, pc.BytesSent = status, cw.n
	if ub, ok := body.(*upstreamBody); ok && ub.err != nil {
		h.log.Warn("proxy: upstream body cut short", "route", pc.RouteID, "err", ub.err)
		if !server.Abort(w) {
			// HTTP/2: the stream is reset once the log phase has run.
			if rv, ok := pc.Vars.(*reqVars); ok && rv.pipe != nil {
				rv.pipe.abort = true
			}
		}
	}
}

// now is the time on the event loop l, whose coroutine calls: the loop's
// clock, read once per pass over its ready connections, as nginx caches
// its time per event loop iteration ($request_time and
// $upstream_response_time count from it); off the loops, the clock.
// Three clock reads per request cost about 200 instructions.
func now(l *evloop.Loop) time.Time {
	if l != nil {
		return l.Now()
	}
	return time.Now()
}

// first is h.Get(key) for a key already in canonical form: http.Header's
// Get canonicalises its argument on every call, which cost two Gets per
// request about 1,200 instructions, 4% of the proxy's own (callgrind,
// BENCHMARKS.md "Tenth session").
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// SendFileAt passes a disk-cache body's file range to the listener, which
// sends it with sendfile at that offset (cache.SendFileAtWriter).
func (c *countWriter) SendFileAt(fd int, off, n int64) (int64, error) {
	if sw, ok := c.w.(interface {
		SendFileAt(fd int, off, n int64) (int64, error)
	}); ok {
		m, err := sw.SendFileAt(fd, off, n)
		c.n += m
		return m, err
	}
	return 0, errors.ErrUnsupported // the body falls back to reading
}

// ReadFrom hands a file body (a disk cache hit) to the connection's
// ReadFrom, which sends it with sendfile.
func (c *countWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.w.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		c.n += n
		return n, err
	}
	return io.Copy(struct{ io.Writer }{c}, r)
}

// forward proxies to the upstream with retries, or lets the chain's
// Responder (the cache) answer, fetching through the same path.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, pc *plugin.Ctx, rt *snapshot.Route, up *upstream.Upstream, chain *plugin.Chain, rv *reqVars, snap *snapshot.Snapshot) {
	ws := rt.EnableWebsocket && isUpgrade(r)
	loop := server.Loop(w)
	responder := h.responder(pc, snap, chain)
	if loop != nil && (up.H1() == nil || ws) {
		// net/http's transport (TLS upstreams) and WebSocket copying run
		// goroutines of their own and wait for them: not on the loop.
		server.Offload(w, func() { h.forward(w, r, pc, rt, up, chain, rv, snap) })
		return
	}
	if loop != nil && responder != nil {
		// A cache: a fresh hit answers here on the loop, anything else
		// (origin fetches, waiting for another request's fetch) runs off
		// it.
		if ir, ok := responder.(plugin.InlineResponder); ok {
			if resp, ok := ir.RespondInline(pc); ok {
				h.respond(w, resp, pc, chain, snap)
				return
			}
		}
		server.Offload(w, func() { h.forward(w, r, pc, rt, up, chain, rv, snap) })
		return
	}
	rv.pipe.loop = loop
	if up.H1() == nil {
		rv.pipe.kept = true // net/http's transport: see outSlot
	}
	if ws {
		rv.pipe.kept = true
		h.websocket(w, r, pc, rt, up, rv, chain, snap)
		return
	}

	// Keep small bodies so a retry can resend them.
	var body []byte
	retryable := true
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength >= 0 && r.ContentLength <= maxRetryBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxRetryBody+1))
			if err != nil {
				pc.Exit(http.StatusBadRequest, []byte(`{"error_msg":"failed to read request body"}`+"\n"))
				h.exit(w, pc, snap, chain)
				return
			}
			body = b
		} else {
			retryable = false
		}
	}

	consumer := ""
	if pc.Consumer != nil {
		consumer = pc.Consumer.Username
	}
	var resp *http.Response
	var err error
	rv.pipe.bare = responder == nil && chain.Passthrough() && snap.Global.Passthrough()
	if responder != nil {
		rv.origin = origin{h: h, pc: pc, rt: rt, up: up, rv: rv, consumer: consumer, body: body, retryable: retryable}
		resp, err = responder.Respond(pc, &rv.origin)
	} else {
		resp, err = h.roundTrip(r, pc, rt, up, rv, consumer, body, retryable)
	}
	if err != nil {
		var ue *plugin.UpstreamError
		isUE := errors.As(err, &ue)
		if isUE && ue.ClientGone {
			pc.Status = 499 // client went away
			return
		}
		h.log.Warn("proxy: upstream failed", "route", rt.ID, "err", err)
		if isUE && ue.Timeout {
			pc.Exit(http.StatusGatewayTimeout, gwTimeout)
		} else {
			pc.Exit(http.StatusBadGateway, badGateway)
		}
		h.exit(w, pc, snap, chain)
		return
	}
	h.respond(w, resp, pc, chain, snap)
}

// responder is the first Responder that runs for the request: global
// rules' before the route's.
func (h *Handler) responder(pc *plugin.Ctx, snap *snapshot.Snapshot, chain *plugin.Chain) plugin.Responder {
	if r := snap.Global.Responder(pc); r != nil {
		return r
	}
	return chain.Responder(pc)
}

// origin is a request's upstream for its Responder (plugin.Origin). It
// lives in the request's reqVars, so handing it over allocates nothing.
type origin struct {
	h         *Handler
	pc        *plugin.Ctx
	rt        *snapshot.Route
	up        *upstream.Upstream
	rv        *reqVars
	consumer  string
	body      []byte
	retryable bool
}

// Fetch implements plugin.Origin.
func (o *origin) Fetch(req *http.Request, background bool) (*http.Response, error) {
	if background {
		// A refresh runs after (or while) the client's answer is sent:
		// take only the fields fixed before the upstream phase, never a
		// copy of the whole reqVars, whose query cache and byte counter
		// the foreground keeps writing.
		rv := o.rv
		bv := &reqVars{r: req, host: rv.host, remote: rv.remote, scheme: rv.scheme,
			params: rv.params, pc: rv.pc, route: rv.route, set: rv.set}
		return o.h.roundTrip(req, nil, o.rt, o.up, bv, o.consumer, nil, true)
	}
	return o.h.roundTrip(req, o.pc, o.rt, o.up, o.rv, o.consumer, o.body, o.retryable)
}

// roundTrip sends r (the client's request, or a Responder's copy of it)
// upstream with retries and returns the response, hop-by-hop headers
// removed; closing its body ends the attempt. pc is nil for background
// fetches, which then record nothing. Failures are *plugin.UpstreamError.
func (h *Handler) roundTrip(r *http.Request, pc *plugin.Ctx, rt *snapshot.Route, up *upstream.Upstream, rv *reqVars, consumer string, body []byte, retryable bool) (*http.Response, error) {
	timeouts := routeTimeouts(rt, up)
	var tried []*upstream.Node
	deadline := time.Time{}
	if up.RetryTimeout > 0 {
		deadline = time.Now().Add(up.RetryTimeout)
	}
	var lastErr error
	timedOut := false
	var loop *evloop.Loop
	worker := -1
	if rv.pipe != nil && rv.pipe.loop != nil { // background fetches have no pipe
		loop = rv.pipe.loop
		worker = loop.ID()
	}
	for attempt := 0; ; attempt++ {
		rv.hash = hashInput{reqVars: rv, consumer: consumer}
		node, done, err := up.Pick(worker, &rv.hash, tried)
		if err != nil {
			lastErr = err
			break
		}
		oslot := rv.outSlot(up)
		out, fields, lines := h.outbound(r, up, node, rv, body, oslot)
		t0 := now(loop)
		raw := oslot != nil && rv.pipe.bare // oslot: rv.pipe is set
		resp, err := h.attempt(r, out, fields, lines, rt, up, timeouts, loop, oslot.respSlot(), raw)
		if err != nil { // attempt released its context already
			isTimeout := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) && r.Context().Err() == nil
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				isTimeout = true
			}
			done(upstream.Result{Err: err, Timeout: isTimeout, Latency: now(loop).Sub(t0)})
			lastErr, timedOut = err, isTimeout
			tried = append(tried, node)
			if r.Context().Err() != nil {
				return nil, &plugin.UpstreamError{ClientGone: true, Err: err}
			}
			if !retryable || attempt >= up.Retries || (!deadline.IsZero() && time.Now().After(deadline)) {
				break
			}
			h.log.Debug("proxy: retrying", "route", rt.ID, "node", node.Addr, "err", err)
			continue
		}
		lat := now(loop).Sub(t0)
		done(upstream.Result{Status: resp.StatusCode, Latency: lat})
		if pc != nil {
			pc.UpstreamLatency, pc.UpstreamStatus, pc.UpstreamAddr = lat, resp.StatusCode, node.Addr
		}
		return resp, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no upstream node")
	}
	return nil, &plugin.UpstreamError{Timeout: timedOut, Err: lastErr}
}

// attempt sends one try upstream. Plain-http upstreams use the lean
// client, which applies the timeouts on the connection itself (no context
// or timer per attempt); TLS and gRPC upstreams use net/http's transport
// with a cancel context and an exchangeTimer, which closing the
// response's body ends.
func (h *Handler) attempt(r, out *http.Request, fields []string, lines []wire.Line, rt *snapshot.Route, up *upstream.Upstream, timeouts upstream.Timeouts, loop *evloop.Loop, slot *client.Slot, raw bool) (*http.Response, error) {
	if h1 := up.H1(); h1 != nil {
		if ctx := r.Context(); ctx.Done() != nil {
			out = out.WithContext(ctx) // a caller's cancellable context (background refresh)
		}
		o := client.Options{SendTimeout: timeouts.Send, ReadTimeout: timeouts.Read, Loop: loop, Slot: slot, DropHopByHop: true, Fields: fields, Lines: lines, RawHead: raw}
		if rt.Timeout != nil {
			o.ConnectTimeout = rt.Timeout.Connect
		}
		return h1.Do(out, o)
	}
	resp, x, err := viaTransport(r, out, rt, up, timeouts)
	if err != nil {
		return nil, err
	}
	removeHop(resp.Header)
	resp.Body = x.body(resp.Body)
	return resp, nil
}

// outReq is an upstream request with its URL and forwarding header
// values, allocated together.
type outReq struct {
	req http.Request
	url url.URL
	// fields are the forwarding fields (plugin.ForwardedFields), as
	// name/value pairs: sent by the lean client after the client's own
	// Header (client.Options.Fields), or put into a copy of it (hdr).
	fields [8]string
	hdr    http.Header // req.Header when copied, kept by a pooled slot
	// resp is where the lean client builds the upstream's answer, kept
	// by a pooled slot too: nothing keeps the answer either.
	resp *client.Slot
}

// respSlot is o's response slot; nil for no outReq (allocate).
func (o *outReq) respSlot() *client.Slot {
	if o == nil {
		return nil
	}
	if o.resp == nil {
		o.resp = new(client.Slot)
	}
	return o.resp
}

// outbound builds the request to one node, in slot when one is given
// (its previous content, an earlier attempt's request, is overwritten).
// It returns the fields the lean client is to send after the Header
// (client.Options.Fields), or nil when they are in the Header; and, when
// the request is the client's own and its Header still holds just what
// its listener parsed (server.RequestLines), the lines the lean client
// sends in place of the Header's fields (client.Options.Lines).
//
// For the lean client with a pooled slot the request takes the client's
// Header as it is: the lean client leaves out its hop-by-hop fields
// (client.Options.DropHopByHop) and sends the forwarding fields in place
// of the client's. Copying the map cost an assignment per field and a
// second walk over it (callgrind, BENCHMARKS.md "Tenth session"). A
// client Connection field that names other fields, which must go, still
// gets a copy without them.
func (h *Handler) outbound(r *http.Request, up *upstream.Upstream, node *upstream.Node, rv *reqVars, body []byte, slot *outReq) (*http.Request, []string, []wire.Line) {
	scheme := "http"
	if up.Scheme == "https" || up.Scheme == "grpcs" {
		scheme = "https"
	}
	o := slot
	if o == nil {
		o = &outReq{}
	}
	shared := slot != nil && up.H1() != nil && !wire.NamesFields(r.Header["Connection"])
	// Emptied and filled in place, field by field: composite literals
	// would be built in this frame and copied over (see ServeHTTP).
	hdr, resp := o.hdr, o.resp
	*o = outReq{}
	o.hdr, o.resp = hdr, resp
	u := &o.url
	u.Scheme, u.Host, u.Path, u.RawPath, u.RawQuery = scheme, node.Addr, r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out := &o.req
	out.Method, out.URL, out.Proto, out.ProtoMajor, out.ProtoMinor, out.Host = r.Method, u, "HTTP/1.1", 1, 1, r.Host
	switch up.PassHost {
	case "node":
		out.Host = node.HostHeader
	case "rewrite":
		out.Host = up.UpstreamHost
	}
	if len(body) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else if body == nil && r.Body != nil && r.Body != http.NoBody {
		out.Body = r.Body
		out.ContentLength = r.ContentLength
	}
	// An empty body read whole (an HTTP/2 GET comes with an empty body of
	// length 0) goes out as none: a GET without Transfer-Encoding, a POST
	// with Content-Length: 0.
	// X-Forwarded-*: append the client to the chain; keep what a trusted
	// hop said about proto and host only if nothing else is known.
	xff := plugin.ForwardedFor(r.Header, rv.remote)
	names := &plugin.ForwardedFields
	f := &o.fields
	f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7] = names[0], xff, names[1], rv.remote, names[2], rv.scheme, names[3], r.Host
	if shared {
		out.Header = r.Header
		if p := rv.pipe; p != nil { // RequestLines refuses any other request than p.w's
			if lines, ok := server.RequestLines(p.w, r); ok {
				return out, o.fields[:], lines
			}
		}
		return out, o.fields[:], nil
	}
	if hdr == nil {
		hdr = make(http.Header, len(r.Header)+5)
		o.hdr = hdr
	} else {
		clear(hdr) // an earlier request's headers
	}
	out.Header = hdr
	// The value slices are shared with the client's request: nothing
	// after this point appends to them in place (Set replaces a slice).
	for k, v := range r.Header {
		if !wire.HopByHop(k) {
			hdr[k] = v
		}
	}
	wire.DeleteNamed(hdr, r.Header["Connection"])
	// Values go into the request's own small array (canonical keys, no
	// Set): one allocation less per header.
	for i := 0; i < len(o.fields); i += 2 {
		hdr[o.fields[i]] = o.fields[i+1 : i+2 : i+2]
	}
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = nil // do not let Go add its own
	}
	return out, nil, nil
}

// respond sends the upstream's answer to the client after the header
// filter phase, through the body filters, flushing streamed answers as data
// arrives.
func (h *Handler) respond(w http.ResponseWriter, resp *http.Response, pc *plugin.Ctx, chain *plugin.Chain, snap *snapshot.Snapshot) {
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	rv, _ := pc.Vars.(*reqVars)
	if rv != nil && watchable(body) {
		rv.ub = upstreamBody{r: body}
		body = &rv.ub
	}
	if rv != nil && rv.pipe != nil && rv.pipe.bare && rv.pipe.out.resp != nil {
		// No plugin looks at the answer: its fields go out as the lean
		// client parsed them (client.Options.RawHead), after them those
		// the plugins added, or its Header is built now for the usual
		// path (HEAD, 204, 304, no length, HTTP/2, a plugin's field that
		// replaces one of the answer's).
		s := rv.pipe.out.resp
		if lines, date, ok := s.RawHead(resp); ok && pc.StatusOverride() == 0 && addable(pc.RespHeader, s) &&
			replaceHeader(w, pc.RespHeader) && server.WriteHead(w, resp.StatusCode, lines, date, resp.ContentLength) {
			cw := &rv.cw
			*cw = countWriter{w: w}
			ct := s.Get("Content-Type")
			if ct == "" {
				ct = first(pc.RespHeader, "Content-Type") // a plugin's, then
			}
			stream := strings.HasPrefix(ct, "text/event-stream")
			h.sendBody(w, pc, resp.StatusCode, cw, cw, body, stream, false)
			return
		}
		s.Header(resp)
	}
	hdr := responseHeader(pc, resp, chain, snap)
	h.send(w, pc, resp.StatusCode, hdr, body, resp.ContentLength, snap, chain)
}

// addable reports whether the fields plugins added (h) can go out after
// the answer's own lines: none of them replaces a field of the answer
// (s) or one the server writes itself.
func addable(h http.Header, s *client.Slot) bool {
	for k := range h {
		if wire.HopByHop(k) || k == "Content-Length" || k == "Date" || s.Has(k) {
			return false
		}
	}
	return true
}

// replaceHeader makes h the header of w when w is the HTTP/1.1
// listener's writer, which takes the map as it is instead of a copy; it
// reports whether it did.
func replaceHeader(w http.ResponseWriter, h http.Header) bool {
	rh, ok := w.(interface{ ReplaceHeader(http.Header) })
	if ok {
		rh.ReplaceHeader(h)
	}
	return ok
}

// responseHeader is resp's header as it is sent: with the headers
// plugins added (pc.RespHeader), through the global rules' and the
// chain's header filters. It becomes pc.RespHeader, for the log phase.
func responseHeader(pc *plugin.Ctx, resp *http.Response, chain *plugin.Chain, snap *snapshot.Snapshot) http.Header {
	hdr := resp.Header
	if hdr == nil {
		hdr = http.Header{}
	}
	for k, v := range pc.RespHeader {
		hdr[k] = v
	}
	snap.Global.HeaderFilter(pc, resp.StatusCode, hdr)
	chain.HeaderFilter(pc, resp.StatusCode, hdr)
	pc.RespHeader = hdr
	return hdr
}

// routeTimeouts is the route's own timeout, else its upstream's.
func routeTimeouts(rt *snapshot.Route, up *upstream.Upstream) upstream.Timeouts {
	if rt.Timeout != nil {
		return *rt.Timeout
	}
	return up.Timeout
}

// upstreamBody records how reading an upstream's body ended, so that a
// body cut short (the upstream reset the connection, timed out, or
// broke its chunked framing) is passed on as cut short (send), not as a
// complete answer that a client or a cache would keep.
type upstreamBody struct {
	r   io.Reader
	err error // the first error other than io.EOF
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// watchable: bodies the listener sends with sendfile (a disk cache hit:
// a file, or a reader that writes itself to the connection) are not
// wrapped, which would hide them from it; they come from disk, not from
// an upstream.
func watchable(r io.Reader) bool {
	_, writesItself := r.(io.WriterTo)
	return !writesItself && !server.IsFile(r)
}

func hostOnly(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		return hh
	}
	return h
}
