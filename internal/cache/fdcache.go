package cache

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// fdCache keeps the object files of recently hit disk entries open, as
// nginx's open_file_cache does: a HIT is then one pread (small objects)
// or one pread of the header plus one sendfile at an offset (large ones),
// instead of open, read, close and, for large ones, Go's poller
// registration attempt. Object files are immutable (a new version is a
// new generation, a new file), so an open descriptor never goes stale;
// a purge or eviction drops the descriptor when it unlinks the file.
//
// Descriptors are reference counted: the cache holds one reference and
// every object being served holds one, and the descriptor is closed when
// the last goes, so a descriptor number is never reused while a reader
// still has it.
type fdCache struct {
	mu    sync.Mutex
	m     map[uint64]*openFile
	order []uint64 // insertion order, for eviction (FIFO)
	max   int
}

// maxOpenFiles bounds the cache (Go raises the soft RLIMIT_NOFILE to the
// hard limit at start, typically far above this).
const maxOpenFiles = 512

type openFile struct {
	f    *os.File // for ReadAt (pread)
	fd   int
	refs atomic.Int32
}

func newFDCache(max int) *fdCache {
	return &fdCache{m: map[uint64]*openFile{}, max: max}
}

// get returns gen's open file with a reference for the caller, or nil.
func (c *fdCache) get(gen uint64) *openFile {
	c.mu.Lock()
	of := c.m[gen]
	if of != nil {
		of.refs.Add(1)
	}
	c.mu.Unlock()
	return of
}

// open opens path for gen, caches it and returns it with a reference for
// the caller.
func (c *fdCache) open(gen uint64, path string) (*openFile, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	of := &openFile{f: os.NewFile(uintptr(fd), path), fd: fd}
	of.refs.Store(2) // the cache's and the caller's
	c.mu.Lock()
	if old := c.m[gen]; old != nil {
		// Another request opened it meanwhile: use that one.
		old.refs.Add(1)
		c.mu.Unlock()
		of.refs.Store(1)
		of.release()
		return old, nil
	}
	c.m[gen] = of
	c.order = append(c.order, gen)
	var evicted []*openFile
	for len(c.m) > c.max && len(c.order) > 0 {
		g := c.order[0]
		c.order = c.order[1:]
		if e := c.m[g]; e != nil {
			delete(c.m, g)
			evicted = append(evicted, e)
		}
	}
	if len(c.order) > 4*c.max {
		// drop the ids of entries already gone
		kept := c.order[:0]
		for _, g := range c.order {
			if c.m[g] != nil {
				kept = append(kept, g)
			}
		}
		c.order = kept
	}
	c.mu.Unlock()
	for _, e := range evicted {
		e.release()
	}
	return of, nil
}

// drop forgets gen (its file is being unlinked).
func (c *fdCache) drop(gen uint64) {
	c.mu.Lock()
	of := c.m[gen]
	delete(c.m, gen)
	c.mu.Unlock()
	if of != nil {
		of.release()
	}
}

// closeAll drops every cached descriptor (the zone closes).
func (c *fdCache) closeAll() {
	c.mu.Lock()
	m := c.m
	c.m, c.order = map[uint64]*openFile{}, nil
	c.mu.Unlock()
	for _, of := range m {
		of.release()
	}
}

func (of *openFile) release() {
	if of.refs.Add(-1) == 0 {
		of.f.Close()
	}
}

// fileAtBody streams n bytes of a cached open file from off with pread,
// without touching the shared file offset; WriteTo sends it with
// sendfile at that offset when the connection can.
type fileAtBody struct {
	of     *openFile
	off, n int64
	closed bool
}

// SendFileAtWriter is implemented by connections that can send a file
// range with sendfile (the HTTP/1.1 listener's responses). A writer that
// cannot after all answers (0, errors.ErrUnsupported).
type SendFileAtWriter interface {
	SendFileAt(fd int, off, n int64) (int64, error)
}

func (b *fileAtBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	m, err := b.of.f.ReadAt(p, b.off)
	b.off += int64(m)
	b.n -= int64(m)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF || b.n == 0 && err == nil && m > 0 {
		err = nil
	}
	return m, err
}

func (b *fileAtBody) WriteTo(w io.Writer) (int64, error) {
	if sw, ok := w.(SendFileAtWriter); ok && b.n > 0 {
		m, err := sw.SendFileAt(b.of.fd, b.off, b.n)
		if m == 0 && errors.Is(err, errors.ErrUnsupported) {
			return io.Copy(struct{ io.Writer }{w}, struct{ io.Reader }{b})
		}
		b.off += m
		b.n -= m
		return m, err
	}
	return io.Copy(struct{ io.Writer }{w}, struct{ io.Reader }{b})
}

func (b *fileAtBody) Close() error {
	if !b.closed {
		b.closed = true
		b.of.release()
	}
	return nil
}
