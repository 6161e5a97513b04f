package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/http/httpguts"

	"github.com/stargate-edge/stargate/internal/http1/evloop"
	"github.com/stargate-edge/stargate/internal/http1/wire"
)

// response is the http.ResponseWriter of one request. It writes the
// status line and headers into the connection's bufio.Writer when the
// header is sent, frames the body with Content-Length (when the handler
// set it) or chunked coding, and leaves flushing to the connection loop
// unless the handler flushes.
type response struct {
	c             *conn
	req           *http.Request
	hdr           http.Header
	status        int
	wroteHeader   bool
	chunked       bool
	noBody        bool // HEAD, 1xx, 204, 304
	head          bool
	closeAfter    bool
	hijacked      bool
	recycle       bool     // the handler keeps nothing of the request (Recycle)
	deferred      bool     // header held back until the length is known
	skipCL        bool     // the handler's Content-Length is not sent (invalid, or 204/1xx)
	clLine        int64    // a Content-Length the server sends itself; -1 none
	implicitEmpty bool     // the handler returned without writing: length 0
	aborted       bool     // the body is incomplete (Abort)
	pend          []byte   // body written while deferred
	raw           []string // field lines passed on as they came (WriteHead)
	rawHead       bool     // WriteHead: raw is the head, the length is set
	rawDate       bool     // a Date is among raw
	headLen       int      // bytes of the request line and header block
	// lines: the request's field lines but Host, in order, a field that
	// came again left out (RequestLines then finds two values).
	lines         []wire.Line
	contentLength int64 // -1 unknown
	written       int64
	err           error
}

var (
	errBodyNotAllowed = http.ErrBodyNotAllowed
	errHijacked       = http.ErrHijacked
	errContentLength  = http.ErrContentLength
)

// Recycle tells the HTTP/1.1 server that nothing refers to the request w
// answers, to its header map, URL or body, or to w once the handler
// returns, so the connection reuses their memory for its next request.
// A handler calls it only when nothing it started keeps any of them (no
// goroutine, log entry, cache or plugin context): the next request on the
// connection overwrites them. It does nothing for other ResponseWriters
// (HTTP/2) or after a hijack.
//
// The handler calls it last, when it has written everything: it sends
// the head now if the handler left it unsent (held back until the length
// was known, or never written), because the head refers to the header map
// the handler set, which a handler that recycles its own memory may be
// about to give back (the proxy's pooled answer maps).
func Recycle(w http.ResponseWriter) {
	if rw, ok := w.(*response); ok && !rw.hijacked {
		rw.recycle = true
		rw.finishHead()
	}
}

// Offload runs f, which may block (call out over the network, wait for
// other requests, hijack the connection), without holding up other
// connections: when w's connection is served by an event loop (Server.Loops)
// f runs in its own goroutine while the loop goes on; otherwise, and for
// other ResponseWriters, f just runs. A handler on a loop server must put
// everything that may block, and everything it does with w meanwhile, in f.
func Offload(w http.ResponseWriter, f func()) {
	if rw, ok := w.(*response); ok {
		evloop.Block(rw.c.rwc, f) // just runs f unless rwc is a loop's
		return
	}
	f()
}

// RequestHeadLength is the size in bytes of the request line and header
// block that w's request arrived with (nginx's $request_length without
// the body), which a logger would otherwise rebuild from the header map;
// ok is false for other ResponseWriters (HTTP/2).
func RequestHeadLength(w http.ResponseWriter) (n int64, ok bool) {
	if rw, isRW := w.(*response); isRW {
		return int64(rw.headLen), true
	}
	return 0, false
}

// RequestLines gives r's field lines as they came (the Host field's
// aside), for a proxy to send upstream as they are instead of writing
// them again from r.Header: ok only while r.Header holds exactly what was
// parsed from them. Any field added, removed or given another value since
// (a plugin's rewrite, setupBody's own changes), a field that came twice,
// a request this server did not read (HTTP/2) or another request than w's
// gives ok false, and the caller sends r.Header. A line's value is known
// for the one parsed by its own string (pointer and length), so a value
// written over in place is seen too. The check costs a map lookup per
// field, a fraction of walking the map and checking every field again
// (BENCHMARKS.md, "Twelfth session").
func RequestLines(w http.ResponseWriter, r *http.Request) (lines []wire.Line, ok bool) {
	rw, isRW := w.(*response)
	if !isRW || rw.req != r || len(r.Header) != len(rw.lines) {
		return nil, false
	}
	for i := range rw.lines {
		l := &rw.lines[i]
		v := r.Header[l.Key]
		if len(v) != 1 || len(v[0]) != len(l.Value) || unsafe.StringData(v[0]) != unsafe.StringData(l.Value) {
			return nil, false
		}
	}
	return rw.lines, true
}

// RemoteAddrPort is remoteAddr (the request's RemoteAddr) parsed, and its
// address part, as netip.ParseAddrPort and net.SplitHostPort would make
// them, worked out once per connection instead of once per request. ok is
// false for other ResponseWriters, for connections that are not TCP, and
// when remoteAddr is not the connection's (a wrapper rewrote it).
func RemoteAddrPort(w http.ResponseWriter, remoteAddr string) (ap netip.AddrPort, ip string, ok bool) {
	if rw, isRW := w.(*response); isRW && rw.c.remoteIP != "" && remoteAddr == rw.c.remote {
		return rw.c.remoteAP, rw.c.remoteIP, true
	}
	return netip.AddrPort{}, "", false
}

// Loop returns the event loop serving w's connection inline (nil when
// there is none, or inside Offload): an upstream connection dialled on it
// is served by the same loop.
func Loop(w http.ResponseWriter) *evloop.Loop {
	if rw, ok := w.(*response); ok {
		if l, inline := evloop.Inline(rw.c.rwc); inline {
			return l
		}
	}
	return nil
}

func (w *response) Header() http.Header {
	if w.hdr == nil {
		w.hdr = make(http.Header, 8)
	}
	return w.hdr
}

// ReplaceHeader makes h the response header (before WriteHeader): the
// proxy hands over its finished header map instead of copying it into a
// new one.
func (w *response) ReplaceHeader(h http.Header) {
	if !w.wroteHeader && !w.hijacked {
		w.hdr = h
	}
}

// WriteHead sends the status line and a head whose field lines are
// passed on as they came: a proxy's upstream answer, parsed and checked by
// the client that read it (client.Slot.RawHead: CRLF-terminated lines with
// valid names and values, without hop-by-hop fields, Content-Length or
// Transfer-Encoding), for a body of length bytes that the handler then
// writes. The server adds its own Content-Length and Connection fields,
// and Date unless date says the lines have one; fields already in
// w.Header() go out too. Building a header map for the answer, looking
// into it and walking it again to write it cost about 2,100 of the
// proxy's 20,700 user-space instructions per request (BENCHMARKS.md,
// "Eleventh session").
//
// It does nothing and reports false when w is not an HTTP/1.1 response of
// this server, its header was sent, or the answer is not one with a body
// of known length (HEAD, 1xx, 204, 304, length < 0): the caller then uses
// Header and WriteHeader.
func WriteHead(w http.ResponseWriter, code int, lines []string, date bool, length int64) bool {
	rw, ok := w.(*response)
	if !ok || rw.hijacked || rw.wroteHeader || rw.head || length < 0 ||
		code < 200 || code > 999 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	rw.raw, rw.rawHead, rw.rawDate = lines, true, date
	rw.contentLength, rw.clLine = length, length
	rw.WriteHeader(code)
	return true
}

// WriteHeader sends the status line and headers. 1xx codes other than
// 101 are sent as interim responses; the final status may follow.
func (w *response) WriteHeader(code int) {
	if w.hijacked || w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	bw := w.c.bw
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		b := append(bw.AvailableBuffer(), statusLine(code)...)
		b, _, _ = w.appendFields(b, w.hdr)
		bw.Write(append(b, "\r\n"...))
		_ = w.c.flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	h := w.hdr // nil when the handler set no field: no map made for it
	w.noBody = w.head || code == http.StatusNoContent || code == http.StatusNotModified || code < 200
	// The handler's map is never changed here: the proxy's log phase may
	// still read it from another goroutine (an async logger). Fields the
	// server must not send are skipped when writing (appendFields), and a
	// length the server computes is its own line (clLine).
	if w.rawHead {
		// WriteHead: the length is known, and the server writes it.
	} else if cl, ok := h["Content-Length"]; ok && len(cl) > 0 {
		if n, ok := wire.ParseLength(cl[0]); ok {
			w.contentLength = n
		} else {
			w.skipCL = true
		}
	} else if w.implicitEmpty {
		w.contentLength, w.clLine = 0, 0
	}
	switch {
	case code == http.StatusNoContent || code < 200:
		w.skipCL, w.clLine = true, -1
	case w.noBody:
	case w.contentLength >= 0:
	case w.req.ProtoMinor == 1:
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0 without a length: the close ends it
	}
	if w.contentLength < 0 && !w.noBody && httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		// It decides the framing below; otherwise writeHead notices a
		// handler's "Connection: close" when it writes the field.
		w.closeAfter = true
	}
	if w.c.srv.shutdown.Load() {
		w.closeAfter = true
	}
	if b, ok := w.req.Body.(*body); ok && !b.sawEOF && (b.chunked || b.remaining > maxDrain) {
		// Too much unread body to skip: say so now, the close follows.
		w.closeAfter = true
	}
	if w.chunked || (w.closeAfter && w.contentLength < 0 && !w.noBody) {
		// Unknown length: hold the header back until the body outgrows
		// one buffer or the handler flushes or returns, so a small body
		// still gets a Content-Length (as net/http does).
		w.deferred = true
		return
	}
	w.writeHead()
}

// writeHead serializes the status line and header fields. The head is
// appended to the write buffer's free space and handed over in one Write
// (in place, no copy); a head larger than the free space grows a new
// slice, which Write then sends as any large write.
func (w *response) writeHead() {
	b := w.c.bw.AvailableBuffer()
	b = append(b, statusLine(w.status)...)
	for _, l := range w.raw {
		b = append(b, l...)
	}
	b, date, conn := w.appendFields(b, w.hdr)
	date = date || w.rawDate
	if conn && !w.closeAfter && httpguts.HeaderValuesContainsToken(w.hdr["Connection"], "close") {
		w.closeAfter = true
	}
	if !date {
		b = append(b, "Date: "...)
		b = append(b, httpDate(w.c.dl.Now(w.c.rwc))...)
		b = append(b, "\r\n"...)
	}
	if w.clLine >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.clLine, 10)
		b = append(b, "\r\n"...)
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if !conn {
		switch {
		case w.closeAfter:
			b = append(b, "Connection: close\r\n"...)
		case w.req.ProtoMinor == 0:
			b = append(b, "Connection: keep-alive\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	w.c.bw.Write(b)
}

// commit sends a deferred header: with the whole body's length when the
// handler is done (final), chunked (or close-delimited) otherwise.
func (w *response) commit(final bool) {
	if !w.deferred {
		return
	}
	w.deferred = false
	if final {
		w.chunked = false
		if w.req.ProtoMinor == 0 && !w.hasCloseHeader() {
			w.closeAfter = wantsClose(w.req)
		}
		w.contentLength = int64(len(w.pend))
		w.clLine = w.contentLength
	}
	w.writeHead()
	if len(w.pend) > 0 {
		p := w.pend
		w.pend = nil
		_, _ = w.write(p)
	}
}

func (w *response) hasCloseHeader() bool {
	return httpguts.HeaderValuesContainsToken(w.hdr["Connection"], "close")
}

// maxPending is the body a deferred header waits for.
const maxPending = 4 << 10

// appendFields appends header fields; a CR or LF inside a value (from a
// plugin's configured header, say) becomes a space so it cannot split the
// response.
//
// It reports whether h has a Date and a Connection field (the header
// writer adds its own otherwise), seen on the way instead of looked up.
func (w *response) appendFields(b []byte, h http.Header) (_ []byte, date, conn bool) {
	for k, vs := range h {
		if !wire.ValidName(k) || k == "Transfer-Encoding" ||
			k == "Content-Length" && (w.skipCL || w.clLine >= 0) {
			continue // the server frames the body itself
		}
		switch k {
		case "Date":
			date = true
		case "Connection":
			conn = true
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			// A valid value (the usual: one checked when it was parsed)
			// has no CR or LF; only a value with controls is looked at.
			if !wire.ValidFieldValue(v) && strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b, date, conn
}

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, errHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.noBody {
		if w.head {
			return len(p), nil
		}
		return 0, errBodyNotAllowed
	}
	if w.deferred {
		if len(w.pend)+len(p) <= maxPending {
			w.pend = append(w.pend, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		p = p[:w.contentLength-w.written]
		n, _ := w.write(p)
		w.err = errContentLength
		return n, errContentLength
	}
	return w.write(p)
}

func (w *response) write(p []byte) (int, error) {
	bw := w.c.bw
	if w.chunked {
		var hex [16]byte
		bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	if len(p) > bw.Available() && bw.Buffered() > 0 {
		w.c.dl.Write(w.c.rwc, w.c.srv.WriteTimeout)
	}
	n, err := bw.Write(p)
	w.written += int64(n)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.err = err
	}
	return n, err
}

// WriteString skips the []byte conversion on a plain length-framed body.
func (w *response) WriteString(s string) (int, error) {
	if !w.wroteHeader && !w.hijacked {
		w.WriteHeader(http.StatusOK)
	}
	if w.wroteHeader && !w.deferred && !w.chunked && !w.noBody && !w.hijacked && w.err == nil &&
		w.contentLength >= 0 && w.written+int64(len(s)) <= w.contentLength {
		n, err := w.c.bw.WriteString(s)
		w.written += int64(n)
		if err != nil {
			w.err = err
		}
		return n, err
	}
	return w.Write([]byte(s))
}

// ReadFrom copies a body. A file (a disk-cache hit) on a length-framed
// response goes out with sendfile after the headers; other readers are
// read straight into the connection's write buffer.
func (w *response) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.hijacked {
		return 0, errHijacked
	}
	if w.noBody || w.chunked || w.deferred || w.err != nil {
		return io.Copy(writerOnly{w}, r)
	}
	if IsFile(r) && w.contentLength >= 0 {
		if err := w.c.flush(); err != nil {
			w.err = err
			return 0, err
		}
		_ = w.c.rwc.SetWriteDeadline(time.Time{}) // a big file may take long
		w.c.dl.Forget()
		rf, ok := w.c.rwc.(io.ReaderFrom)
		if !ok {
			rf = writerOnlyRF{w.c.rwc}
		}
		// The connection's ReadFrom uses sendfile for a file or ONE
		// LimitedReader around one (the disk cache's body): do not nest.
		remaining := w.contentLength - w.written
		src := &io.LimitedReader{R: r, N: remaining}
		lr, isLR := r.(*io.LimitedReader)
		if isLR {
			src = &io.LimitedReader{R: lr.R, N: min(lr.N, remaining)}
		}
		n, err := rf.ReadFrom(src)
		if isLR {
			lr.N -= n
		}
		w.written += n
		if err != nil {
			w.err = err
		}
		return n, err
	}
	var total int64
	bw := w.c.bw
	for {
		if bw.Available() == 0 {
			if err := w.c.flush(); err != nil {
				w.err = err
				return total, err
			}
		}
		buf := bw.AvailableBuffer()
		buf = buf[:cap(buf)]
		// Read r itself to its end (not through a LimitReader) so that a
		// reader acting on EOF — the cache committing an object — sees it.
		n, err := r.Read(buf)
		if n > 0 {
			if w.contentLength >= 0 && w.written+int64(n) > w.contentLength {
				n = int(w.contentLength - w.written)
				err = errContentLength
				w.err = err
			}
			bw.Write(buf[:n]) // no copy: buf is bw's own free space
			total += int64(n)
			w.written += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

type writerOnly struct{ io.Writer }

// writerOnlyRF copies through a buffer for connections without ReadFrom.
type writerOnlyRF struct{ w io.Writer }

func (o writerOnlyRF) ReadFrom(r io.Reader) (int64, error) { return io.Copy(writerOnly{o.w}, r) }

// IsFile reports whether r reads a file, directly or through a
// LimitedReader, so the kernel can send it (sendfile).
func IsFile(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	_, ok := r.(*os.File)
	return ok
}

// Flush sends everything written so far.
func (w *response) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.hijacked {
		return
	}
	w.commit(false)
	if err := w.c.flush(); err != nil && w.err == nil {
		w.err = err
	}
}

// FlushError is Flush reporting the error (http.ResponseController).
func (w *response) FlushError() error {
	w.Flush()
	return w.err
}

// Hijack hands the connection to the handler (WebSocket upgrades).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, errHijacked
	}
	if w.wroteHeader {
		return nil, nil, errors.New("http1: hijack after the response header was sent")
	}
	c := w.c
	// Flushed first: when that fails the connection is not handed over,
	// and the server closes it as it closes any broken one (it stayed
	// open, owned by nobody).
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	// A loop connection leaves its loop's coroutine for good: whoever
	// holds it now may block on it from any goroutine.
	evloop.Detach(c.rwc)
	_ = c.rwc.SetDeadline(time.Time{})
	c.srv.changed(http.ConnState(c.state.Swap(int32(http.StateHijacked))), http.StateHijacked)
	c.srv.forget(c)
	// The handler owns the buffers now; they do not go back to the pools.
	rw := bufio.NewReadWriter(c.br, bufio.NewWriterSize(c.rwc, outbufSize))
	c.bw.Reset(nil)
	outbufPool.Put(c.bw)
	c.br, c.bw = nil, nil
	return c.rwc, rw, nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.dl.Forget()
	return w.c.rwc.SetReadDeadline(t)
}

func (w *response) SetWriteDeadline(t time.Time) error {
	w.c.dl.Forget()
	return w.c.rwc.SetWriteDeadline(t)
}

// Abort tells the HTTP/1.1 server that the response w carries is
// incomplete: its source (the upstream) failed mid-body. The server then
// sends what it has without ending a chunked body and without a
// Content-Length computed from the part it got, and closes the
// connection, so the client (and any cache in front) sees a truncated
// response rather than a complete one; nginx does the same. It reports
// false for other ResponseWriters (HTTP/2), whose handler panics with
// http.ErrAbortHandler instead to have the stream reset.
func Abort(w http.ResponseWriter) bool {
	r, ok := w.(*response)
	if !ok || r.hijacked {
		return false
	}
	r.aborted = true
	return true
}

// finishHead sends the head if the handler left it unsent: as it is for
// an answer cut short (Abort), else with the length of what was written.
// A second call does nothing.
func (w *response) finishHead() {
	if w.aborted {
		w.commit(false) // framed as unfinished: chunked, or closed at the end
		return
	}
	if !w.wroteHeader {
		w.implicitEmpty = true // nothing written: Content-Length: 0
		w.WriteHeader(http.StatusOK)
	}
	w.commit(true)
}

// finish completes the response after the handler returned and reports
// whether the connection may carry another request.
func (w *response) finish() bool {
	w.finishHead()
	if w.aborted {
		return false
	}
	if w.chunked && w.err == nil {
		_, w.err = w.c.bw.WriteString("0\r\n\r\n")
	}
	if w.err != nil || w.closeAfter {
		return false
	}
	if !w.noBody && w.contentLength >= 0 && w.written < w.contentLength {
		return false // short body: the client can only tell by the close
	}
	if b, ok := w.req.Body.(*body); ok && !b.drain() {
		return false
	}
	return true
}

// statusLines holds prebuilt status lines for the codes in use, indexed
// by code (an array: a map lookup per response cost more).
var statusLines = func() (a [600]string) {
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			a[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
	return a
}()

func statusLine(code int) string {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " \r\n"
}

// dateCache is the Date header value, rebuilt at most once a second.
type dateValue struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[dateValue]

func httpDate(now time.Time) string {
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &dateValue{sec: sec, s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

// errorPage is the nginx-style page the server answers refused requests
// with, matching what APISIX users see from nginx.
func errorPage(status int) []byte {
	title := strconv.Itoa(status) + " " + http.StatusText(status)
	return []byte("<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n" +
		"<center><h1>" + title + "</h1></center>\r\n<hr><center>stargate</center>\r\n</body>\r\n</html>\r\n")
}
