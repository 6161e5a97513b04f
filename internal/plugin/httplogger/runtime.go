package httplogger

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// logger is one configured http-logger: it captures each request's log
// entry in the log phase and hands it to its processor, which batches and
// sends in the background. A request never waits for the collector.
type logger struct {
	cfg  *config
	proc *processor
	// needsReqBody: install the request body tap (include_req_body or a
	// log_format reading $request_body).
	needsReqBody bool
}

var (
	_ plugin.Rewriter       = (*logger)(nil)
	_ plugin.HeaderFilterer = (*logger)(nil)
	_ plugin.BodyFilterer   = (*logger)(nil)
	_ plugin.LogPhaser      = (*logger)(nil)
)

func newLogger(conf map[string]any, env plugin.Env) (any, error) {
	cfg, err := decode(conf)
	if err != nil {
		return nil, err
	}
	l := &logger{cfg: cfg, needsReqBody: cfg.includeReqBody}
	for _, f := range cfg.format {
		if f.isVar && f.name == "request_body" {
			l.needsReqBody = true
		}
	}
	l.proc = acquire(env.Key+"\x00"+canonical(conf), cfg)
	// The processor outlives this compile: the next snapshot's instance
	// with the same key and configuration shares it. It is forgotten once
	// no instance uses it and its buffer is empty.
	runtime.AddCleanup(l, release, l.proc)
	return l, nil
}

// Per-request state the log phase needs from earlier phases (the body
// taps), keyed by the request's context and the logger (a global rule and
// a route may both log). Entries are removed by the log phase; the count
// bounds what a request that skipped it could leave.
var (
	states  sync.Map // stateKey -> *reqState
	nStates atomic.Int64
)

type stateKey struct {
	c *plugin.Ctx
	l *logger
}

const maxStates = 1 << 16

type reqState struct {
	req  *reqTap
	resp *respTap
}

func (l *logger) stateFor(c *plugin.Ctx) *reqState {
	k := stateKey{c, l}
	if v, ok := states.Load(k); ok {
		return v.(*reqState)
	}
	if nStates.Load() >= maxStates {
		return nil
	}
	st := &reqState{}
	states.Store(k, st)
	nStates.Add(1)
	return st
}

func (l *logger) takeState(c *plugin.Ctx) *reqState {
	if !l.needsReqBody && !l.cfg.includeRespBody {
		return nil
	}
	if v, ok := states.LoadAndDelete(stateKey{c, l}); ok {
		nStates.Add(-1)
		return v.(*reqState)
	}
	return nil
}

// Rewrite installs the request body tap: it keeps the first 512 KiB of
// what the proxy reads from the client, without reading ahead.
func (l *logger) Rewrite(c *plugin.Ctx) {
	if !l.needsReqBody || c.Req.Body == nil || c.Req.Body == http.NoBody || c.Req.ContentLength == 0 {
		return
	}
	if st := l.stateFor(c); st != nil && st.req == nil {
		st.req = &reqTap{rc: c.Req.Body}
		c.Req.Body = st.req
	}
}

// HeaderFilter makes c.RespHeader the response's final header map, so
// that the log phase sees the headers as sent (the proxy copied
// c.RespHeader into h before this phase and does not read it after).
func (l *logger) HeaderFilter(c *plugin.Ctx, _ int, h http.Header) {
	c.RespHeader = h
}

// WrapBody taps the response body when include_resp_body (and its
// expression) asks for it.
func (l *logger) WrapBody(c *plugin.Ctx, status int, _ http.Header, w io.Writer) io.WriteCloser {
	if !l.cfg.includeResp(c, status) {
		return nil
	}
	st := l.stateFor(c)
	if st == nil {
		return nil
	}
	st.resp = &respTap{w: w}
	return st.resp
}

func (cfg *config) includeResp(c *plugin.Ctx, status int) bool {
	if !cfg.includeRespBody {
		return false
	}
	if cfg.respBodyExpr != nil {
		return cfg.respBodyExpr.Match(&logVars{c: c, status: status, now: time.Now()})
	}
	return true
}

// Log captures the entry and queues it. The full log keeps references to
// the request's header maps (nothing writes them after the response) and
// is encoded in the background.
func (l *logger) Log(c *plugin.Ctx) {
	st := l.takeState(c)
	var reqBody, respBody []byte
	var hasReq, hasResp bool
	if st != nil {
		if st.req != nil {
			reqBody, hasReq = st.req.take()
		}
		if st.resp != nil {
			respBody, hasResp = st.resp.buf, true
		}
	}
	format := l.cfg.format
	if !l.cfg.hasFormat {
		if m := meta.Load(); m != nil {
			format = m.format
		}
	}
	var it item
	if format != nil {
		it = l.custom(c, format, reqBody, hasReq, respBody, hasResp)
	} else {
		it = l.full(c, reqBody, hasReq, respBody, hasResp)
	}
	l.proc.push(it)
}

func (l *logger) full(c *plugin.Ctx, reqBody []byte, hasReq bool, respBody []byte, hasResp bool) item {
	r := c.Req
	e := &fullEntry{
		method: r.Method, requestURI: r.RequestURI, proto: r.Proto, rawQuery: r.URL.RawQuery,
		reqHeader: r.Header, host: r.Host, transferEncoding: r.TransferEncoding, contentLength: r.ContentLength,
		status: c.Status, respHeader: c.RespHeader, bytesSent: c.BytesSent,
		upstream: c.UpstreamAddr, routeID: c.RouteID, serviceID: c.ServiceID, consumer: c.Consumer,
		start: c.Start, latency: c.Latency,
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		e.localAddr = la
	}
	if c.Vars != nil {
		e.varHost, _ = c.Vars.Var("host")
		e.scheme, _ = c.Vars.Var("scheme")
		e.clientIP, _ = c.Vars.Var("remote_addr")
	}
	if hasReq && (l.cfg.reqBodyExpr == nil || l.cfg.reqBodyExpr.Match(&logVars{c: c, now: time.Now()})) {
		e.reqBody, e.hasReqBody = reqBody, true
	}
	if hasResp {
		e.respBody, e.hasRespBody = respBody, true
	}
	return item{full: e, size: entryOverhead + int64(len(e.reqBody)+len(e.respBody))}
}

func (l *logger) custom(c *plugin.Ctx, format []field, reqBody []byte, hasReq bool, respBody []byte, hasResp bool) item {
	v := &logVars{c: c, now: time.Now(), reqBody: reqBody, hasReqBody: hasReq, respBody: respBody, hasRespBody: hasResp}
	m := make(map[string]any, len(format)+2)
	size := int64(entryOverhead)
	for _, f := range format {
		if !f.isVar {
			m[f.key] = f.literal
			continue
		}
		if x, ok := v.value(f.name); ok {
			m[f.key] = x
			switch s := x.(type) {
			case string:
				size += int64(len(s))
			case bodyString:
				size += int64(len(s))
			}
		}
	}
	// APISIX adds the route's ids to a custom entry.
	if c.RouteID != "" {
		m["route_id"] = c.RouteID
		if c.ServiceID != "" {
			m["service_id"] = c.ServiceID
		}
	} else {
		m["route_id"] = "no-matched"
	}
	return item{custom: m, size: size}
}

// entryOverhead is what an entry costs in memory besides its bodies, for
// the byte bound of the buffer.
const entryOverhead = 1 << 10

// reqTap keeps the first maxBodyBytes of the request body as it is read.
// The proxy may still stream a large body from the transport's goroutine
// when the log phase runs, hence the lock.
type reqTap struct {
	rc   io.ReadCloser
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (t *reqTap) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 {
		t.mu.Lock()
		if !t.done && len(t.buf) < maxBodyBytes {
			t.buf = append(t.buf, p[:min(n, maxBodyBytes-len(t.buf))]...)
		}
		t.mu.Unlock()
	}
	return n, err
}

func (t *reqTap) Close() error { return t.rc.Close() }

// take ends the capture and returns what was read; false when nothing was
// (APISIX logs no body it did not read).
func (t *reqTap) take() ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	return t.buf, t.buf != nil
}

// respTap keeps the first maxBodyBytes of the response body on its way to
// the client.
type respTap struct {
	w   io.Writer
	buf []byte
}

func (t *respTap) Write(p []byte) (int, error) {
	if len(t.buf) < maxBodyBytes {
		t.buf = append(t.buf, p[:min(len(p), maxBodyBytes-len(t.buf))]...)
	}
	return t.w.Write(p)
}

func (t *respTap) Close() error { return nil }
