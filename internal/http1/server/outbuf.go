package server

import (
	"io"
	"net"
	"sync"
)

// outbuf is the connection's write buffer: the subset of bufio.Writer
// the server uses, plus one thing bufio cannot do — a write larger than
// the free space goes out together with what is buffered (the response
// header) in a single writev, instead of a flush and a second write. A
// 100 KB cache HIT is then one system call, as with nginx.
type outbuf struct {
	w   io.Writer
	buf []byte // len = bytes buffered, cap = size
	err error
}

const outbufSize = 4 << 10

var outbufPool = sync.Pool{New: func() any { return &outbuf{buf: make([]byte, 0, outbufSize)} }}

func (o *outbuf) Reset(w io.Writer) { o.w, o.buf, o.err = w, o.buf[:0], nil }

func (o *outbuf) Buffered() int  { return len(o.buf) }
func (o *outbuf) Available() int { return cap(o.buf) - len(o.buf) }

// AvailableBuffer is the free space, empty, for appending then Write.
func (o *outbuf) AvailableBuffer() []byte { return o.buf[len(o.buf):len(o.buf)] }

func (o *outbuf) Flush() error {
	if o.err != nil {
		return o.err
	}
	if len(o.buf) == 0 {
		return nil
	}
	n, err := o.w.Write(o.buf)
	if err == nil && n < len(o.buf) {
		err = io.ErrShortWrite
	}
	o.buf = o.buf[:0]
	o.err = err
	return err
}

func (o *outbuf) WriteString(s string) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	if len(s) <= o.Available() {
		o.buf = append(o.buf, s...)
		return len(s), nil
	}
	return o.Write([]byte(s))
}

func (o *outbuf) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	if len(p) <= o.Available() {
		if len(p) > 0 && &o.buf[:len(o.buf)+1][len(o.buf)] == &p[0] {
			// p is AvailableBuffer()'s space, already in place
			o.buf = o.buf[:len(o.buf)+len(p)]
			return len(p), nil
		}
		o.buf = append(o.buf, p...)
		return len(p), nil
	}
	if len(o.buf) == 0 {
		n, err := o.w.Write(p)
		o.err = err
		return n, err
	}
	head := len(o.buf)
	bufs := net.Buffers{o.buf, p}
	n, err := bufs.WriteTo(o.w) // writev on a TCP connection
	o.buf = o.buf[:0]
	o.err = err
	return int(max(0, n-int64(head))), err
}
