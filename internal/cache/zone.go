package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/cache/httpcache"
)

// Kinds of zone.
const (
	KindMemory = "memory"
	KindDisk   = "disk"
)

// DefaultDiskTTL is how long a disk zone keeps a response whose origin
// said nothing about freshness (APISIX's proxy_cache.cache_ttl).
const DefaultDiskTTL = 10 * time.Second

// Errors.
var (
	// ErrTooLarge: the body passed the writer's limit; nothing is stored.
	ErrTooLarge = errors.New("cache: object too large")
	// ErrCorrupt: a stored object failed its checksum and was dropped.
	ErrCorrupt = errors.New("cache: stored object corrupt")
	// ErrGone: the entry was removed before it could be read.
	ErrGone = errors.New("cache: entry gone")
	// ErrClosed: the zone is closed.
	ErrClosed = errors.New("cache: zone closed")
)

// Config declares a zone.
type Config struct {
	Name string
	Kind string // KindMemory | KindDisk
	// Size caps the zone in bytes.
	Size int64
	// Dir is a disk zone's directory.
	Dir    string
	Logger *slog.Logger
}

// Zone is one cache zone. All methods are safe for concurrent use.
type Zone struct {
	name, kind string
	cap        int64
	log        *slog.Logger
	t          tier

	vary varyIndex

	// pubMu serialises publishing (vary index + tier insert).
	pubMu sync.Mutex

	// Purge epochs: a writer remembers the epoch it started in; its
	// commit is dropped if a later purge matches it.
	purgeMu  sync.RWMutex
	purgeSeq uint64
	pruned   uint64
	purges   []purgeRec

	flightMu sync.Mutex
	flights  map[string]*Flight
	pass     map[string]time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	answers [len(Statuses)]atomic.Int64
}

// Statuses are the cache statuses of answers (Apisix-Cache-Status), as
// the proxy-cache plugin counts them per zone.
var Statuses = [...]string{"MISS", "HIT", "EXPIRED", "STALE", "UPDATING", "BYPASS", "REVALIDATED"}

// Count records one answer with a cache status.
func (z *Zone) Count(status string) {
	for i, s := range Statuses {
		if s == status {
			z.answers[i].Add(1)
			return
		}
	}
}

// Counts returns the answers counted per status (indexed as Statuses).
func (z *Zone) Counts() [len(Statuses)]int64 {
	var out [len(Statuses)]int64
	for i := range out {
		out[i] = z.answers[i].Load()
	}
	return out
}

type purgeRec struct {
	seq   uint64
	at    time.Time
	match func(*Entry) bool
}

// purgeMemory is how long purge records are kept for in-flight writers.
const purgeMemory = 10 * time.Minute

// tier is a zone's storage.
type tier interface {
	get(skey string) *Entry
	insert(e *Entry)
	// remove deletes skey if it is still e (any entry when e is nil) and
	// reports whether it did.
	remove(skey string, e *Entry) bool
	// removeBatch removes each entry that is still current and returns
	// how many it removed.
	removeBatch(es []*Entry) int
	snapshot() []*Entry
	stats() (used int64, entries int)
	newWriter(z *Zone, m *Meta, max int64) (objWriter, error)
	open(z *Zone, e *Entry) (Object, error)
	close() error
}

// objWriter is a tier's half-written object.
type objWriter interface {
	io.Writer
	// finish completes the object and returns its entry, unpublished.
	finish() (*Entry, error)
	abort()
}

// Open opens (and for a disk zone, loads) a zone.
func Open(cfg Config) (*Zone, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Size <= 0 {
		return nil, fmt.Errorf("cache: zone %s: size must be > 0", cfg.Name)
	}
	z := &Zone{name: cfg.Name, kind: cfg.Kind, cap: cfg.Size, log: cfg.Logger.With("zone", cfg.Name),
		flights: map[string]*Flight{}, pass: map[string]time.Time{}}
	z.vary.m = map[string]*varyInfo{}
	z.ctx, z.cancel = context.WithCancel(context.Background())
	switch cfg.Kind {
	case KindMemory:
		z.t = newMemTier(z, cfg.Size)
	case KindDisk:
		if cfg.Dir == "" {
			return nil, fmt.Errorf("cache: disk zone %s: no directory", cfg.Name)
		}
		t, err := openDiskTier(z, filepath.Clean(cfg.Dir), cfg.Size)
		if err != nil {
			return nil, fmt.Errorf("cache: zone %s: %w", cfg.Name, err)
		}
		z.t = t
	default:
		return nil, fmt.Errorf("cache: zone %s: kind %q: want memory or disk", cfg.Name, cfg.Kind)
	}
	z.Go(z.housekeeping)
	return z, nil
}

// Name is the zone's name.
func (z *Zone) Name() string { return z.name }

// Kind is KindMemory or KindDisk.
func (z *Zone) Kind() string { return z.kind }

// DefaultTTL is the freshness a zone gives responses whose origin said
// nothing, when the plugin does not set one (disk zones).
func (z *Zone) DefaultTTL() time.Duration { return DefaultDiskTTL }

// Close stops background work and, for a disk zone, persists the index.
func (z *Zone) Close() error {
	if !z.closed.CompareAndSwap(false, true) {
		return nil
	}
	z.cancel()
	z.wg.Wait()
	return z.t.close()
}

// Go runs fn in the background until the zone closes; Close waits for it.
// It reports false (and does not run fn) once the zone is closed.
func (z *Zone) Go(fn func(ctx context.Context)) bool {
	if z.closed.Load() {
		return false
	}
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		fn(z.ctx)
	}()
	return true
}

// Stats is a zone's summary.
type Stats struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Size    int64  `json:"size"`
	Used    int64  `json:"used"`
	Entries int    `json:"entries"`
}

// Stats reports the zone's cap, usage and entry count.
func (z *Zone) Stats() Stats {
	used, n := z.t.stats()
	return Stats{Name: z.name, Kind: z.kind, Size: z.cap, Used: used, Entries: n}
}

// Lookup finds the entry for key that matches the request header h (its
// Vary variant), fresh or not; nil when there is none.
func (z *Zone) Lookup(key string, h http.Header) *Entry {
	return z.LookupFor(key, plainHeader{h})
}

// VaryHeader gives the request header a variant is computed from, once
// the stored Vary field names are known: the proxy-cache presents the
// fields the proxy sets itself as the origin received them.
type VaryHeader interface {
	For(names []string) http.Header
}

type plainHeader struct{ h http.Header }

func (p plainHeader) For([]string) http.Header { return p.h }

// LookupFor is Lookup with the header v gives for the key's Vary names.
func (z *Zone) LookupFor(key string, v VaryHeader) *Entry {
	if z.vary.n.Load() > 0 {
		z.vary.mu.RLock()
		vi := z.vary.m[key]
		var names []string
		if vi != nil {
			names = vi.names
		}
		z.vary.mu.RUnlock()
		if vi != nil {
			return z.t.get(storageKey(key, httpcache.VariantHash(names, v.For(names))))
		}
	}
	return z.t.get(key)
}

// Open returns the stored answer of e. A disk object that fails its
// checksum is removed and ErrCorrupt returned.
func (z *Zone) Open(e *Entry) (Object, error) { return z.t.open(z, e) }

// Object is an opened stored response. Close it, or close the body that
// Body returns.
type Object struct {
	// Header is the stored header, Content-Length included. For a memory
	// zone it is shared: copy it before changing it (Shared is true).
	Header http.Header
	Shared bool
	Size   int64

	body   []byte
	pooled *[]byte // body's buffer, returned to smallBufs when done
	file   *os.File
	of     *openFile // a cached open file (one reference), instead of file
	off    int64     // where the body starts in file
	pos    int64     // file's offset now
}

// Body returns a reader of n bytes from start of the body; closing it
// releases the object.
func (o *Object) Body(start, n int64) io.ReadCloser {
	if o.of != nil {
		return &fileAtBody{of: o.of, off: o.off + start, n: n}
	}
	if o.file != nil {
		return fileSection(o.file, o.pos, o.off+start, n)
	}
	return &memBody{r: o.body[start : start+n], pooled: o.pooled}
}

// Close releases an object whose body is not read.
func (o *Object) Close() {
	if o.file != nil {
		o.file.Close()
	}
	if o.of != nil {
		o.of.release()
		o.of = nil
	}
	if o.pooled != nil {
		smallBufs.Put(o.pooled)
		o.pooled = nil
	}
}

// Writer stores one response. Write the body, then Commit or Abort.
type Writer struct {
	z    *Zone
	m    Meta
	seq  uint64
	w    objWriter
	err  error
	done bool
}

// NewWriter starts storing a response described by m; bodies longer than
// max bytes (or the zone's cap) fail with ErrTooLarge.
func (z *Zone) NewWriter(m Meta, max int64) (*Writer, error) {
	if z.closed.Load() {
		return nil, ErrClosed
	}
	if max <= 0 || max > z.cap {
		max = z.cap
	}
	z.purgeMu.RLock()
	seq := z.purgeSeq
	z.purgeMu.RUnlock()
	if m.Header == nil {
		m.Header = http.Header{}
	}
	ow, err := z.t.newWriter(z, &m, max)
	if err != nil {
		return nil, err
	}
	return &Writer{z: z, m: m, seq: seq, w: ow}, nil
}

// Write appends body bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
		w.abort()
	}
	return n, err
}

func (w *Writer) abort() {
	if !w.done {
		w.done = true
		w.w.abort()
	}
}

// Abort drops what was written.
func (w *Writer) Abort() { w.abort() }

// Commit publishes the response. It returns nil and no error when a purge
// that started after the writer matched it: the response is dropped.
func (w *Writer) Commit() (*Entry, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.done {
		return nil, errors.New("cache: writer already finished")
	}
	w.done = true
	e, err := w.w.finish()
	if err != nil {
		return nil, err
	}
	z := w.z
	z.purgeMu.RLock()
	defer z.purgeMu.RUnlock()
	if w.seq < z.pruned {
		// Purges this writer may have missed were forgotten: be safe.
		z.discard(e)
		return nil, nil
	}
	for i := len(z.purges) - 1; i >= 0 && z.purges[i].seq > w.seq; i-- {
		if z.purges[i].match(e) {
			z.discard(e)
			return nil, nil
		}
	}
	z.publish(e, &w.m)
	return e, nil
}

// discard drops an entry that was finished but not published.
func (z *Zone) discard(e *Entry) {
	if d, ok := z.t.(*diskTier); ok {
		d.unlinkGen(e.gen)
	}
}

// publish makes e visible, keeping the vary index in line with it.
func (z *Zone) publish(e *Entry, m *Meta) {
	z.pubMu.Lock()
	defer z.pubMu.Unlock()
	stale := z.vary.set(m.Key, m.Vary, m.Variant)
	for _, s := range stale {
		if s != e.skey {
			z.t.remove(s, nil)
		}
	}
	z.t.insert(e)
}

// Refresh stores e again with the header and freshness of m (a 304
// revalidation), keeping its body. It returns the new entry.
func (z *Zone) Refresh(e *Entry, m Meta) (*Entry, error) {
	obj, err := z.Open(e)
	if err != nil {
		return nil, err
	}
	body := obj.Body(0, obj.Size)
	defer body.Close()
	w, err := z.NewWriter(m, obj.Size+1)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, body); err != nil {
		w.Abort()
		return nil, err
	}
	return w.Commit()
}

// Delete removes every variant of key and reports whether any existed
// (fresh or not). A response for key being fetched now is not stored.
func (z *Zone) Delete(key string) bool {
	z.recordPurge(func(e *Entry) bool { return e.Key() == key })
	z.pubMu.Lock()
	defer z.pubMu.Unlock()
	found := z.t.remove(key, nil)
	for _, s := range z.vary.drop(key) {
		found = z.t.remove(s, nil) || found
	}
	return found
}

func (z *Zone) recordPurge(match func(*Entry) bool) {
	z.purgeMu.Lock()
	defer z.purgeMu.Unlock()
	z.purgeSeq++
	now := time.Now()
	z.purges = append(z.purges, purgeRec{seq: z.purgeSeq, at: now, match: match})
	i := 0
	for i < len(z.purges) && now.Sub(z.purges[i].at) > purgeMemory {
		z.pruned = z.purges[i].seq
		i++
	}
	if i > 0 {
		z.purges = slices.Delete(z.purges, 0, i)
	}
}

// Purge removes every entry match accepts and returns how many. It scans
// the index (never the disk), in parallel. Responses being fetched when
// it starts are not stored if match accepts them. progress, when set, is
// called with the entries scanned and removed so far.
func (z *Zone) Purge(match func(*Entry) bool, progress func(scanned, removed int)) int {
	z.recordPurge(match)
	all := z.t.snapshot()
	hits := parallelFilter(all, match)
	removed := 0
	const batch = 8192
	for i := 0; i < len(hits); i += batch {
		removed += z.t.removeBatch(hits[i:min(i+batch, len(hits))])
		if progress != nil {
			progress(len(all), removed)
		}
	}
	if progress != nil && len(hits) == 0 {
		progress(len(all), 0)
	}
	return removed
}

// parallelFilter returns the entries match accepts, in order.
func parallelFilter(all []*Entry, match func(*Entry) bool) []*Entry {
	workers := runtime.GOMAXPROCS(0)
	if len(all) < 4096 || workers == 1 {
		var out []*Entry
		for _, e := range all {
			if match(e) {
				out = append(out, e)
			}
		}
		return out
	}
	parts := make([][]*Entry, workers)
	var wg sync.WaitGroup
	chunk := (len(all) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(all))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(w int, part []*Entry) {
			defer wg.Done()
			for _, e := range part {
				if match(e) {
					parts[w] = append(parts[w], e)
				}
			}
		}(w, all[lo:hi])
	}
	wg.Wait()
	var out []*Entry
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Entries returns the entries match accepts (all when nil), sorted by
// storage key.
func (z *Zone) Entries(match func(*Entry) bool) []*Entry {
	all := z.t.snapshot()
	if match != nil {
		all = parallelFilter(all, match)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].skey < all[j].skey })
	return all
}

// housekeeping drops vary records whose variants are all gone and
// forgets expired pass marks.
func (z *Zone) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		z.pubMu.Lock()
		z.vary.sweep(func(s string) bool { return z.t.get(s) != nil })
		z.pubMu.Unlock()
		now := time.Now()
		z.flightMu.Lock()
		for k, until := range z.pass {
			if now.After(until) {
				delete(z.pass, k)
			}
		}
		z.flightMu.Unlock()
	}
}

// Flight is one origin fetch that concurrent misses for a key wait for.
type Flight struct {
	done   chan struct{}
	stored bool
}

// Acquire joins the fetch in flight for key, or starts one: leader is
// true for the caller that must fetch and then call Release.
func (z *Zone) Acquire(key string) (f *Flight, leader bool) {
	z.flightMu.Lock()
	defer z.flightMu.Unlock()
	if f := z.flights[key]; f != nil {
		return f, false
	}
	f = &Flight{done: make(chan struct{})}
	z.flights[key] = f
	return f, true
}

// Release ends the leader's fetch; stored tells the waiters whether the
// response is now in the zone.
func (z *Zone) Release(key string, f *Flight, stored bool) {
	z.flightMu.Lock()
	if z.flights[key] == f {
		delete(z.flights, key)
	}
	z.flightMu.Unlock()
	f.stored = stored
	close(f.done)
}

// Wait waits for the leader's fetch, at most d; it reports whether the
// fetch ended (then Stored tells how) rather than the wait.
func (f *Flight) Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// Stored reports whether the finished fetch stored a response.
func (f *Flight) Stored() bool { return f.stored }

// MarkPass remembers for d that key's responses are not cacheable, so that
// requests for it stop waiting on each other.
func (z *Zone) MarkPass(key string, d time.Duration) {
	z.flightMu.Lock()
	if len(z.pass) > 100000 {
		clear(z.pass)
	}
	z.pass[key] = time.Now().Add(d)
	z.flightMu.Unlock()
}

// Passing reports whether key is marked not cacheable.
func (z *Zone) Passing(key string) bool {
	z.flightMu.Lock()
	until, ok := z.pass[key]
	z.flightMu.Unlock()
	return ok && time.Now().Before(until)
}

// ClearPass forgets a pass mark (the response became cacheable).
func (z *Zone) ClearPass(key string) {
	z.flightMu.Lock()
	delete(z.pass, key)
	z.flightMu.Unlock()
}

// varyIndex records, per key whose responses Vary, the fields they vary
// on and the variants seen.
type varyIndex struct {
	mu sync.RWMutex
	m  map[string]*varyInfo
	n  atomic.Int64
}

type varyInfo struct {
	names    []string
	variants []uint64
}

// set records that key's response varies on names (none: it does not
// vary) with the given variant, and returns the storage keys that the
// change makes obsolete (other variants, or the plain entry).
func (v *varyIndex) set(key string, names []string, variant uint64) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	vi := v.m[key]
	var stale []string
	if len(names) == 0 {
		if vi != nil {
			for _, x := range vi.variants {
				stale = append(stale, storageKey(key, x))
			}
			delete(v.m, key)
			v.n.Store(int64(len(v.m)))
		}
		return stale
	}
	if vi != nil && !slices.Equal(vi.names, names) {
		for _, x := range vi.variants {
			stale = append(stale, storageKey(key, x))
		}
		vi = nil
	}
	if vi == nil {
		vi = &varyInfo{names: slices.Clone(names)}
		v.m[key] = vi
		v.n.Store(int64(len(v.m)))
		stale = append(stale, key)
	}
	if !slices.Contains(vi.variants, variant) {
		vi.variants = append(vi.variants, variant)
	}
	return stale
}

// drop forgets key and returns its variants' storage keys.
func (v *varyIndex) drop(key string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	vi := v.m[key]
	if vi == nil {
		return nil
	}
	delete(v.m, key)
	v.n.Store(int64(len(v.m)))
	out := make([]string, 0, len(vi.variants))
	for _, x := range vi.variants {
		out = append(out, storageKey(key, x))
	}
	return out
}

// sweep forgets variants (and keys) that no longer exist.
func (v *varyIndex) sweep(exists func(skey string) bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, vi := range v.m {
		vi.variants = slices.DeleteFunc(vi.variants, func(x uint64) bool { return !exists(storageKey(k, x)) })
		if len(vi.variants) == 0 {
			delete(v.m, k)
		}
	}
	v.n.Store(int64(len(v.m)))
}

// Registry: the process's zones.
var zones atomic.Pointer[map[string]*Zone]

// SetZones publishes the process's zones (cmd/stargate at start, tests).
// The proxy-cache plugin looks its zone up here when a snapshot compiles.
func SetZones(zs ...*Zone) {
	m := make(map[string]*Zone, len(zs))
	for _, z := range zs {
		m[z.name] = z
	}
	zones.Store(&m)
}

// Lookup returns a published zone by name.
func Lookup(name string) (*Zone, bool) {
	m := zones.Load()
	if m == nil {
		return nil, false
	}
	z, ok := (*m)[name]
	return z, ok
}

// Zones returns the published zones sorted by name.
func Zones() []*Zone {
	m := zones.Load()
	if m == nil {
		return nil
	}
	out := make([]*Zone, 0, len(*m))
	for _, z := range *m {
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
