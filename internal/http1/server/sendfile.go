package server

import (
	"io"
	"syscall"
)

// SendFileAt sends n bytes of the open file fd from offset off as the
// body, with sendfile(2) at an explicit offset: the disk cache shares one
// descriptor between concurrent HITs, so the file's own offset must not
// move. Without a plain TCP connection (TLS) or on a chunked or bodiless
// answer it copies with pread instead.
func (w *response) SendFileAt(fd int, off, n int64) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(200)
	}
	if w.hijacked {
		return 0, errHijacked
	}
	sc, ok := w.c.rwc.(syscall.Conn)
	if !ok || w.noBody || w.chunked || w.deferred || w.err != nil || w.contentLength < 0 {
		return io.Copy(writerOnly{w}, io.NewSectionReader(fdReaderAt(fd), off, n))
	}
	n = min(n, w.contentLength-w.written)
	if err := w.c.flush(); err != nil {
		w.err = err
		return 0, err
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return io.Copy(writerOnly{w}, io.NewSectionReader(fdReaderAt(fd), off, n))
	}
	w.c.dl.Write(w.c.rwc, w.c.srv.WriteTimeout)
	var sent int64
	var serr error
	err = rc.Write(func(out uintptr) bool {
		for sent < n {
			m, e := syscall.Sendfile(int(out), fd, &off, int(min(n-sent, 1<<30)))
			if m > 0 {
				sent += int64(m)
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false // wait until the socket is writable
			case e != nil:
				serr = e
				return true
			case m == 0:
				serr = io.ErrUnexpectedEOF // the file is shorter than promised
				return true
			}
		}
		return true
	})
	if serr == nil {
		serr = err
	}
	w.written += sent
	if serr != nil {
		w.err = serr
	}
	return sent, serr
}

// fdReaderAt reads a descriptor with pread.
type fdReaderAt int

func (f fdReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := syscall.Pread(int(f), p, off)
	if err != nil {
		return 0, err
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
