package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stargate-edge/stargate/internal/store"
)

var (
	bucketKV   = []byte("kv")
	bucketLog  = []byte("log")
	bucketTTL  = []byte("ttl")
	bucketMeta = []byte("meta")
	metaRev    = []byte("revision")
	metaCompct = []byte("compacted")
)

// Options tunes a Store. The zero value is the production default.
type Options struct {
	// LogKeep is how many revisions of history a watcher can resume from.
	LogKeep int64
	// SweepInterval is how often expired TTL keys are deleted.
	SweepInterval time.Duration
	// MaxBatch caps the operations applied in one transaction.
	MaxBatch int
	Logger   *slog.Logger
}

// Store is the bbolt-backed store.Store.
type Store struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger

	reqs    chan *request
	closing chan struct{}
	done    chan struct{}
	once    sync.Once

	hub hub

	commits atomic.Int64
	ops     atomic.Int64
}

// Stats counts the writer's work: Commits transactions (one fsync each)
// carried Ops operations. Ops/Commits is the group-commit factor.
type Stats struct {
	Commits, Ops int64
}

// Stats returns the write counters since Open.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Ops: s.ops.Load()}
}

var _ store.Store = (*Store)(nil)

type opKind int

const (
	opPut opKind = iota
	opDelete
	opCompact
)

type request struct {
	kind  opKind
	key   string
	value []byte
	opts  store.PutOptions
	rev   int64 // compact target; for a sweep, the expected mod revision
	sweep bool  // a TTL expiry delete: deletes a key that already reads as gone
	res   store.KV
	ev    *store.Event
	err   error
	done  chan struct{}
}

// Open opens (creating if needed) the store file at path. A second process
// opening the same file fails after a second instead of waiting forever.
func Open(path string, opts Options) (*Store, error) {
	if opts.LogKeep <= 0 {
		opts.LogKeep = 100_000
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = 250 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: open %s: file is locked by another process", path)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKV, bucketLog, bucketTTL, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		opts:    opts,
		log:     opts.Logger,
		reqs:    make(chan *request, 4096),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.hub.subs = map[*subscriber]struct{}{}
	if err := db.View(func(tx *bolt.Tx) error {
		s.hub.rev = getInt(tx.Bucket(bucketMeta), metaRev)
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: read revision: %w", err)
	}
	go s.writer()
	go s.sweeper()
	return s, nil
}

// record layout in bucket kv: createRev(8) modRev(8) expireUnixNano(8) value.
const hdr = 24

func encodeRecord(create, mod, expire int64, value []byte) []byte {
	b := make([]byte, hdr+len(value))
	binary.BigEndian.PutUint64(b[0:], uint64(create))
	binary.BigEndian.PutUint64(b[8:], uint64(mod))
	binary.BigEndian.PutUint64(b[16:], uint64(expire))
	copy(b[hdr:], value)
	return b
}

func decodeRecord(key string, b []byte) (kv store.KV, expire int64) {
	kv.Key = key
	kv.CreateRevision = int64(binary.BigEndian.Uint64(b[0:]))
	kv.ModRevision = int64(binary.BigEndian.Uint64(b[8:]))
	expire = int64(binary.BigEndian.Uint64(b[16:]))
	kv.Value = append([]byte{}, b[hdr:]...)
	return kv, expire
}

func expired(expire int64, now int64) bool { return expire != 0 && now >= expire }

func getInt(b *bolt.Bucket, k []byte) int64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func putInt(b *bolt.Bucket, k []byte, v int64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	return b.Put(k, buf[:])
}

func revKey(rev int64) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(rev))
	return buf[:]
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := s.alive(ctx); err != nil {
		return store.KV{}, err
	}
	var kv store.KV
	stale := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKV).Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		var exp int64
		kv, exp = decodeRecord(key, v)
		if expired(exp, time.Now().UnixNano()) {
			stale = true
			return store.ErrNotFound
		}
		return nil
	})
	if stale {
		// Expire it now, so that a reader that saw it gone also finds its
		// delete event and revision (as with an etcd lease).
		s.expire(ctx, key, kv.ModRevision)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.KV{}, fmt.Errorf("boltstore: get %s: %w", key, store.ErrNotFound)
		}
		return store.KV{}, fmt.Errorf("boltstore: get %s: %w", key, err)
	}
	return kv, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	if err := s.alive(ctx); err != nil {
		return nil, 0, err
	}
	var out []store.KV
	var rev int64
	var stale []store.KV
	list := func() error {
		out, stale = out[:0], stale[:0]
		now := time.Now().UnixNano()
		return s.db.View(func(tx *bolt.Tx) error {
			rev = getInt(tx.Bucket(bucketMeta), metaRev)
			c := tx.Bucket(bucketKV).Cursor()
			p := []byte(prefix)
			for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
				kv, exp := decodeRecord(string(k), v)
				if expired(exp, now) {
					stale = append(stale, kv)
					continue
				}
				out = append(out, kv)
			}
			return nil
		})
	}
	err := list()
	if err == nil && len(stale) > 0 {
		// Expire what the listing skipped, then list again: the returned
		// revision then covers their delete events.
		for _, kv := range stale {
			s.expire(ctx, kv.Key, kv.ModRevision)
		}
		err = list()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("boltstore: list %s: %w", prefix, err)
	}
	return out, rev, nil
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.alive(ctx); err != nil {
		return 0, err
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.hub.rev, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts ...store.PutOption) (store.KV, error) {
	r := &request{kind: opPut, key: key, value: append([]byte{}, value...), opts: store.Resolve(opts)}
	if err := s.submit(ctx, r); err != nil {
		return store.KV{}, fmt.Errorf("boltstore: put %s: %w", key, err)
	}
	return r.res, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, opts ...store.PutOption) (store.KV, error) {
	r := &request{kind: opDelete, key: key, opts: store.Resolve(opts)}
	if err := s.submit(ctx, r); err != nil {
		return store.KV{}, fmt.Errorf("boltstore: delete %s: %w", key, err)
	}
	return r.res, nil
}

// Compact drops watch history up to and including rev; watchers asking for
// older revisions get store.ErrCompacted.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	r := &request{kind: opCompact, rev: rev}
	if err := s.submit(ctx, r); err != nil {
		return fmt.Errorf("boltstore: compact %d: %w", rev, err)
	}
	return nil
}

func (s *Store) alive(ctx context.Context) error {
	select {
	case <-s.closing:
		return store.ErrClosed
	default:
	}
	return ctx.Err()
}

// submit queues a write and waits for its commit. Once queued, a write is
// not abandoned when ctx ends: the caller returns early, but the write still
// commits or fails as a whole, never half-way.
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := s.alive(ctx); err != nil {
		return err
	}
	r.done = make(chan struct{})
	select {
	case s.reqs <- r:
	case <-s.closing:
		return store.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the writer after the queued writes and closes the file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		<-s.done
		s.hub.closeAll()
		err = s.db.Close()
	})
	return err
}

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.closing:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-s.reqs:
					s.commit([]*request{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit applies a batch in one transaction, then publishes its events and
// releases the waiters. If the transaction itself fails, every request in it
// fails: nothing of the batch is visible.
func (s *Store) commit(batch []*request) {
	var events []store.Event
	var newRev int64
	now := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		events = events[:0]
		kvb, logb, ttlb, meta := tx.Bucket(bucketKV), tx.Bucket(bucketLog), tx.Bucket(bucketTTL), tx.Bucket(bucketMeta)
		rev := getInt(meta, metaRev)
		for _, r := range batch {
			r.err, r.ev = nil, nil
			switch r.kind {
			case opCompact:
				r.err = s.compactTx(logb, meta, r.rev, rev)
				continue
			}
			cur := kvb.Get([]byte(r.key))
			var prev store.KV
			var prevExp int64
			exists := cur != nil
			if exists {
				prev, prevExp = decodeRecord(r.key, cur)
				if expired(prevExp, now.UnixNano()) {
					// Logically gone: the sweeper will publish its delete
					// unless this write replaces it first.
					exists = false
				}
			}
			if r.sweep {
				if cur == nil || prev.ModRevision != r.rev || !expired(prevExp, now.UnixNano()) {
					r.err = store.ErrConflict // rewritten since the scan
					continue
				}
			} else if r.opts.CheckRevision {
				want := r.opts.IfModRevision
				if (want == 0 && exists) || (want != 0 && (!exists || prev.ModRevision != want)) {
					r.err = store.ErrConflict
					continue
				}
			}
			switch r.kind {
			case opPut:
				rev++
				create := rev
				if exists {
					create = prev.CreateRevision
				}
				var exp int64
				if r.opts.TTL > 0 {
					secs := (r.opts.TTL + time.Second - 1) / time.Second
					exp = now.Add(secs * time.Second).UnixNano()
				}
				if cur != nil && prevExp != 0 {
					if err := ttlb.Delete(ttlKey(prevExp, r.key)); err != nil {
						return err
					}
				}
				if err := kvb.Put([]byte(r.key), encodeRecord(create, rev, exp, r.value)); err != nil {
					return err
				}
				if exp != 0 {
					if err := ttlb.Put(ttlKey(exp, r.key), nil); err != nil {
						return err
					}
				}
				r.res = store.KV{Key: r.key, Value: r.value, CreateRevision: create, ModRevision: rev}
				r.ev = &store.Event{Type: store.EventPut, KV: r.res}
			case opDelete:
				if !exists && !r.sweep {
					r.err = store.ErrNotFound
					continue
				}
				rev++
				if err := kvb.Delete([]byte(r.key)); err != nil {
					return err
				}
				if prevExp != 0 {
					if err := ttlb.Delete(ttlKey(prevExp, r.key)); err != nil {
						return err
					}
				}
				r.res = prev
				r.ev = &store.Event{Type: store.EventDelete, KV: store.KV{Key: r.key, CreateRevision: prev.CreateRevision, ModRevision: rev}}
			}
			if err := logb.Put(revKey(rev), encodeEvent(*r.ev)); err != nil {
				return err
			}
			events = append(events, *r.ev)
		}
		newRev = rev
		if err := putInt(meta, metaRev, rev); err != nil {
			return err
		}
		// Keep the history bounded; compacting in the same transaction
		// costs no extra fsync.
		if c := getInt(meta, metaCompct); rev-c > 2*s.opts.LogKeep {
			return s.compactTx(logb, meta, rev-s.opts.LogKeep, rev)
		}
		return nil
	})
	if err != nil {
		s.log.Error("boltstore: commit failed", "err", err, "batch", len(batch))
		for _, r := range batch {
			r.err = fmt.Errorf("%w: %v", store.ErrUnavailable, err)
			close(r.done)
		}
		return
	}
	s.commits.Add(1)
	s.ops.Add(int64(len(batch)))
	s.hub.publish(newRev, events)
	for _, r := range batch {
		close(r.done)
	}
}

func (s *Store) compactTx(logb, meta *bolt.Bucket, upto, cur int64) error {
	if upto > cur {
		upto = cur
	}
	if upto <= getInt(meta, metaCompct) {
		return nil
	}
	c := logb.Cursor()
	for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= upto; k, _ = c.Next() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return putInt(meta, metaCompct, upto)
}

func ttlKey(exp int64, key string) []byte {
	b := make([]byte, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(exp))
	copy(b[8:], key)
	return b
}

// expire deletes one expired key now (a reader found it expired before the
// sweeper did). A rewrite since then wins; errors are the sweeper's to log.
func (s *Store) expire(ctx context.Context, key string, rev int64) {
	_ = s.submit(ctx, &request{kind: opDelete, key: key, sweep: true, rev: rev})
}

// sweeper deletes expired keys through the writer so that watchers see
// their deletion like any other.
func (s *Store) sweeper() {
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		type due struct {
			key string
			rev int64
		}
		var list []due
		now := time.Now().UnixNano()
		_ = s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketTTL).Cursor()
			kvb := tx.Bucket(bucketKV)
			for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k[:8])) <= now; k, _ = c.Next() {
				key := string(k[8:])
				if v := kvb.Get(k[8:]); v != nil {
					kv, _ := decodeRecord(key, v)
					list = append(list, due{key, kv.ModRevision})
				}
			}
			return nil
		})
		for _, d := range list {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			// CAS on the revision: a rewrite since the scan wins.
			err := s.submit(ctx, &request{kind: opDelete, key: d.key, sweep: true, rev: d.rev})
			cancel()
			if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrClosed) {
				s.log.Warn("boltstore: ttl sweep", "key", d.key, "err", err)
			}
		}
	}
}

// event log encoding: type(1) createRev(8) modRev(8) keyLen(4) key value.
func encodeEvent(e store.Event) []byte {
	b := make([]byte, 21+len(e.KV.Key)+len(e.KV.Value))
	b[0] = byte(e.Type)
	binary.BigEndian.PutUint64(b[1:], uint64(e.KV.CreateRevision))
	binary.BigEndian.PutUint64(b[9:], uint64(e.KV.ModRevision))
	binary.BigEndian.PutUint32(b[17:], uint32(len(e.KV.Key)))
	copy(b[21:], e.KV.Key)
	copy(b[21+len(e.KV.Key):], e.KV.Value)
	return b
}

func decodeEvent(b []byte) store.Event {
	var e store.Event
	e.Type = store.EventType(b[0])
	e.KV.CreateRevision = int64(binary.BigEndian.Uint64(b[1:]))
	e.KV.ModRevision = int64(binary.BigEndian.Uint64(b[9:]))
	n := int(binary.BigEndian.Uint32(b[17:]))
	e.KV.Key = string(b[21 : 21+n])
	if v := b[21+n:]; len(v) > 0 {
		e.KV.Value = append([]byte{}, v...)
	}
	return e
}
