package cache

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// The persisted index of a disk zone: index.<n>.snap holds every entry as
// of a compaction, index.<n>.log (and later logs) the changes since. Each
// record is framed as u32 length | u32 crc32c | payload, so a torn tail
// (a crash in the middle of a write) is detected and ignored. Snapshots
// end with a count record and are written to a temporary file, synced and
// renamed. Loading takes the newest complete snapshot and replays the logs
// from its number on.

const (
	recPut = 1
	recDel = 2
	recEnd = 3
)

type indexLog struct {
	dir     string
	n       uint64
	f       *os.File
	bw      *bufio.Writer
	records int
	err     error
	scratch enc // reused for each record (the tier's lock is held)
}

func logName(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("index.%d.log", n))
}

func snapName(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("index.%d.snap", n))
}

func openLog(dir string, n uint64, truncateAt int64) (*indexLog, error) {
	f, err := os.OpenFile(logName(dir, n), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(truncateAt); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(truncateAt, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &indexLog{dir: dir, n: n, f: f, bw: bufio.NewWriterSize(f, 64<<10)}, nil
}

func frame(w io.Writer, payload []byte) error {
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(payload, castagnoli))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func (l *indexLog) write(p []byte) {
	if l.err != nil {
		return
	}
	l.err = frame(l.bw, p)
	l.records++
}

func (l *indexLog) put(e *Entry, vary []string) {
	en := &l.scratch
	en.b = en.b[:0]
	en.u8(recPut)
	putEntry(en, e, vary)
	l.write(en.b)
}

func (l *indexLog) del(e *Entry) {
	en := &l.scratch
	en.b = en.b[:0]
	en.u8(recDel)
	en.str(e.skey)
	en.u64(e.gen)
	l.write(en.b)
}

func (l *indexLog) flush() error {
	if l.err != nil {
		return l.err
	}
	l.err = l.bw.Flush()
	return l.err
}

func (l *indexLog) close() error {
	err := l.flush()
	if serr := l.f.Sync(); err == nil {
		err = serr
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readRecords calls fn for each intact record of a file and returns the
// offset after the last one.
func readRecords(path string, fn func(payload []byte) bool) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	var off int64
	var h [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return off, nil
		}
		n := binary.LittleEndian.Uint32(h[:])
		if n > 16<<20 {
			return off, nil
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return off, nil
		}
		if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
			return off, nil
		}
		off += 8 + int64(n)
		if !fn(buf) {
			return off, nil
		}
	}
}

// apply replays one record into the index (t.mu not needed: loading).
func (t *diskTier) apply(p []byte, maxGen *uint64) bool {
	if len(p) == 0 {
		return false
	}
	d := dec{b: p[1:]}
	switch p[0] {
	case recPut:
		x, vary := getEntry(&d)
		if d.err != nil {
			return false
		}
		*maxGen = max(*maxGen, x.gen)
		t.z.vary.set(x.Key(), vary, x.Variant())
		t.replayPut(x)
	case recDel:
		skey := d.str()
		gen := d.u64()
		if d.err != nil {
			return false
		}
		t.replayDel(skey, gen)
	case recEnd:
	default:
		return false
	}
	return true
}

// load reads the newest snapshot and the logs after it. loaded is false
// when there is no usable index at all.
func (t *diskTier) load() (maxGen uint64, loaded bool, err error) {
	ents, err := os.ReadDir(t.dir)
	if err != nil {
		return 0, false, err
	}
	var snaps, logs []uint64
	for _, de := range ents {
		var n uint64
		if _, err := fmt.Sscanf(de.Name(), "index.%d.snap", &n); err == nil && de.Name() == fmt.Sprintf("index.%d.snap", n) {
			snaps = append(snaps, n)
		} else if _, err := fmt.Sscanf(de.Name(), "index.%d.log", &n); err == nil && de.Name() == fmt.Sprintf("index.%d.log", n) {
			logs = append(logs, n)
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i] > snaps[j] })
	sort.Slice(logs, func(i, j int) bool { return logs[i] < logs[j] })
	if len(snaps) == 0 && len(logs) == 0 {
		return 0, false, nil
	}
	base, haveSnap := uint64(0), false
	for _, n := range snaps {
		var count, want uint64
		complete := false
		_, err := readRecords(snapName(t.dir, n), func(p []byte) bool {
			if p[0] == recEnd {
				d := dec{b: p[1:]}
				want = d.u64()
				complete = d.err == nil
				return false
			}
			count++
			return t.apply(p, &maxGen)
		})
		if err == nil && complete && count == want {
			base, haveSnap = n, true
			break
		}
		t.z.log.Warn("cache: index snapshot unusable", "file", snapName(t.dir, n))
		t.reset()
		maxGen = 0
	}
	if !haveSnap && len(snaps) > 0 {
		// Snapshots exist but none is complete: the logs alone are not the
		// whole index. Rebuild from the files.
		t.reset()
		return 0, false, nil
	}
	last, lastOff, records := int64(-1), int64(0), 0
	for _, n := range logs {
		if n < base {
			continue
		}
		records = 0
		off, err := readRecords(logName(t.dir, n), func(p []byte) bool {
			records++
			return t.apply(p, &maxGen)
		})
		if err != nil {
			return 0, false, err
		}
		last, lastOff = int64(n), off
	}
	if last < 0 {
		t.log, err = openLog(t.dir, base, 0)
	} else {
		t.log, err = openLog(t.dir, uint64(last), lastOff)
		if t.log != nil {
			t.log.records = records
		}
	}
	if err != nil {
		return 0, false, err
	}
	// Older generations are superseded.
	for _, n := range snaps {
		if n < base {
			_ = os.Remove(snapName(t.dir, n))
		}
	}
	for _, n := range logs {
		if n < base {
			_ = os.Remove(logName(t.dir, n))
		}
	}
	return maxGen, true, nil
}

func (t *diskTier) reset() {
	t.m = map[string]*Entry{}
	t.hand = nil
	t.used = 0
	t.z.vary.mu.Lock()
	t.z.vary.m = map[string]*varyInfo{}
	t.z.vary.n.Store(0)
	t.z.vary.mu.Unlock()
}

// compact starts a new log generation and writes a snapshot of the index
// as of that moment; older generations are removed once it is in place.
func (t *diskTier) compact() error {
	t.mu.Lock()
	n := uint64(0)
	if t.log != nil {
		n = t.log.n + 1
	}
	nl, err := openLog(t.dir, n, 0)
	if err != nil {
		t.mu.Unlock()
		return err
	}
	if t.log != nil {
		if err := t.log.close(); err != nil {
			t.z.log.Warn("cache: closing index log", "err", err)
		}
	}
	t.log = nl
	entries := make([]*Entry, 0, len(t.m))
	for _, e := range t.m {
		entries = append(entries, e)
	}
	t.mu.Unlock()

	tmp := snapName(t.dir, n) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	en := enc{b: make([]byte, 0, 256)}
	for _, e := range entries {
		en.b = en.b[:0]
		en.u8(recPut)
		putEntry(&en, e, t.z.varyNames(e))
		if err := frame(bw, en.b); err != nil {
			f.Close()
			return err
		}
	}
	en.b = en.b[:0]
	en.u8(recEnd)
	en.u64(uint64(len(entries)))
	err = frame(bw, en.b)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, snapName(t.dir, n)); err != nil {
		return err
	}
	if d, err := os.Open(t.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	ents, _ := os.ReadDir(t.dir)
	for _, de := range ents {
		var k uint64
		name := de.Name()
		if _, err := fmt.Sscanf(name, "index.%d.", &k); err == nil && k < n {
			_ = os.Remove(filepath.Join(t.dir, name))
		}
	}
	return nil
}
