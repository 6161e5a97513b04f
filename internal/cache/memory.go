package cache

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
)

// entryOverhead is what an entry costs in memory beyond its key, header
// and body, counted in a memory zone's usage.
const entryOverhead = 256

// memEntry is a memory zone's stored response.
type memEntry struct {
	header http.Header // Content-Length included; shared by hits, never modified
	body   []byte
}

// memTier keeps entries in an otter cache weighted by bytes.
type memTier struct {
	c   *otter.Cache[string, *Entry]
	cap int64
	// insertMu serialises inserts (and purges) with the eviction they
	// cause, so usage stays within the cap plus one object.
	insertMu sync.Mutex
	used     atomic.Int64
	n        atomic.Int64
	// idx is the zone's key index: listing and purging iterate it (a Go
	// map iterates far faster than the cache's own table).
	idxMu sync.Mutex
	idx   map[string]*Entry
	// Purged entries: out of the index and the accounts at once, marked
	// dead (never served), removed from the cache by reclaim.
	deadMu sync.Mutex
	dead   []*Entry
	deadC  chan struct{}
}

func memWeight(e *Entry) int64 {
	return e.Size + int64(e.hdrLen) + int64(len(e.skey)) + int64(len(e.url)) + entryOverhead
}

func newMemTier(z *Zone, cap int64) *memTier {
	t := &memTier{cap: cap, idx: map[string]*Entry{}, deadC: make(chan struct{}, 1)}
	t.c = otter.Must(&otter.Options[string, *Entry]{
		MaximumWeight: uint64(cap),
		Weigher: func(_ string, e *Entry) uint32 {
			return uint32(min(memWeight(e), 1<<32-1))
		},
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *Entry]) {
			if ev.Value.ref.Load()&refDead != 0 {
				return // accounted when it was purged
			}
			t.used.Add(-memWeight(ev.Value))
			t.n.Add(-1)
			t.idxMu.Lock()
			if t.idx[ev.Key] == ev.Value {
				delete(t.idx, ev.Key)
			}
			t.idxMu.Unlock()
		},
	})
	z.Go(t.reclaim)
	return t
}

// reclaim removes purged entries from the cache until the zone closes.
func (t *memTier) reclaim(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.deadC:
		}
		for {
			t.deadMu.Lock()
			q := t.dead
			t.dead = nil
			t.deadMu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, e := range q {
				t.c.ComputeIfPresent(e.skey, func(old *Entry) (*Entry, otter.ComputeOp) {
					if old != e {
						return old, otter.CancelOp
					}
					return nil, otter.InvalidateOp
				})
			}
		}
	}
}

func (t *memTier) get(skey string) *Entry {
	e, _ := t.c.GetIfPresent(skey)
	if e != nil && e.ref.Load()&refDead != 0 {
		return nil
	}
	return e
}

func (t *memTier) insert(e *Entry) {
	t.insertMu.Lock()
	defer t.insertMu.Unlock()
	t.used.Add(memWeight(e))
	t.n.Add(1)
	t.idxMu.Lock()
	t.idx[e.skey] = e
	t.idxMu.Unlock()
	t.c.Set(e.skey, e)
	if t.used.Load() > t.cap {
		t.c.CleanUp()
	}
}

func (t *memTier) remove(skey string, e *Entry) bool {
	removed := false
	t.c.ComputeIfPresent(skey, func(old *Entry) (*Entry, otter.ComputeOp) {
		if e != nil && old != e {
			return old, otter.CancelOp
		}
		removed = old.ref.Load()&refDead == 0
		return nil, otter.InvalidateOp
	})
	return removed
}

// removeBatch purges entries logically at once (out of the index and the
// accounts, never served again) and leaves their removal from the cache
// to reclaim.
func (t *memTier) removeBatch(es []*Entry) int {
	n := 0
	purged := make([]*Entry, 0, len(es))
	t.insertMu.Lock()
	t.idxMu.Lock()
	for _, e := range es {
		if t.idx[e.skey] != e || e.ref.Load()&refDead != 0 {
			continue
		}
		delete(t.idx, e.skey)
		e.ref.Or(refDead)
		t.used.Add(-memWeight(e))
		t.n.Add(-1)
		purged = append(purged, e)
		n++
	}
	t.idxMu.Unlock()
	t.insertMu.Unlock()
	if n > 0 {
		t.deadMu.Lock()
		t.dead = append(t.dead, purged...)
		t.deadMu.Unlock()
		select {
		case t.deadC <- struct{}{}:
		default:
		}
	}
	return n
}

func (t *memTier) snapshot() []*Entry {
	t.idxMu.Lock()
	defer t.idxMu.Unlock()
	out := make([]*Entry, 0, len(t.idx))
	for _, e := range t.idx {
		out = append(out, e)
	}
	return out
}

func (t *memTier) stats() (int64, int) { return t.used.Load(), int(t.n.Load()) }

func (t *memTier) close() error {
	t.c.InvalidateAll()
	t.idxMu.Lock()
	clear(t.idx)
	t.idxMu.Unlock()
	t.c.StopAllGoroutines()
	return nil
}

func (t *memTier) open(_ *Zone, e *Entry) (Object, error) {
	return Object{Header: e.mem.header, Shared: true, Size: e.Size, body: e.mem.body}, nil
}

// maxPrealloc is as much of a Content-Length as a memory zone's writer
// allocates before the body arrives; larger bodies grow as they come.
const maxPrealloc = 1 << 20

// memWriter buffers a body for a memory zone.
type memWriter struct {
	m   *Meta
	max int64
	buf []byte
}

func (t *memTier) newWriter(_ *Zone, m *Meta, max int64) (objWriter, error) {
	w := &memWriter{m: m, max: max}
	if cl := m.Header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			if n > max {
				return nil, ErrTooLarge
			}
			// Up to a point: the origin's claim costs it nothing, and
			// concurrent fills claiming the zone's size each, before a
			// byte arrived, took many times the zone's memory.
			w.buf = make([]byte, 0, min(n, maxPrealloc))
		}
	}
	return w, nil
}

func (w *memWriter) Write(p []byte) (int, error) {
	if int64(len(w.buf)+len(p)) > w.max {
		return 0, ErrTooLarge
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *memWriter) finish() (*Entry, error) {
	e := newEntry(w.m, int64(len(w.buf)))
	h := make(http.Header, len(w.m.Header)+1)
	for k, v := range w.m.Header {
		// Exact capacity: a hit's header map shares these slices, and an
		// append by a header filter must copy rather than write into them.
		h[k] = append([]string(nil), v...)[:len(v):len(v)]
	}
	h["Content-Length"] = []string{strconv.Itoa(len(w.buf))}
	body := w.buf
	if cap(body) > len(body)+len(body)/8+512 {
		body = bytes.Clone(body)
	}
	e.mem = &memEntry{header: h, body: body}
	e.hdrLen = uint32(headerSize(h))
	return e, nil
}

func (w *memWriter) abort() { w.buf = nil }

// memBody reads an object held in memory without copying it.
type memBody struct {
	r      []byte
	i      int
	pooled *[]byte // a disk object's buffer, returned on Close
}

func (b *memBody) Read(p []byte) (int, error) {
	if b.i >= len(b.r) {
		return 0, io.EOF
	}
	n := copy(p, b.r[b.i:])
	b.i += n
	return n, nil
}

// WriteTo hands the whole body to w in one write.
func (b *memBody) WriteTo(w io.Writer) (int64, error) {
	if b.i >= len(b.r) {
		return 0, nil
	}
	n, err := w.Write(b.r[b.i:])
	b.i += n
	return int64(n), err
}

func (b *memBody) Close() error {
	if b.pooled != nil {
		smallBufs.Put(b.pooled)
		b.pooled, b.r = nil, nil
	}
	return nil
}
