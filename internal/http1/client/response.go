package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/http1/wire"
)

var (
	errHeaderTooLarge = errors.New("response header exceeds 64 KB")
	errStatusLine     = errors.New("malformed status line")
	errHeaderLine     = errors.New("malformed header line")
	errObsFold        = errors.New("obsolete line folding in header")
	errTooManyInterim = errors.New("too many 1xx responses")
	errSwitching      = errors.New("unexpected 101 Switching Protocols")
	errBadCL          = errors.New("invalid or conflicting Content-Length")
	errBadTE          = errors.New("unsupported Transfer-Encoding")
)

// respBody holds a response and everything it points to that the client
// allocates, so that one allocation serves them all: the Response, its
// body reader, the TransferEncoding slice and (for up to len(vals) header
// lines) the backing array of the header values.
type respBody struct {
	resp http.Response
	body body
	te   [1]string
	vals [16]string
	// hdr is the header map of a Slot's previous response, reused.
	hdr http.Header
	// raw is the head of an answer parsed for Options.RawHead.
	raw rawHead
}

// rawHead is an answer parsed without its Header map (Options.RawHead):
// its fields in order, for Slot.Header to build the map from if it is
// needed after all, and the runs of its field lines that can go out to a
// proxy's client as they came (Slot.RawHead).
type rawHead struct {
	on   bool // parsed for RawHead; Header is built on demand
	ok   bool // lines hold every field to pass on, as they came
	date bool // a Date field is among them
	// dropCL: the Content-Length beside a Transfer-Encoding is not part
	// of the Header (as net/http leaves it out).
	dropCL bool
	// keys and vals of the fields, n of them (the Slot's arrays, or one
	// allocation for more), and the runs of lines, at most cap(lines).
	n          int
	keys, vals []string
	lines      []string
}

// Slot is room for one response, reused by the requests that pass it in
// Options (one allocation less per exchange, and a header map kept).
// The arrays of a RawHead parse are outside respBody, which is zeroed
// for every response: they are only read as far as it wrote them.
type Slot struct {
	rb    respBody
	keys  [16]string
	lines [4]string
}

// RawHead returns the field lines of the response last parsed into s,
// when it was parsed for Options.RawHead: CRLF-terminated, as they came,
// checked (valid names and values, no obsolete folding), without the
// hop-by-hop fields, Content-Length and Transfer-Encoding. date reports a
// Date among them. ok is false when they cannot go out as they came (a
// line ending in a bare LF, a Connection field naming other fields, more
// than a few runs of lines between the fields left out), or once Header
// was called: the caller then uses the Header.
func (s *Slot) RawHead(resp *http.Response) (lines []string, date, ok bool) {
	rh := &s.rb.raw
	if resp != &s.rb.resp || !rh.on || !rh.ok || resp.Header != nil {
		return nil, false, false
	}
	return rh.lines, rh.date, true
}

// Get is the first value of the field key (canonical) of the response
// last parsed into s for Options.RawHead, without building its Header;
// Has reports whether there is one (its value may be empty).
func (s *Slot) Get(key string) string {
	if i := s.index(key); i >= 0 {
		return s.rb.raw.vals[i]
	}
	return ""
}

// Has: see Get.
func (s *Slot) Has(key string) bool { return s.index(key) >= 0 }

func (s *Slot) index(key string) int {
	rh := &s.rb.raw
	for i, k := range rh.keys[:rh.n] {
		if k == key {
			return i
		}
	}
	return -1
}

// Header returns resp's Header, building it first when resp was parsed
// into s for Options.RawHead: the same map the parse makes otherwise.
func (s *Slot) Header(resp *http.Response) http.Header {
	rb := &s.rb
	if resp != &rb.resp || resp.Header != nil || !rb.raw.on {
		return resp.Header
	}
	rb.buildHeader()
	return resp.Header
}

// buildHeader makes the Header of a RawHead parse from its fields.
func (rb *respBody) buildHeader() {
	h := rb.hdr
	if h == nil {
		h = make(http.Header, rb.raw.n)
		rb.hdr = h
	}
	keys, vals := rb.raw.keys[:rb.raw.n], rb.raw.vals
	var seen wire.Seen
	for i, key := range keys {
		if rb.raw.dropCL && key == "Content-Length" {
			continue
		}
		if seen.Repeat(h, key) {
			h[key] = append(h[key], vals[i])
			continue
		}
		h[key] = vals[i : i+1 : i+1]
	}
	rb.resp.Header = h
}

// maxSlotHeaders bounds the header map a Slot keeps: clearing a map costs
// its capacity, so a bigger one is dropped.
const maxSlotHeaders = 40

// framing collects the headers that decide how the body is delimited and
// whether the connection can be reused.
type framing struct {
	cl        int64 // -1: no Content-Length
	clBad     bool
	te        bool // Transfer-Encoding present
	codings   int
	chunked   int // how many codings were "chunked"
	close     bool
	keepAlive bool
	named     bool // Connection names a field (not close, keep-alive, upgrade, te)
}

// readResponse reads the response to the request just written on c and
// returns it with a body reader that owns c. On error c is closed. got
// reports that response bytes had arrived. rt bounds the wait for each
// header block, bodyRT each body read. complete is false when the request
// was not fully sent, and c must then not be reused.
func (t *Transport) readResponse(c *conn, req *http.Request, ri *reqInfo, rt, bodyRT time.Duration, complete bool, slot *Slot, dropHop, raw bool) (*http.Response, bool, error) {
	br := c.br
	got := false
	fail := func(err error) (*http.Response, bool, error) {
		err = c.ctxErr(err)
		t.putConn(c, false)
		return nil, got, fmt.Errorf("http1 client: read response from %s: %w", c.addr, err)
	}
	var s string
	var code int
	for interim := 0; ; interim++ {
		c.dl.Read(c.nc, rt)
		// After setting our deadline: a cancellation that set its past
		// deadline before ours is seen here instead of being overwritten.
		if c.abort.Load() {
			return fail(errAborted)
		}
		blk, inBuf, g, err := c.readBlock()
		got = got || g
		if err != nil {
			return fail(err)
		}
		line := blk[:bytes.IndexByte(blk, '\n')]
		code, _ = parseStatusLine(line)
		if code == 0 {
			return fail(errStatusLine)
		}
		if code >= 200 {
			s = string(blk) // the one copy: header values are slices of s
			if inBuf {
				br.Discard(len(blk))
			}
			break
		}
		if inBuf {
			br.Discard(len(blk))
		}
		if code == 101 {
			return fail(errSwitching)
		}
		if interim >= maxInterim {
			return fail(errTooManyInterim)
		}
	}

	var rb *respBody
	if slot != nil {
		rb = &slot.rb
		hdr := rb.hdr
		if len(hdr) > maxSlotHeaders {
			hdr = nil // clearing a map costs its capacity
		} else {
			clear(hdr)
		}
		*rb = respBody{hdr: hdr}
	} else {
		rb = new(respBody)
	}
	resp := &rb.resp
	f := framing{cl: -1}
	raw = raw && slot != nil && dropHop
	if raw {
		rb.raw.keys, rb.raw.lines = slot.keys[:], slot.lines[:0]
	}
	if err := rb.parse(s, &f, dropHop, raw); err != nil {
		return fail(err)
	}
	resp.StatusCode = code
	resp.Request = req

	keep := complete && !ri.closeConn && t.MaxIdlePerHost > 0
	if resp.ProtoMinor == 0 {
		keep = keep && f.keepAlive && !f.close
	} else {
		keep = keep && !f.close
	}
	resp.Close = f.close || resp.ProtoMinor == 0 && !f.keepAlive

	if req.Method == http.MethodHead || code == 204 || code == 304 {
		resp.ContentLength = 0
		if req.Method == http.MethodHead {
			resp.ContentLength = f.cl // -1 when absent
			if f.clBad {
				resp.ContentLength = -1
			}
		}
		resp.Body = http.NoBody
		t.putConn(c, keep)
		return resp, got, nil
	}

	b := &rb.body
	switch {
	case f.te:
		if f.codings != 1 || f.chunked != 1 {
			// Decoding gzip etc. is not this client's job, and passing
			// such a body on without its framing would corrupt it.
			return fail(errBadTE)
		}
		if resp.ProtoMinor == 0 {
			// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty
			// framing. Parsers disagree on it (net/http reads to EOF), so
			// refuse rather than pick one reading.
			return fail(errBadTE)
		}
		if f.cl >= 0 || f.clBad {
			// Both framings at once: possibly an attempt at smuggling.
			// Chunked wins (RFC 9112 §6.3), and the connection must not
			// be reused.
			keep = false
			resp.Close = true
		}
		b.mode = modeChunked
		b.state = stSize
		resp.ContentLength = -1
		rb.te[0] = "chunked"
		resp.TransferEncoding = rb.te[:1:1]
		// As net/http: the framing is in TransferEncoding, and a
		// Content-Length beside it is not the body's length.
		delete(resp.Header, "Transfer-Encoding")
		if f.cl >= 0 || f.clBad {
			delete(resp.Header, "Content-Length")
			rb.raw.dropCL = true
		}
	case f.clBad:
		return fail(errBadCL)
	case f.cl == 0:
		resp.ContentLength = 0
		resp.Body = http.NoBody
		t.putConn(c, keep)
		return resp, got, nil
	case f.cl > 0:
		b.mode = modeCL
		b.remain = f.cl
		resp.ContentLength = f.cl
	default:
		// Delimited by the upstream closing the connection.
		b.mode = modeEOF
		keep = false
		resp.Close = true
		resp.ContentLength = -1
	}
	b.c = c
	b.t = t
	b.ctx = c.ctx
	b.addr = c.addr
	b.rt = bodyRT
	b.keep = keep
	resp.Body = b
	return resp, got, nil
}

// readBlock reads one header block, status line through the empty line.
// The common case is a block that fits in the 4 KB read buffer: it is
// found there and returned in place (inBuf: the caller must Discard it
// after copying), so the block is copied exactly once, into the string the
// header values are sliced from. got reports that any byte arrived.
func (c *conn) readBlock() (blk []byte, inBuf, got bool, err error) {
	br := c.br
	scan := 0
	for {
		n := br.Buffered()
		if n > 0 {
			got = true
			buf, _ := br.Peek(n)
			if end := blockEnd(buf, &scan); end > 0 {
				return buf[:end], true, true, nil
			}
			if n == br.Size() {
				break
			}
		}
		if _, err := br.Peek(n + 1); err != nil {
			got = got || br.Buffered() > 0
			if got && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, got, err
		}
	}
	blk, err = c.readBlockSlow()
	return blk, false, true, err
}

// blockEnd returns the length of the header block at the start of b (up to
// and including the empty line), or 0 if b does not hold all of it yet.
// *scan remembers where to resume so that a block arriving in pieces is
// not rescanned from the start.
func blockEnd(b []byte, scan *int) int {
	i := *scan
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			*scan = len(b)
			return 0
		}
		i += j
		if i+1 >= len(b) {
			*scan = i
			return 0
		}
		switch b[i+1] {
		case '\n':
			return i + 2
		case '\r':
			if i+2 >= len(b) {
				*scan = i
				return 0
			}
			if b[i+2] == '\n' {
				return i + 3
			}
		}
		i++
	}
}

// readBlockSlow reads a header block larger than the read buffer line by
// line into a new slice, up to MaxHeaderBytes.
func (c *conn) readBlockSlow() ([]byte, error) {
	blk := make([]byte, 0, 4*bufSize)
	start := 0
	for {
		line, err := c.br.ReadSlice('\n')
		if len(blk)+len(line) > MaxHeaderBytes {
			return nil, errHeaderTooLarge
		}
		blk = append(blk, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if cur := blk[start:]; len(cur) == 1 || len(cur) == 2 && cur[0] == '\r' {
			return blk, nil
		}
		start = len(blk)
	}
}

// parseStatusLine parses "HTTP/1.x NNN[ reason]" (line may end in \r) and
// returns the status code and minor version; code 0 means malformed.
func parseStatusLine[S string | []byte](line S) (code, minor int) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) < 12 || line[0] != 'H' || line[1] != 'T' || line[2] != 'T' || line[3] != 'P' ||
		line[4] != '/' || line[5] != '1' || line[6] != '.' || !isDigit(line[7]) || line[8] != ' ' ||
		!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || line[9] == '0' {
		return 0, 0
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, 0
		}
		for i := 13; i < len(line); i++ {
			if !wire.FieldByte(line[i]) {
				return 0, 0
			}
		}
	}
	code = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	return code, int(line[7] - '0')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parse parses the header block s into rb.resp (status line fields and
// Header) and f. Header keys are canonicalised without allocating when
// they already are canonical or are common names; values are substrings
// of s, and each key's first value lives in one shared backing array,
// sliced with capacity 1 so that a caller appending to one key cannot
// overwrite its neighbour's value. dropHop leaves the hop-by-hop fields
// out of Header, and those the Connection field names (a proxy's
// answer; the framing still sees them).
//
// raw (Options.RawHead, with dropHop) builds no Header: it keeps the
// fields in order (rb.raw, for Slot.Header) and the runs of lines of s
// that a proxy can pass on as they are (Slot.RawHead).
//
// A common name is known without a loop over its bytes, and a repeated
// one is found among the names this block added rather than by a map
// lookup (the map starts empty): wire.FieldKey, wire.Seen.
func (rb *respBody) parse(s string, f *framing, dropHop, raw bool) error {
	resp := &rb.resp
	i := strings.IndexByte(s, '\n')
	line := s[:i]
	if line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	_, minor := parseStatusLine(line)
	resp.Proto = line[:8]
	resp.ProtoMajor, resp.ProtoMinor = 1, minor
	if minor > 1 {
		resp.ProtoMinor = 1 // HTTP/1.x, x > 1: treat as 1.1 (RFC 9110 §2.5)
	}
	if len(line) > 13 {
		resp.Status = line[9:]
	} else {
		resp.Status = line[9:12]
	}

	rest := s[i+1:]
	n := strings.Count(rest, "\n") - 1
	var vals, keys []string
	rh := &rb.raw
	var h http.Header
	switch {
	case raw && n <= len(rb.vals) && n <= len(rh.keys):
		keys, vals = rh.keys[:n], rb.vals[:n]
	case raw:
		more := make([]string, 2*n)
		keys, vals = more[:n], more[n:]
	case n <= len(rb.vals):
		vals = rb.vals[:n]
	default:
		vals = make([]string, n)
	}
	if raw {
		rh.on, rh.ok = true, true
		rh.keys, rh.vals = keys, vals
	} else {
		h = rb.hdr
		if h == nil {
			h = make(http.Header, n)
			rb.hdr = h
		}
		resp.Header = h
	}
	var seen wire.Seen
	var connBuf [2]string
	connection := connBuf[:0] // Connection values, when dropped
	at := i + 1               // where line starts in s
	run := -1                 // where the run of lines to pass on starts (raw)
	vi := 0
	for {
		j := strings.IndexByte(rest, '\n')
		start := at
		line, rest = rest[:j], rest[j+1:]
		at += j + 1
		crlf := false
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line, crlf = line[:k-1], true
		}
		if line == "" {
			if raw {
				rh.cut(s, run, start)
			}
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// A gateway may reject obs-fold (RFC 9112 §5.2); accepting
			// it would be one more way for two parsers to disagree.
			return errObsFold
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return errHeaderLine
		}
		key, ok := wire.FieldKey(line[:colon])
		if !ok {
			return errHeaderLine // includes whitespace before the colon
		}
		v := wire.TrimOWS(line[colon+1:])
		if !wire.ValidFieldValue(v) {
			return errHeaderLine
		}
		switch key {
		case "Content-Length":
			f.addCL(v)
		case "Transfer-Encoding":
			f.addTE(v)
		case "Connection":
			f.addConnection(v)
			if dropHop {
				connection = append(connection, v)
			}
		case "Date":
			rh.date = true // read only after a RawHead parse (rh.on)
		}
		if dropHop && wire.HopByHop(key) {
			if raw {
				rh.cut(s, run, start)
				run = -1
			}
			continue
		}
		if raw {
			keys[vi], vals[vi] = key, v
			vi++
			switch {
			case key == "Content-Length":
				// The server frames the body and writes its own.
				rh.cut(s, run, start)
				run = -1
			case !crlf:
				rh.ok = false // a bare LF must not go out as it came
			case run < 0:
				run = start
			}
			continue
		}
		if seen.Repeat(h, key) {
			h[key] = append(h[key], v)
			continue
		}
		vals[vi] = v
		h[key] = vals[vi : vi+1 : vi+1]
		vi++
	}
	if raw {
		rh.n = vi
		if f.named {
			// Rare: build the Header now, without the named fields.
			rh.ok = false
			rb.buildHeader()
			wire.DeleteNamed(resp.Header, connection)
		}
		return nil
	}
	if f.named {
		wire.DeleteNamed(h, connection)
	}
	return nil
}

// cut ends the run of lines to pass on that started at run (none: -1)
// before end; past len(lines) runs the head is not passed on as it came.
func (rh *rawHead) cut(s string, run, end int) {
	if run < 0 {
		return
	}
	if len(rh.lines) == cap(rh.lines) {
		rh.ok = false
		return
	}
	rh.lines = append(rh.lines, s[run:end])
}

// addCL records a Content-Length value. A list of identical values (from
// repeated lines or "5, 5") is accepted per RFC 9110 §8.6; anything else
// is invalid.
func (f *framing) addCL(v string) {
	if n, ok := wire.ParseLength(v); ok && (f.cl < 0 || f.cl == n) {
		f.cl = n // the usual single value
		return
	}
	for {
		elem, more, found := strings.Cut(v, ",")
		n, ok := wire.ParseLength(wire.TrimOWS(elem))
		if !ok {
			f.clBad = true
			return
		}
		if f.cl >= 0 && f.cl != n {
			f.clBad = true
			return
		}
		f.cl = n
		if !found {
			return
		}
		v = more
	}
}

func (f *framing) addTE(v string) {
	f.te = true
	for v != "" {
		var elem string
		elem, v, _ = strings.Cut(v, ",")
		elem = wire.TrimOWS(elem)
		if elem == "" {
			continue
		}
		f.codings++
		if strings.EqualFold(elem, "chunked") {
			f.chunked++
		}
	}
}

func (f *framing) addConnection(v string) {
	switch v { // the usual values, spelled as usual
	case "keep-alive", "Keep-Alive":
		f.keepAlive = true
		return
	case "close":
		f.close = true
		return
	}
	for v != "" {
		var elem string
		elem, v, _ = strings.Cut(v, ",")
		elem = wire.TrimOWS(elem)
		if strings.EqualFold(elem, "close") {
			f.close = true
		} else if strings.EqualFold(elem, "keep-alive") {
			f.keepAlive = true
		} else if elem != "" && !wire.UsualConnectionToken(elem) {
			f.named = true
		}
	}
}
