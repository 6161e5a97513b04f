package traffic

import (
	"hash/maphash"
	"sync"
	"time"
)

// shardCount is small: every configured limit has its own Table, and a
// table must stay cheap when 100k routes carry one.
const shardCount = 8

// DefaultMaxKeys bounds a Table: beyond it, idle entries are dropped and
// then arbitrary ones, as a full nginx shared dict evicts.
const DefaultMaxKeys = 1 << 20

// Table is a sharded map of per-key state (one limit key's counter). Each
// shard has its own lock, so operations on one key are exact under
// concurrency while different keys rarely contend. Idle entries are swept
// lazily by the requests themselves; there is no background goroutine.
type Table[V any] struct {
	seed     maphash.Seed
	perShard int
	every    int64 // sweep interval, ns
	idle     func(v *V, now int64) bool
	shards   [shardCount]Shard[V]
}

// Shard is one lock and its part of the map. Callers lock it around their
// read-modify-write of an entry.
type Shard[V any] struct {
	sync.Mutex
	m         map[string]*V
	nextSweep int64
}

// NewTable returns a table holding at most maxKeys entries (DefaultMaxKeys
// when <= 0). idle reports whether an entry holds no state worth keeping
// at time now (UnixNano); such entries are dropped at most every interval.
func NewTable[V any](maxKeys int, interval time.Duration, idle func(v *V, now int64) bool) *Table[V] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	per := maxKeys / shardCount
	if per < 1 {
		per = 1
	}
	return &Table[V]{seed: maphash.MakeSeed(), perShard: per, every: int64(interval), idle: idle}
}

// Shard returns the shard of key.
func (t *Table[V]) Shard(key string) *Shard[V] {
	return &t.shards[maphash.String(t.seed, key)%shardCount]
}

// Get returns key's entry, creating a zero one; s must be key's shard,
// locked. now is time.Now().UnixNano().
func (t *Table[V]) Get(s *Shard[V], key string, now int64) *V {
	if now >= s.nextSweep {
		t.sweep(s, now)
	}
	if v, ok := s.m[key]; ok {
		return v
	}
	if s.m == nil {
		s.m = make(map[string]*V)
	}
	if len(s.m) >= t.perShard {
		t.sweep(s, now)
		for k := range s.m {
			if len(s.m) < t.perShard {
				break
			}
			delete(s.m, k)
		}
	}
	v := new(V)
	s.m[key] = v
	return v
}

// Lookup returns key's entry without creating it; s must be locked.
func (t *Table[V]) Lookup(s *Shard[V], key string) (*V, bool) {
	v, ok := s.m[key]
	return v, ok
}

// Delete drops key's entry; s must be locked.
func (t *Table[V]) Delete(s *Shard[V], key string) { delete(s.m, key) }

func (t *Table[V]) sweep(s *Shard[V], now int64) {
	s.nextSweep = now + t.every
	if t.idle == nil {
		return
	}
	for k, v := range s.m {
		if t.idle(v, now) {
			delete(s.m, k)
		}
	}
}

// Len counts the entries (for tests).
func (t *Table[V]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.Lock()
		n += len(s.m)
		s.Unlock()
	}
	return n
}
