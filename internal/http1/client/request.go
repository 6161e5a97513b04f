package client

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/stargate-edge/stargate/internal/http1/wire"
	"golang.org/x/net/http/httpguts"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// reqInfo is what Do works out about a request before it takes a
// connection: everything is validated up front so that a bad header is an
// error before a single byte is sent, never a malformed request.
type reqInfo struct {
	method    string
	path      string // escaped path or opaque part of the request target
	host      string // Host header value
	cl        int64  // body length; -1 = unknown (chunked)
	hasBody   bool
	writeCL   bool // send Content-Length (cl >= 0)
	chunked   bool
	closeConn bool // request asked for Connection: close
	// From Options: hop-by-hop fields are not sent, and fields are sent
	// after the Header's, replacing its fields of the same names.
	dropHop bool
	fields  []string
	// fieldInitial marks the first bytes of the fields' names, a bit
	// per byte value: 32 bytes to zero per request where a [256]bool
	// took 256, on a stack frame the cache has usually lost.
	fieldInitial [4]uint64
	// lines, from Options.Lines, are sent in place of the Header's fields.
	lines []wire.Line
}

// skip reports a Header field that the request does not send as it is:
// a hop-by-hop one when they are dropped, or one that fields replace.
func (ri *reqInfo) skip(k string) bool {
	if ri.dropHop && wire.HopByHop(k) {
		return true
	}
	if len(ri.fields) == 0 || k == "" || ri.fieldInitial[k[0]>>6]&(1<<(k[0]&63)) == 0 {
		return false // no field name starts so: the usual, for most keys
	}
	for i := 0; i < len(ri.fields); i += 2 {
		if ri.fields[i] == k {
			return true
		}
	}
	return false
}

// Header keys whose lines the client writes itself.
const (
	hdrOther = iota
	hdrHost
	hdrConnection
	hdrContentLength
	hdrTransferEncoding
)

// ownHeader classifies the keys of req.Header that are not copied: Host
// comes from req.Host/URL.Host, and the framing headers are the client's,
// since a caller's Content-Length or Transfer-Encoding that disagrees with
// how the body is actually sent would desynchronise the connection.
func ownHeader(k string) int {
	switch len(k) {
	case 4:
		if strings.EqualFold(k, "Host") {
			return hdrHost
		}
	case 10:
		if strings.EqualFold(k, "Connection") {
			return hdrConnection
		}
	case 14:
		if strings.EqualFold(k, "Content-Length") {
			return hdrContentLength
		}
	case 17:
		if strings.EqualFold(k, "Transfer-Encoding") {
			return hdrTransferEncoding
		}
	}
	return hdrOther
}

// prepare validates req and fills ri; it returns the address to dial.
func (ri *reqInfo) prepare(req *http.Request, hasBody bool, o *Options) (string, error) {
	u := req.URL
	if u == nil {
		return "", errors.New("http1 client: nil Request.URL")
	}
	if u.Scheme != "http" && !strings.EqualFold(u.Scheme, "http") {
		return "", fmt.Errorf("http1 client: unsupported protocol scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("http1 client: no Host in request URL")
	}
	addr := hostPort(u.Host)

	ri.method = req.Method
	if ri.method == "" {
		ri.method = http.MethodGet
	}
	if !wire.ValidToken(ri.method) {
		return "", fmt.Errorf("http1 client: invalid method %q", ri.method)
	}
	if ri.method == http.MethodConnect {
		// A 2xx to CONNECT turns the connection into a tunnel, which
		// this client does not provide.
		return "", errors.New("http1 client: CONNECT is not supported")
	}
	if u.Opaque != "" {
		ri.path = u.Opaque
		if strings.HasPrefix(ri.path, "//") {
			ri.path = u.Scheme + ":" + ri.path
		}
	} else {
		ri.path = u.EscapedPath() // no allocation unless escaping is needed
		if ri.path == "" {
			ri.path = "/"
		}
	}
	if !wire.ValidTarget(ri.path) || !wire.ValidTarget(u.RawQuery) {
		return "", fmt.Errorf("http1 client: invalid request target %q", u.String())
	}
	ri.host = req.Host
	if ri.host == "" {
		ri.host = u.Host
	}
	if !wire.ValidTarget(ri.host) {
		return "", fmt.Errorf("http1 client: invalid Host %q", ri.host)
	}

	ri.hasBody = hasBody
	ri.chunked, ri.writeCL = false, false
	switch {
	case hasBody && req.ContentLength > 0:
		ri.cl, ri.writeCL = req.ContentLength, true
	case hasBody:
		// 0 with a body means unknown, as in net/http.
		ri.cl, ri.chunked = -1, true
	case req.ContentLength > 0:
		return "", fmt.Errorf("http1 client: ContentLength=%d with nil Body", req.ContentLength)
	default:
		ri.cl = 0
		switch ri.method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			ri.writeCL = true // servers may wait for, or reject, a bodyless POST otherwise
		}
	}

	ri.closeConn = req.Close
	ri.dropHop = o.DropHopByHop
	if len(o.Fields)%2 != 0 {
		return "", errors.New("http1 client: Options.Fields holds an odd number of strings")
	}
	ri.fields = o.Fields
	for i := 0; i < len(ri.fields); i += 2 {
		if ri.fields[i] != "" {
			c := ri.fields[i][0]
			ri.fieldInitial[c>>6] |= 1 << (c & 63)
		}
		if ownHeader(ri.fields[i]) != hdrOther || !wire.ValidName(ri.fields[i]) || !wire.ValidFieldValue(ri.fields[i+1]) {
			return "", fmt.Errorf("http1 client: invalid field %q", ri.fields[i])
		}
	}
	if ri.lines = o.Lines; ri.lines != nil {
		// Checked as they were parsed (Options.Lines): only a
		// Connection field the request passes on matters here.
		for i := range ri.lines {
			if l := &ri.lines[i]; !ri.dropHop && ownHeader(l.Key) == hdrConnection &&
				httpguts.HeaderValuesContainsToken([]string{l.Value}, "close") {
				ri.closeConn = true
			}
		}
		return addr, nil
	}
	for k, vv := range req.Header {
		if len(vv) == 0 {
			continue
		}
		switch ownHeader(k) {
		case hdrOther:
		case hdrConnection:
			// A dropped Connection field is the caller's client's, not
			// this request's.
			if !ri.dropHop && httpguts.HeaderValuesContainsToken(vv, "close") {
				ri.closeConn = true
			}
			continue
		default:
			continue
		}
		if ri.skip(k) {
			continue
		}
		if !wire.ValidName(k) {
			return "", fmt.Errorf("http1 client: invalid header name %q", k)
		}
		for _, v := range vv {
			if !wire.ValidFieldValue(v) {
				return "", fmt.Errorf("http1 client: invalid value for header %q", k)
			}
		}
	}
	return addr, nil
}

// writeRequest writes the request head and body through c.bw and flushes
// once: head and a small body leave in one write. bodyErr is a failure to
// read body, werr a failure to write to the connection. body is closed.
func (c *conn) writeRequest(req *http.Request, ri *reqInfo, body io.ReadCloser) (bodyErr, werr error) {
	// The head is appended to the buffer's free space and handed over in
	// one Write (bufio copies it onto itself); a head larger than the free
	// space grows a new slice, which Write sends as any large write. Per
	// field this is four appends where it was four WriteString calls.
	bw := c.bw
	b := bw.AvailableBuffer()
	b = append(b, ri.method...)
	b = append(b, ' ')
	b = append(b, ri.path...)
	if req.URL.ForceQuery || req.URL.RawQuery != "" {
		b = append(b, '?')
		b = append(b, req.URL.RawQuery...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, ri.host...)
	b = append(b, "\r\n"...)
	for i := range ri.lines {
		if l := &ri.lines[i]; ownHeader(l.Key) == hdrOther && !ri.skip(l.Key) {
			b = append(b, l.Text...)
			b = append(b, "\r\n"...)
		}
	}
	if ri.lines == nil { // otherwise the lines are the Header's fields
		for k, vv := range req.Header {
			if len(vv) == 0 || ownHeader(k) != hdrOther || ri.skip(k) {
				continue
			}
			for _, v := range vv {
				b = append(b, k...)
				b = append(b, ": "...)
				b = append(b, wire.TrimOWS(v)...)
				b = append(b, "\r\n"...)
			}
		}
	}
	for i := 0; i < len(ri.fields); i += 2 {
		b = append(b, ri.fields[i]...)
		b = append(b, ": "...)
		b = append(b, ri.fields[i+1]...)
		b = append(b, "\r\n"...)
	}
	if ri.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	} else if ri.writeCL {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, ri.cl, 10)
		b = append(b, "\r\n"...)
	}
	if ri.closeConn {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	bw.Write(b)

	if body != nil {
		if ri.chunked {
			bodyErr, werr = c.writeChunked(body)
		} else {
			bodyErr, werr = c.writeFixed(body, ri.cl)
		}
		body.Close()
		if bodyErr != nil || werr != nil {
			return bodyErr, werr
		}
		c.renewSend() // the last flush: the body may have ended late
	}
	return nil, bw.Flush()
}

// writeInt formats n straight into bw's buffer, without allocating.
func writeInt(bw *bufio.Writer, n int64, base int) {
	if bw.Available() < 24 {
		bw.Flush() // an error is sticky and reported by the next write
	}
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, base))
}

var errShortBody = errors.New("request body shorter than Content-Length")

// writeFixed copies exactly n bytes of body. While they fit, they are read
// straight into the bufio.Writer's free space (no copy); a larger body is
// read through a pooled 32 KB buffer once the writer is empty, so that big
// uploads go out in large writes.
func (c *conn) writeFixed(body io.Reader, n int64) (bodyErr, werr error) {
	bw := c.bw
	var scratch *[32 << 10]byte
	defer func() {
		if scratch != nil {
			scratchPool.Put(scratch)
		}
	}()
	for n > 0 {
		if bw.Available() == 0 {
			if err := bw.Flush(); err != nil {
				return nil, err
			}
		}
		var buf []byte
		if bw.Buffered() == 0 && n > int64(bw.Available()) {
			if scratch == nil {
				scratch = scratchPool.Get().(*[32 << 10]byte)
			}
			buf = scratch[:]
		} else {
			buf = bw.AvailableBuffer()[:bw.Available()]
		}
		if int64(len(buf)) > n {
			buf = buf[:n]
		}
		k, err := body.Read(buf)
		if k > 0 {
			c.renewSend()
			if _, werr := bw.Write(buf[:k]); werr != nil {
				return nil, werr
			}
			n -= int64(k)
		}
		if err == io.EOF {
			if n > 0 {
				return errShortBody, nil
			}
			break
		}
		if err != nil {
			return err, nil
		}
	}
	return nil, nil
}

// writeChunked copies body with chunked framing, one chunk per Read.
func (c *conn) writeChunked(body io.Reader) (bodyErr, werr error) {
	bw := c.bw
	scratch := scratchPool.Get().(*[32 << 10]byte)
	defer scratchPool.Put(scratch)
	for {
		k, err := body.Read(scratch[:])
		if k > 0 {
			c.renewSend()
			writeInt(bw, int64(k), 16)
			bw.WriteString("\r\n")
			bw.Write(scratch[:k])
			if _, werr := bw.WriteString("\r\n"); werr != nil {
				return nil, werr
			}
		}
		if err == io.EOF {
			c.renewSend() // the end may come long after the last piece
			_, werr := bw.WriteString("0\r\n\r\n")
			return nil, werr
		}
		if err != nil {
			return err, nil
		}
	}
}
