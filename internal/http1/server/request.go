package server

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/stargate-edge/stargate/internal/http1/wire"
	"golang.org/x/net/http/httpguts"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// reqState is everything one request needs, allocated together. A
// connection reuses it for its next request when the handler declared
// the request recycled (Recycle), keeping the header map and the value
// slice's memory too.
type reqState struct {
	req  http.Request
	url  url.URL
	w    response
	body body
	hdr  http.Header // r.Header, kept for the next request when recycled
	vals []string    // the header values' backing array, likewise
}

// maxRecycledHeaders bounds the header map a connection keeps: clearing a
// map costs its capacity, and one request with hundreds of headers should
// not make every later one pay for them.
const maxRecycledHeaders = 32

// reset empties st for the connection's next request, keeping the header
// map, the value array and the lines' array when they are small (vals at
// its full length: readRequest sizes it again).
func (st *reqState) reset() {
	hdr, vals, lines := st.hdr, st.vals, st.w.lines
	*st = reqState{}
	if len(hdr) <= maxRecycledHeaders && cap(vals) <= maxRecycledHeaders && cap(lines) <= maxRecycledHeaders {
		clear(hdr)
		clear(vals[:cap(vals)])
		clear(lines[:cap(lines)])
		st.hdr, st.vals, st.w.lines = hdr, vals, lines[:0]
	}
}

// httpError is a request the server refuses before any handler sees it.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

var errHeaderTooLarge = &httpError{http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"}

// refuse answers a request that could not be read and ends the
// connection. A client that simply went away gets no answer of its own.
func (c *conn) refuse(err error) {
	var he *httpError
	if !errors.As(err, &he) {
		c.srv.Logger.Debug("http1: read request", "remote", c.remote, "err", err)
		// Answers to pipelined requests before this one may still be
		// buffered (they are flushed once the reader runs dry): a client
		// that sent a request and part of another, then ended its side,
		// still gets the answer it is owed.
		_ = c.flush()
		return
	}
	c.srv.Logger.Debug("http1: refused request", "remote", c.remote, "status", he.status, "reason", he.msg)
	body := errorPage(he.status)
	_ = c.rwc.SetWriteDeadline(time.Now().Add(c.srv.WriteTimeout))
	c.bw.WriteString(statusLine(he.status))
	c.bw.WriteString("Content-Type: text/html; charset=utf-8\r\nConnection: close\r\nContent-Length: ")
	c.bw.WriteString(strconv.Itoa(len(body)))
	c.bw.WriteString("\r\n\r\n")
	c.bw.Write(body)
	_ = c.bw.Flush()
}

// readHeaderBlock reads up to and including the empty line into c.hbuf,
// enforcing MaxHeaderBytes.
func (c *conn) readHeaderBlock() ([]byte, error) {
	buf := c.hbuf[:0]
	limit := c.srv.MaxHeaderBytes
	// more: the last piece read was the start of a line longer than the
	// reader's buffer, and this one continues it. Such a piece that is
	// just CRLF (a line of 4096k+2 bytes) ends that line, not the head:
	// taking it for the empty line dropped the fields after it and read
	// the head's real end as the body.
	more := false
	for {
		line, err := c.br.ReadSlice('\n')
		if len(buf)+len(line) > limit {
			return nil, errHeaderTooLarge
		}
		buf = append(buf, line...)
		if err == bufio.ErrBufferFull {
			more = true
			continue
		}
		if err != nil {
			return nil, err
		}
		cont := more
		more = false
		// A line of just CRLF (or LF) ends the block; leading empty lines
		// before the request line are skipped (RFC 9112 section 2.2).
		if !cont && len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			if len(buf) == len(line) {
				buf = buf[:0]
				continue
			}
			break
		}
	}
	if cap(buf) <= 16<<10 {
		c.hbuf = buf
	}
	return buf, nil
}

// readRequest parses one request into st; head is its length when
// bufferedHead found all of it in the reader, else 0.
func (c *conn) readRequest(st *reqState, head int) error {
	var s string // one allocation holds every key and value
	if head > 0 && head <= c.srv.MaxHeaderBytes {
		// The whole head is in the reader (bufferedHead): copy it out
		// once, where readHeaderBlock copies line by line into hbuf and
		// then once more into the string.
		b, _ := c.br.Peek(head)
		s = string(b)
		_, _ = c.br.Discard(head)
	} else {
		block, err := c.readHeaderBlock()
		if err != nil {
			return err
		}
		s = string(block)
	}
	// request line
	eol := strings.IndexByte(s, '\n')
	line := trimCR(s[:eol])
	rest := s[eol+1:]
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 {
		return badRequest("malformed request line")
	}
	method := line[:sp1]
	sp2 := strings.LastIndexByte(line, ' ')
	if sp2 == sp1 {
		return badRequest("malformed request line")
	}
	target, proto := line[sp1+1:sp2], line[sp2+1:]
	if !wire.ValidToken(method) || target == "" || !wire.ValidTarget(target) {
		return badRequest("malformed request line")
	}
	r := &st.req
	// The template carries the connection's context (its local address,
	// for $server_port and the loggers); copying it sets the unexported
	// context field without Request.WithContext's extra allocation.
	*r = *c.tmpl
	switch proto {
	case "HTTP/1.1":
		r.ProtoMajor, r.ProtoMinor = 1, 1
	case "HTTP/1.0":
		r.ProtoMajor, r.ProtoMinor = 1, 0
	default:
		if major, minor, ok := http.ParseHTTPVersion(proto); ok && (major != 1 || minor > 1) {
			return &httpError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version"}
		}
		return badRequest("malformed HTTP version")
	}
	r.Method, r.Proto, r.RequestURI = method, proto, target
	if err := parseTarget(&st.url, method, target); err != nil {
		return err
	}
	r.URL = &st.url

	// headers
	n := strings.Count(rest, "\n") - 1 // the final empty line
	h := st.hdr
	if h == nil {
		h = make(http.Header, n)
		st.hdr = h
	}
	vals := st.vals
	if cap(vals) < n {
		vals = make([]string, n)
		st.vals = vals
	}
	vals = vals[:n]
	lines := st.w.lines[:0]
	if cap(lines) < n {
		lines = make([]wire.Line, 0, n)
	}
	i := 0
	var host string
	hosts := 0
	for len(rest) > 0 {
		eol := strings.IndexByte(rest, '\n')
		line := trimCR(rest[:eol])
		rest = rest[eol+1:]
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return badRequest("obsolete line folding")
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return badRequest("malformed header line")
		}
		key, ok := wire.FieldKey(line[:colon])
		if !ok {
			return badRequest("malformed header name")
		}
		v := wire.TrimOWS(line[colon+1:])
		if !wire.ValidFieldValue(v) {
			return badRequest("invalid header value")
		}
		if key == "Host" {
			hosts++
			host = v
			continue
		}
		// A repeat: h starts empty (reqState.reset) and lines holds every
		// key added so far, in order. Comparing with the first few costs
		// less than the map lookup it replaces (wire.Seen's reasoning,
		// without its 264-byte array to zero on the stack per request).
		repeat := false
		if len(lines) <= 16 {
			for j := range lines {
				if lines[j].Key == key {
					repeat = true
					break
				}
			}
		} else {
			_, repeat = h[key]
		}
		if repeat {
			h[key] = append(h[key], v)
			continue
		}
		vals[i] = v
		h[key] = vals[i : i+1 : i+1]
		i++
		lines = append(lines, wire.Line{Key: key, Text: line, Value: v})
	}
	r.Header = h
	st.w.lines = lines
	if hosts > 1 {
		return badRequest("more than one Host header")
	}
	if r.ProtoMinor == 1 && hosts == 0 {
		return badRequest("missing required Host header")
	}
	if st.url.Host != "" {
		host = st.url.Host // absolute-form wins (RFC 9112 section 3.2.2)
	}
	if !validHost(host) {
		return badRequest("malformed Host header")
	}
	r.Host = host
	r.RemoteAddr = c.remote
	r.TLS = c.tls
	st.w.headLen = len(s) // setupBody keeps it, and the lines, when it resets w
	return c.setupBody(st)
}

// setupBody decides the request's framing (RFC 9112 section 6).
func (c *conn) setupBody(st *reqState) error {
	r := &st.req
	h := r.Header
	te, hasTE := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	if hasTE && hasCL {
		// Smuggling defence: nginx refuses the pair, and so do we.
		return badRequest("both Content-Length and Transfer-Encoding")
	}
	st.body = body{c: c}
	b := &st.body
	switch {
	case hasTE:
		if r.ProtoMinor == 0 {
			return badRequest("Transfer-Encoding in HTTP/1.0")
		}
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return &httpError{http.StatusNotImplemented, "unsupported transfer coding"}
		}
		b.chunked = true
		r.ContentLength = -1
		r.TransferEncoding = chunkedTE
		delete(h, "Transfer-Encoding")
	case hasCL:
		n := int64(-1)
		for _, v := range cl {
			for _, f := range strings.Split(v, ",") {
				m, ok := wire.ParseLength(wire.TrimOWS(f))
				if !ok || (n >= 0 && m != n) {
					return badRequest("invalid Content-Length")
				}
				n = m
			}
		}
		r.ContentLength = n
		b.remaining = n
		if len(cl) > 1 {
			h["Content-Length"] = cl[:1]
		}
	default:
		r.ContentLength = 0
	}
	if r.ContentLength == 0 {
		r.Body = http.NoBody
	} else {
		if v := h["Expect"]; len(v) == 1 && strings.EqualFold(v[0], "100-continue") && r.ProtoMinor == 1 {
			b.wantContinue = true
		}
		r.Body = b
	}
	w := &st.w
	*w = response{c: c, req: r, status: 0, contentLength: -1, clLine: -1, headLen: w.headLen, lines: w.lines}
	w.head = r.Method == http.MethodHead
	w.closeAfter = wantsClose(r)
	r.Close = w.closeAfter
	return nil
}

var chunkedTE = []string{"chunked"}

// wantsClose reports whether the client asked to end the connection after
// this request (HTTP/1.1 "Connection: close", HTTP/1.0 without
// keep-alive).
func wantsClose(r *http.Request) bool {
	conn := r.Header["Connection"]
	if r.ProtoMinor == 0 {
		return !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	}
	return httpguts.HeaderValuesContainsToken(conn, "close")
}

func trimCR(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\r' {
		return s[:n-1]
	}
	return s
}

// parseTarget fills u from the request target. Origin-form paths made of
// plain characters skip net/url (the common case); anything else goes
// through url.ParseRequestURI, like net/http.
func parseTarget(u *url.URL, method, target string) error {
	if target[0] == '/' {
		path, query, hasQ := strings.Cut(target, "?")
		if plainPath(path) {
			u.Path = path
			u.RawQuery = query
			u.ForceQuery = hasQ && query == ""
			return nil
		}
	}
	if target == "*" {
		if method != http.MethodOptions {
			return badRequest("asterisk-form is only for OPTIONS")
		}
		u.Path = "*"
		return nil
	}
	if method == http.MethodConnect {
		return &httpError{http.StatusMethodNotAllowed, "CONNECT is not supported"}
	}
	pu, err := url.ParseRequestURI(target)
	if err != nil {
		return badRequest("malformed request target")
	}
	if pu.Scheme != "" && pu.Scheme != "http" && pu.Scheme != "https" {
		return badRequest("unsupported scheme in request target")
	}
	*u = *pu
	return nil
}

// plainPath reports whether p needs no unescaping: every byte is an
// unreserved or sub-delim character, '/', ':' or '@'.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if !pathChar[p[i]] {
			return false
		}
	}
	return true
}

var pathChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!$&'()*+,;=:@/" {
		t[c] = true
	}
	return t
}()

// validHost accepts reg-name, IPv4 and [IPv6] hosts with an optional
// port; it refuses what could confuse routing or logs.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c == 0x7f || c == '/' || c == '\\' || c == '?' || c == '#' || c == '@' {
			return false
		}
	}
	return true
}
