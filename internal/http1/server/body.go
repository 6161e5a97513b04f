package server

import (
	"bytes"
	"errors"
	"github.com/stargate-edge/stargate/internal/http1/wire"
	"io"
)

// body reads a request body framed by Content-Length or chunked coding
// straight from the connection's buffer.
type body struct {
	c            *conn
	chunked      bool
	remaining    int64 // bytes left: of the body (length) or of the chunk
	sawEOF       bool
	closed       bool
	wantContinue bool
	err          error
}

var (
	errBodyClosed = errors.New("http1: read on closed request body")
	errBadChunk   = errors.New("http1: malformed chunked request body")
)

func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errBodyClosed
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.wantContinue {
		b.wantContinue = false
		c := b.c
		_, _ = c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := c.flush(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.chunked {
		return b.readChunked(p)
	}
	if b.remaining == 0 {
		b.sawEOF = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.readConn(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.sawEOF = true
		if err == nil {
			err = io.EOF
		}
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// readConn reads from the buffered connection, arming the body read
// timeout only when the read must wait on the network.
func (b *body) readConn(p []byte) (int, error) {
	c := b.c
	if c.br.Buffered() == 0 {
		c.dl.Read(c.rwc, c.srv.BodyReadTimeout)
	}
	return c.br.Read(p)
}

func (b *body) readChunked(p []byte) (int, error) {
	if b.remaining == 0 {
		size, err := b.chunkHeader()
		if err != nil {
			b.err = err
			return 0, err
		}
		if size == 0 {
			if err := b.trailers(); err != nil {
				b.err = err
				return 0, err
			}
			b.sawEOF = true
			return 0, io.EOF
		}
		b.remaining = size
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.readConn(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && b.remaining == 0 {
		err = b.crlf()
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// line reads one CRLF-terminated line of at most 4 KiB.
func (b *body) line() ([]byte, error) {
	c := b.c
	if c.br.Buffered() == 0 {
		c.dl.Read(c.rwc, c.srv.BodyReadTimeout)
	}
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		} else if err != nil && len(l) >= c.br.Size() {
			err = errBadChunk
		}
		return nil, err
	}
	if len(l) < 2 || l[len(l)-2] != '\r' {
		return nil, errBadChunk
	}
	return l[:len(l)-2], nil
}

func (b *body) chunkHeader() (int64, error) {
	l, err := b.line()
	if err != nil {
		return 0, err
	}
	// chunk-ext is ignored (RFC 9112 section 7.1.1); the syntax is the
	// client's too (wire), so both sides refuse the same lines.
	n, ok := wire.ParseChunkSize(l)
	if !ok {
		return 0, errBadChunk
	}
	return n, nil
}

func (b *body) crlf() error {
	l, err := b.line()
	if err != nil {
		return err
	}
	if len(l) != 0 {
		return errBadChunk
	}
	return nil
}

// trailers reads and drops the trailer section (at most 100 fields),
// each line held to a header field's syntax: a malformed one is a bad
// request like a malformed header line, not something to skip (net/http
// refuses it too).
func (b *body) trailers() error {
	for i := 0; i < 100; i++ {
		l, err := b.line()
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return nil
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(name) == 0 || !wire.ValidToken(string(name)) || !wire.ValidFieldValue(string(value)) {
			return errBadChunk
		}
	}
	return errBadChunk
}

// Close marks the body closed; the connection discards what is left
// after the handler returns.
func (b *body) Close() error {
	b.closed = true
	return nil
}

// maxDrain is how much of an unread request body the server reads past to
// keep the connection (net/http uses 256 KiB too).
const maxDrain = 256 << 10

// drain consumes what the handler left of the body and reports whether the
// connection can carry another request.
func (b *body) drain() bool {
	if b.sawEOF {
		return true
	}
	if b.err != nil {
		return false
	}
	if !b.chunked && b.remaining > maxDrain {
		return false
	}
	if b.wantContinue {
		// The client waits for 100 Continue that never came: it may or
		// may not send the body, so the connection cannot be reused.
		return false
	}
	b.closed = false
	n, err := io.CopyN(io.Discard, b, maxDrain+1)
	return err == io.EOF && n <= maxDrain
}
