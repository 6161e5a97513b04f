package cache

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Object files: <dir>/<2 hex>/<16 hex gen>, written as <dir>/tmp/<gen>.tmp
// and renamed into place.
//
//	"SGC1" | u32 metaLen | meta (entry fields + header) | body | u64 bodyLen | u32 crc32c(everything before) | "SGCe"
//
// A file is trusted only after its checksum verified in this process (the
// first read after a start), so neither a torn write (power loss) nor a
// misplaced file is ever served.
var (
	fileMagic    = []byte("SGC1")
	trailerMagic = []byte("SGCe")
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

const (
	filePrefix  = 8  // magic + metaLen
	fileTrailer = 16 // bodyLen + crc + magic
)

type diskTier struct {
	z   *Zone
	dir string
	cap int64

	mu   sync.RWMutex
	m    map[string]*Entry
	hand *Entry // CLOCK hand: the next eviction candidate
	used int64
	log  *indexLog

	nextGen  atomic.Uint64
	startGen uint64

	// Files of purged entries, unlinked by one background goroutine: the
	// entries are unreachable already.
	unlinkMu sync.Mutex
	unlinkQ  []uint64
	unlinkC  chan struct{}

	// fds keeps verified object files open for HITs (fdcache.go).
	fds *fdCache
}

func fileSize(e *Entry) int64 { return filePrefix + int64(e.hdrLen) + e.Size + fileTrailer }

func (t *diskTier) path(gen uint64) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(t.dir)+20)
	b = append(b, t.dir...)
	b = append(b, '/', hex[gen>>4&0xf], hex[gen&0xf], '/')
	for i := 15; i >= 0; i-- {
		b = append(b, hex[gen>>(4*i)&0xf])
	}
	return string(b)
}

func openDiskTier(z *Zone, dir string, cap int64) (*diskTier, error) {
	t := &diskTier{z: z, dir: dir, cap: cap, m: map[string]*Entry{}, unlinkC: make(chan struct{}, 1), fds: newFDCache(maxOpenFiles)}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	// Half-written objects of a previous run are garbage.
	if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, de := range ents {
			_ = os.Remove(filepath.Join(dir, "tmp", de.Name()))
		}
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o700); err != nil {
			return nil, err
		}
	}
	maxGen, loaded, err := t.load()
	if err != nil {
		return nil, err
	}
	if !loaded {
		// No usable index: rebuild it from the objects' own metadata.
		if ents, err := os.ReadDir(dir); err == nil {
			for _, de := range ents {
				if strings.HasPrefix(de.Name(), "index.") {
					_ = os.Remove(filepath.Join(dir, de.Name()))
				}
			}
		}
		if maxGen, err = t.rebuild(); err != nil {
			return nil, err
		}
		if err := t.compact(); err != nil {
			return nil, err
		}
	}
	gen := uint64(time.Now().UnixNano())
	if maxGen >= gen {
		gen = maxGen + 1
	}
	t.startGen = gen
	t.nextGen.Store(gen)
	// A lowered cap applies at once.
	var victims []*Entry
	t.mu.Lock()
	victims = t.evictLocked(victims)
	t.mu.Unlock()
	t.removeFiles(victims)
	z.log.Info("cache zone opened", "kind", "disk", "dir", dir, "entries", len(t.m), "bytes", t.used, "rebuilt", !loaded)
	z.Go(t.flusher)
	z.Go(t.sweepOrphans)
	z.Go(t.unlinker)
	return t, nil
}

// unlinker removes queued files until the zone closes, then what is left.
func (t *diskTier) unlinker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			t.drainUnlinks()
			return
		case <-t.unlinkC:
			t.drainUnlinks()
		}
	}
}

func (t *diskTier) drainUnlinks() {
	for {
		t.unlinkMu.Lock()
		q := t.unlinkQ
		t.unlinkQ = nil
		t.unlinkMu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, g := range q {
			t.unlinkGen(g)
		}
	}
}

// CLOCK ring (t.mu held). New entries go just behind the hand, so they are
// examined last.
func (t *diskTier) link(e *Entry) {
	if t.hand == nil {
		e.prev, e.next = e, e
		t.hand = e
		return
	}
	p := t.hand.prev
	p.next, e.prev = e, p
	e.next, t.hand.prev = t.hand, e
}

func (t *diskTier) unlink(e *Entry) {
	if e.next == nil {
		return
	}
	if e.next == e {
		t.hand = nil
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
		if t.hand == e {
			t.hand = e.next
		}
	}
	e.prev, e.next = nil, nil
}

// evictLocked evicts until usage is within the cap.
func (t *diskTier) evictLocked(victims []*Entry) []*Entry {
	for t.used > t.cap && t.hand != nil {
		var v *Entry
		for i := 0; i <= 2*len(t.m); i++ {
			e := t.hand
			if e.ref.Load()&refUsed != 0 {
				e.ref.And(^uint32(refUsed))
				t.hand = e.next
				continue
			}
			v = e
			break
		}
		if v == nil {
			v = t.hand
		}
		t.dropLocked(v)
		victims = append(victims, v)
	}
	return victims
}

func (t *diskTier) dropLocked(e *Entry) {
	delete(t.m, e.skey)
	t.unlink(e)
	t.used -= fileSize(e)
	t.log.del(e)
}

func (t *diskTier) removeFiles(es []*Entry) {
	for _, e := range es {
		t.unlinkGen(e.gen)
	}
}

func (t *diskTier) unlinkGen(gen uint64) {
	t.fds.drop(gen)
	if err := os.Remove(t.path(gen)); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.z.log.Warn("cache: remove object", "err", err)
	}
}

func (t *diskTier) get(skey string) *Entry {
	t.mu.RLock()
	e := t.m[skey]
	t.mu.RUnlock()
	if e != nil && e.ref.Load()&refUsed == 0 {
		e.ref.Or(refUsed)
	}
	return e
}

func (t *diskTier) insert(e *Entry) {
	vary := t.z.varyNames(e)
	var victims []*Entry
	t.mu.Lock()
	if old := t.m[e.skey]; old != nil {
		t.unlink(old)
		t.used -= fileSize(old)
		victims = append(victims, old)
	}
	t.m[e.skey] = e
	t.link(e)
	t.used += fileSize(e)
	t.log.put(e, vary)
	victims = t.evictLocked(victims)
	t.mu.Unlock()
	t.removeFiles(victims)
}

func (t *diskTier) remove(skey string, e *Entry) bool {
	t.mu.Lock()
	cur := t.m[skey]
	if cur == nil || (e != nil && cur != e) {
		t.mu.Unlock()
		return false
	}
	t.dropLocked(cur)
	t.mu.Unlock()
	t.unlinkGen(cur.gen)
	return true
}

// removeBatch drops the entries from the index under one lock; their
// files are unlinked in the background (they are unreachable already).
func (t *diskTier) removeBatch(es []*Entry) int {
	gens := make([]uint64, 0, len(es))
	t.mu.Lock()
	for _, e := range es {
		if t.m[e.skey] == e {
			t.dropLocked(e)
			gens = append(gens, e.gen)
		}
	}
	t.mu.Unlock()
	if len(gens) > 0 {
		t.unlinkMu.Lock()
		t.unlinkQ = append(t.unlinkQ, gens...)
		t.unlinkMu.Unlock()
		select {
		case t.unlinkC <- struct{}{}:
		default:
		}
	}
	return len(gens)
}

func (t *diskTier) snapshot() []*Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Entry, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, e)
	}
	return out
}

func (t *diskTier) stats() (int64, int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.used, len(t.m)
}

func (t *diskTier) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fds.closeAll()
	return t.log.close()
}

// flusher writes the index log out and compacts it when it has grown.
func (t *diskTier) flusher(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		err := t.log.flush()
		grow := t.log.records > 2*len(t.m)+100000
		t.mu.Unlock()
		if err != nil {
			t.z.log.Error("cache: index log", "err", err)
		}
		if grow {
			if err := t.compact(); err != nil {
				t.z.log.Error("cache: index compaction", "err", err)
			}
		}
	}
}

// sweepOrphans removes object files no index entry names: files of
// entries whose log record a crash lost, or whose removal it interrupted.
// Files of this run (gen >= startGen) are never touched.
//
// It also drops index entries whose file is gone (a crash kept the log
// record of an object but not of its removal).
func (t *diskTier) sweepOrphans(ctx context.Context) {
	entries := t.snapshot()
	live := make(map[uint64]struct{}, len(entries))
	for _, e := range entries {
		live[e.gen] = struct{}{}
	}
	seen := make(map[uint64]struct{}, len(entries))
	removed := 0
	for i := 0; i < 256 && ctx.Err() == nil; i++ {
		sub := filepath.Join(t.dir, fmt.Sprintf("%02x", i))
		ents, err := os.ReadDir(sub)
		if err != nil {
			continue
		}
		for _, de := range ents {
			gen, err := strconv.ParseUint(de.Name(), 16, 64)
			if err != nil || gen >= t.startGen {
				continue
			}
			if _, ok := live[gen]; !ok {
				if os.Remove(filepath.Join(sub, de.Name())) == nil {
					removed++
				}
				continue
			}
			seen[gen] = struct{}{}
		}
	}
	if ctx.Err() != nil {
		return
	}
	dangling := 0
	for _, e := range entries {
		if _, ok := seen[e.gen]; !ok && e.gen < t.startGen && t.remove(e.skey, e) {
			dangling++
		}
	}
	if removed > 0 || dangling > 0 {
		t.z.log.Info("cache: swept the zone directory", "orphan_files", removed, "dangling_entries", dangling)
	}
}

// diskWriter writes one object file.
type diskWriter struct {
	t       *diskTier
	m       *Meta
	max     int64
	gen     uint64
	tmp     string
	f       *os.File
	bw      *bufio.Writer
	crc     hash.Hash32
	n       int64
	metaLen int
}

func (t *diskTier) newWriter(z *Zone, m *Meta, max int64) (objWriter, error) {
	if cl := m.Header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > max {
			return nil, ErrTooLarge
		}
	}
	gen := t.nextGen.Add(1)
	tmp := filepath.Join(t.dir, "tmp", fmt.Sprintf("%016x.tmp", gen))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	w := &diskWriter{t: t, m: m, max: max, gen: gen, tmp: tmp, f: f, crc: crc32.New(castagnoli)}
	w.bw = bufio.NewWriterSize(io.MultiWriter(f, w.crc), 32<<10)
	// The metadata: the entry's fields (size comes from the trailer) and
	// the header.
	x := newEntry(m, 0)
	x.gen = gen
	var e enc
	putEntry(&e, x, m.Vary)
	putHeader(&e, m.Header)
	w.metaLen = len(e.b)
	var pre [filePrefix]byte
	copy(pre[:], fileMagic)
	binary.LittleEndian.PutUint32(pre[4:], uint32(len(e.b)))
	_, _ = w.bw.Write(pre[:])
	if _, err := w.bw.Write(e.b); err != nil {
		w.abort()
		return nil, err
	}
	return w, nil
}

func (w *diskWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.max {
		return 0, ErrTooLarge
	}
	n, err := w.bw.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *diskWriter) finish() (*Entry, error) {
	if err := w.bw.Flush(); err != nil {
		w.abort()
		return nil, err
	}
	var tr [fileTrailer]byte
	binary.LittleEndian.PutUint64(tr[:], uint64(w.n))
	binary.LittleEndian.PutUint32(tr[8:], w.crc.Sum32())
	copy(tr[12:], trailerMagic)
	if _, err := w.f.Write(tr[:]); err != nil {
		w.abort()
		return nil, err
	}
	if err := w.f.Close(); err != nil {
		_ = os.Remove(w.tmp)
		return nil, err
	}
	if err := os.Rename(w.tmp, w.t.path(w.gen)); err != nil {
		_ = os.Remove(w.tmp)
		return nil, err
	}
	e := newEntry(w.m, w.n)
	e.gen = w.gen
	e.hdrLen = uint32(w.metaLen)
	e.ref.Store(refVerified)
	return e, nil
}

func (w *diskWriter) abort() {
	_ = w.f.Close()
	_ = os.Remove(w.tmp)
}

// smallObject is the largest object file a hit reads whole (one pread
// from the open-file cache); larger ones are sent from the file with
// sendfile.
const smallObject = 64 << 10

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallObject); return &b }}

func (t *diskTier) open(z *Zone, e *Entry) (Object, error) {
	if e.ref.Load()&refVerified != 0 {
		return t.openCached(e)
	}
	f, err := os.Open(t.path(e.gen))
	if err != nil {
		t.remove(e.skey, e)
		return Object{}, ErrGone
	}
	// First use in this process: check the whole file.
	if err := t.verify(f, e); err != nil {
		f.Close()
		return Object{}, t.corrupt(e, err)
	}
	e.ref.Or(refVerified)
	// Read the prefix and metadata exactly: the file offset is then at
	// the body, ready for sendfile.
	head := make([]byte, filePrefix+int(e.hdrLen))
	if _, err := io.ReadFull(f, head); err != nil {
		f.Close()
		return Object{}, t.corrupt(e, err)
	}
	h, err := t.header(head, e)
	if err != nil {
		f.Close()
		return Object{}, t.corrupt(e, err)
	}
	off := int64(len(head))
	return Object{Header: h, Size: e.Size, file: f, off: off, pos: off}, nil
}

// openCached serves a verified object from the open-file cache: small
// objects are read whole with one pread, larger ones get their header
// read and a body that preads or sendfiles at an offset.
func (t *diskTier) openCached(e *Entry) (Object, error) {
	of := t.fds.get(e.gen)
	if of == nil {
		var err error
		if of, err = t.fds.open(e.gen, t.path(e.gen)); err != nil {
			t.remove(e.skey, e)
			return Object{}, ErrGone
		}
	}
	size := fileSize(e)
	head := filePrefix + int(e.hdrLen)
	if size <= smallObject {
		bp := smallBufs.Get().(*[]byte)
		buf := (*bp)[:size+1] // one byte more: a longer file is caught
		n, _ := readFullAt(of.f, buf, 0)
		of.release()
		if int64(n) != size {
			smallBufs.Put(bp)
			return Object{}, t.corrupt(e, fmt.Errorf("read %d bytes, want %d", n, size))
		}
		h, err := t.header(buf[:head], e)
		if err != nil {
			smallBufs.Put(bp)
			return Object{}, t.corrupt(e, err)
		}
		return Object{Header: h, Size: e.Size, body: buf[head : head+int(e.Size)], pooled: bp}, nil
	}
	hb := make([]byte, head)
	if n, _ := readFullAt(of.f, hb, 0); n != head {
		of.release()
		return Object{}, t.corrupt(e, fmt.Errorf("short header read: %d bytes", n))
	}
	h, err := t.header(hb, e)
	if err != nil {
		of.release()
		return Object{}, t.corrupt(e, err)
	}
	return Object{Header: h, Size: e.Size, of: of, off: int64(head)}, nil
}

// readFullAt preads until buf is full or the file ends.
func readFullAt(f *os.File, buf []byte, off int64) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.ReadAt(buf[n:], off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// header checks an object's prefix and metadata against its entry and
// returns its header, Content-Length set.
func (t *diskTier) header(head []byte, e *Entry) (http.Header, error) {
	if len(head) < filePrefix || string(head[:4]) != string(fileMagic) {
		return nil, errors.New("bad magic")
	}
	if binary.LittleEndian.Uint32(head[4:]) != e.hdrLen {
		return nil, errors.New("metadata length differs from the index")
	}
	d := newDecShared(head[filePrefix:])
	x, _ := getEntry(&d)
	h := getHeader(&d)
	if d.err != nil {
		return nil, d.err
	}
	if x.skey != e.skey {
		return nil, errors.New("object of another key")
	}
	h["Content-Length"] = []string{strconv.FormatInt(e.Size, 10)}
	return h, nil
}

// corrupt drops an object that failed a check and returns ErrCorrupt.
func (t *diskTier) corrupt(e *Entry, why error) error {
	t.z.log.Warn("cache: dropping corrupt object", "key", e.Key(), "file", t.path(e.gen), "err", why)
	t.remove(e.skey, e)
	return ErrCorrupt
}

// verify checks a file's length and checksum.
func (t *diskTier) verify(f *os.File, e *Entry) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != fileSize(e) {
		return fmt.Errorf("size %d, want %d", fi.Size(), fileSize(e))
	}
	crc := crc32.New(castagnoli)
	data := fi.Size() - fileTrailer
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, data)); err != nil {
		return err
	}
	var tr [fileTrailer]byte
	if _, err := f.ReadAt(tr[:], data); err != nil {
		return err
	}
	if string(tr[12:]) != string(trailerMagic) || int64(binary.LittleEndian.Uint64(tr[:])) != e.Size {
		return errors.New("bad trailer")
	}
	if binary.LittleEndian.Uint32(tr[8:]) != crc.Sum32() {
		return errors.New("checksum mismatch")
	}
	return nil
}

// fileSection reads n bytes of f from off (pos is f's offset now);
// closing it closes f.
func fileSection(f *os.File, pos, off, n int64) io.ReadCloser {
	if pos != off {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return &fileBody{f: f, lr: io.LimitedReader{R: errReader{err}, N: n}}
		}
	}
	return &fileBody{f: f, lr: io.LimitedReader{R: f, N: n}}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// fileBody streams part of an object file; WriteTo lets the connection
// send it with sendfile.
type fileBody struct {
	f  *os.File
	lr io.LimitedReader
}

func (b *fileBody) Read(p []byte) (int, error) { return b.lr.Read(p) }

func (b *fileBody) WriteTo(w io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(&b.lr)
	}
	return io.Copy(w, &b.lr)
}

func (b *fileBody) Close() error { return b.f.Close() }

// rebuild builds the index from the object files' metadata (the index
// files are missing). Objects are verified on first use.
func (t *diskTier) rebuild() (uint64, error) {
	var maxGen uint64
	buf := make([]byte, 4096)
	for i := 0; i < 256; i++ {
		sub := filepath.Join(t.dir, fmt.Sprintf("%02x", i))
		ents, err := os.ReadDir(sub)
		if err != nil {
			continue
		}
		for _, de := range ents {
			gen, err := strconv.ParseUint(de.Name(), 16, 64)
			if err != nil {
				continue
			}
			maxGen = max(maxGen, gen)
			p := filepath.Join(sub, de.Name())
			x, vary, err := readObjectMeta(p, buf)
			if err != nil || x.gen != gen {
				_ = os.Remove(p)
				continue
			}
			t.z.vary.set(x.Key(), vary, x.Variant())
			t.replayPut(x)
		}
	}
	return maxGen, nil
}

func readObjectMeta(p string, buf []byte) (*Entry, []string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	n, _ := f.ReadAt(buf, 0)
	if n < filePrefix || string(buf[:4]) != string(fileMagic) {
		return nil, nil, errors.New("bad magic")
	}
	ml := int64(binary.LittleEndian.Uint32(buf[4:]))
	meta := buf[filePrefix:n]
	if int64(len(meta)) < ml {
		meta = make([]byte, ml)
		if _, err := f.ReadAt(meta, filePrefix); err != nil {
			return nil, nil, err
		}
	}
	d := dec{b: meta[:ml]}
	x, vary := getEntry(&d)
	if d.err != nil {
		return nil, nil, d.err
	}
	x.Size = fi.Size() - filePrefix - ml - fileTrailer
	x.hdrLen = uint32(ml)
	if x.Size < 0 {
		return nil, nil, errors.New("short file")
	}
	return x, vary, nil
}

// replayPut adds a loaded entry (no log record, no eviction).
func (t *diskTier) replayPut(x *Entry) {
	if old := t.m[x.skey]; old != nil {
		t.unlink(old)
		t.used -= fileSize(old)
	}
	t.m[x.skey] = x
	t.link(x)
	t.used += fileSize(x)
}

func (t *diskTier) replayDel(skey string, gen uint64) {
	if old := t.m[skey]; old != nil && (gen == 0 || old.gen == gen) {
		delete(t.m, skey)
		t.unlink(old)
		t.used -= fileSize(old)
	}
}

// varyNames returns the Vary field names of a variant entry.
func (z *Zone) varyNames(e *Entry) []string {
	if strings.IndexByte(e.skey, 0) < 0 {
		return nil
	}
	z.vary.mu.RLock()
	defer z.vary.mu.RUnlock()
	if vi := z.vary.m[e.Key()]; vi != nil {
		return vi.names
	}
	return nil
}
