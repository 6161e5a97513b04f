package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/stargate-edge/stargate/internal/http1/wire"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

var (
	errBodyClosed = errors.New("http1 client: read on closed response body")
	errAborted    = errors.New("exchange aborted")
	errBadChunk   = errors.New("malformed chunked encoding")
	errChunkLine  = errors.New("chunk size line too long")
	errTrailers   = errors.New("trailers exceed 64 KB")
)

// Body framing modes.
const (
	modeCL      = iota + 1 // Content-Length
	modeChunked            // Transfer-Encoding: chunked
	modeEOF                // until the upstream closes the connection
)

// Chunked decoder states.
const (
	stData     = iota // remain bytes of chunk data left
	stDataCRLF        // CRLF after chunk data
	stSize            // chunk-size line
	stTrailer         // trailer lines up to the empty line
	stDone
)

// body is a response body reading straight from the connection's
// bufio.Reader. When it reaches EOF, and the exchange allows keep-alive,
// the connection goes back to the pool at once, before Close: a proxy
// copying the body to its client and closing later would otherwise hold
// the connection out of the pool for the client's round trip.
//
// Read and Close may be called concurrently (Close then aborts the Read):
// mu serialises them; Close falls back to abortReq and a past read
// deadline when a Read holds mu. amu orders that abort against release,
// so the deadline can never hit a connection already back in the pool.
type body struct {
	mu       sync.Mutex
	amu      sync.Mutex
	abortReq atomic.Bool
	c        *conn // nil once released; written under mu and amu

	t    *Transport
	ctx  context.Context
	addr string
	rt   time.Duration

	mode    uint8
	state   uint8
	keep    bool // connection reusable at EOF
	closed  bool
	remain  int64 // modeCL: bytes left; modeChunked: bytes left in chunk
	trailer int   // trailer bytes read
	err     error // sticky: io.EOF or the failure
}

// Read reads body bytes. It returns io.EOF exactly at the end (possibly
// with the last bytes), and an error if the body is truncated or its
// framing is broken.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	switch b.mode {
	case modeCL:
		n, err = b.readCL(p)
	case modeChunked:
		n, err = b.readChunked(p)
	default:
		n, err = b.readEOF(p)
	}
	if err == io.EOF {
		b.err = io.EOF
		b.release(b.keep)
	} else if err != nil {
		err = b.fail(err)
	}
	return n, err
}

// Close releases the connection: to the pool when the body was read to
// the end, or when the rest is small and arrives quickly (a drain is
// cheaper than a new connection), else it closes it. Close is idempotent.
func (b *body) Close() error {
	if !b.mu.TryLock() {
		// A Read is in progress: abort it.
		b.amu.Lock()
		b.abortReq.Store(true)
		if b.c != nil {
			b.c.nc.SetReadDeadline(aLongTimeAgo)
		}
		b.amu.Unlock()
		b.mu.Lock()
	}
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.c == nil {
		return nil
	}
	if b.err == nil && b.keep && !b.abortReq.Load() && !b.c.abort.Load() {
		b.drain()
	}
	if b.c != nil {
		b.release(false)
	}
	return nil
}

// release hands the connection back to the Transport.
func (b *body) release(reuse bool) {
	b.amu.Lock()
	c := b.c
	b.c = nil
	if b.abortReq.Load() {
		reuse = false
	}
	b.amu.Unlock()
	if c != nil {
		b.t.putConn(c, reuse)
	}
}

// fail turns err into the body's sticky error and closes the connection.
func (b *body) fail(err error) error {
	switch {
	case b.abortReq.Load():
		err = errBodyClosed
	case b.c != nil && b.c.abort.Load() && b.ctx != nil && b.ctx.Err() != nil:
		err = fmt.Errorf("http1 client: read response body from %s: %w", b.addr, b.ctx.Err())
	default:
		err = fmt.Errorf("http1 client: read response body from %s: %w", b.addr, err)
	}
	b.err = err
	b.release(false)
	return err
}

// wait prepares for a read that has to go to the network (need): it
// renews the read deadline, so ReadTimeout bounds the pause between two
// reads, then checks for an abort. In that order: an abort that set its
// past deadline before ours is seen by the check; one after wins anyway.
func (b *body) wait(need bool) error {
	if !need {
		return nil
	}
	c := b.c
	c.dl.Read(c.nc, b.rt)
	if b.abortReq.Load() || c.abort.Load() {
		return errAborted
	}
	return nil
}

func (b *body) readCL(p []byte) (int, error) {
	br := b.c.br
	if err := b.wait(br.Buffered() == 0); err != nil {
		return 0, err
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *body) readEOF(p []byte) (int, error) {
	br := b.c.br
	if err := b.wait(br.Buffered() == 0); err != nil {
		return 0, err
	}
	return br.Read(p)
}

// readChunked decodes chunked framing. It never blocks once it has data
// to return, and it steps over framing that is already buffered after the
// data, so that the final chunk's EOF is reported with the last bytes and
// the connection is released without another Read.
func (b *body) readChunked(p []byte) (n int, err error) {
	br := b.c.br
	for n < len(p) && b.state != stDone {
		if b.state == stData {
			empty := br.Buffered() == 0
			if n > 0 && empty {
				return n, nil
			}
			if err := b.wait(empty); err != nil {
				return n, err
			}
			q := p[n:]
			if int64(len(q)) > b.remain {
				q = q[:b.remain]
			}
			k, err := br.Read(q)
			n += k
			b.remain -= int64(k)
			if b.remain == 0 {
				b.state = stDataCRLF
			}
			if err != nil {
				return n, unexpected(err)
			}
			continue
		}
		buffered := b.stepBuffered()
		if n > 0 && !buffered {
			return n, nil
		}
		if err := b.wait(!buffered); err != nil {
			return n, err
		}
		if err := b.step(); err != nil {
			return n, err
		}
	}
	for b.state != stData && b.state != stDone && b.stepBuffered() {
		if err := b.step(); err != nil {
			return n, err
		}
	}
	if b.state == stDone {
		return n, io.EOF
	}
	return n, nil
}

// stepBuffered reports whether the next framing step can complete from
// buffered bytes alone.
func (b *body) stepBuffered() bool {
	br := b.c.br
	n := br.Buffered()
	if b.state == stDataCRLF {
		return n >= 2
	}
	if n == 0 {
		return false
	}
	buf, _ := br.Peek(n)
	return bytes.IndexByte(buf, '\n') >= 0
}

// step consumes one piece of chunked framing: the CRLF after chunk data, a
// chunk-size line, or a trailer line. It may block.
func (b *body) step() error {
	br := b.c.br
	switch b.state {
	case stDataCRLF:
		crlf, err := br.Peek(2)
		if err != nil {
			return unexpected(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return errBadChunk
		}
		br.Discard(2)
		b.state = stSize
	case stSize:
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return errChunkLine
		}
		if err != nil {
			return unexpected(err)
		}
		size, ok := parseChunkLine(line)
		if !ok {
			return errBadChunk
		}
		if size == 0 {
			b.state = stTrailer
		} else {
			b.remain = size
			b.state = stData
		}
	case stTrailer:
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return errTrailers
		}
		if err != nil {
			return unexpected(err)
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return errBadChunk
		}
		if len(line) == 2 {
			b.state = stDone
			return nil
		}
		// Trailers are read and dropped: the proxy does not forward them.
		b.trailer += len(line)
		if b.trailer > MaxHeaderBytes {
			return errTrailers
		}
	}
	return nil
}

// parseChunkLine parses "HEX[ws][;ext]\r\n" (wire.ParseChunkSize after
// the line ending); a bare LF is refused.
func parseChunkLine(line []byte) (int64, bool) {
	n := len(line)
	if n < 3 || line[n-2] != '\r' {
		return 0, false
	}
	return wire.ParseChunkSize(line[:n-2])
}

// drain reads the rest of a body that Close was called on early, to keep
// the connection, when that is at most drainLimit bytes that arrive within
// drainTimeout. On success the body has reached EOF and c is released.
func (b *body) drain() {
	br := b.c.br
	deadline := false
	arm := func() bool {
		if !deadline {
			deadline = true
			b.c.nc.SetReadDeadline(time.Now().Add(drainTimeout))
			b.c.deadlineSet = true
		}
		return !b.abortReq.Load() && !b.c.abort.Load()
	}
	switch b.mode {
	case modeCL:
		if b.remain > drainLimit {
			return
		}
		if int64(br.Buffered()) < b.remain && !arm() {
			return
		}
		if _, err := br.Discard(int(b.remain)); err != nil {
			return
		}
		b.remain = 0
	case modeChunked:
		budget := int64(drainLimit)
		for b.state != stDone {
			if b.state == stData {
				k := min(b.remain, budget)
				if k == 0 {
					return
				}
				if int64(br.Buffered()) < k && !arm() {
					return
				}
				d, err := br.Discard(int(k))
				b.remain -= int64(d)
				budget -= int64(d)
				if err != nil {
					return
				}
				if b.remain == 0 {
					b.state = stDataCRLF
				}
				continue
			}
			if !b.stepBuffered() && !arm() {
				return
			}
			if err := b.step(); err != nil {
				return
			}
		}
	default:
		return
	}
	b.err = io.EOF
	b.release(b.keep)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
