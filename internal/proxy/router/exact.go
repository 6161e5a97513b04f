package router

import (
	"hash/maphash"
	"maps"
)

// exactMap is a persistent map from an exact path to its entries: the
// table most routes live in ("/r/1", "/api/users").
//
// It replaced a go-immutable-radix tree, which spent about four heap
// objects per path (nodes, leaves and the channel it allocates for each)
// that every garbage collection marks: at 100k routes the router was
// a fifth of the process's objects. Here the paths sit in ordinary Go
// maps, split into up to maxShards shards by hash; an edit copies only the
// shard it touches (about shardTarget paths), so a change stays cheap and
// a published map is never modified, as snapshots require.
type exactMap struct {
	shards []map[string][]*entry // power-of-two length; nil shards are empty
	n      int
}

const (
	shardTarget = 64  // paths per shard the shard count aims for
	maxShards   = 256 // beyond it shards grow instead (a copy of ~n/256 per edit)
)

var (
	exactSeed  = maphash.MakeSeed()
	emptyExact = &exactMap{shards: make([]map[string][]*entry, 1)}
)

// Len is the number of paths.
func (m *exactMap) Len() int { return m.n }

func shardIndex(k string, shards int) int {
	if shards == 1 {
		return 0
	}
	return int(maphash.String(exactSeed, k) & uint64(shards-1))
}

func lookup(shards []map[string][]*entry, k string) ([]*entry, bool) {
	es, ok := shards[shardIndex(k, len(shards))][k]
	return es, ok
}

func (m *exactMap) get(k string) ([]*entry, bool) {
	if m.n == 0 {
		return nil, false // no hashing for the empty tables of most hosts
	}
	return lookup(m.shards, k)
}

// walk calls fn for every path, in no particular order.
func (m *exactMap) walk(fn func(k string, es []*entry)) {
	for _, s := range m.shards {
		for k, es := range s {
			fn(k, es)
		}
	}
}

// txn starts a batch of edits on a private copy of the shard list.
func (m *exactMap) txn() *exactTxn {
	return &exactTxn{shards: append([]map[string][]*entry(nil), m.shards...), owned: make([]bool, len(m.shards)), n: m.n}
}

// exactTxn is a batch of edits; shards are copied on their first write.
type exactTxn struct {
	shards []map[string][]*entry
	owned  []bool
	n      int
}

func (t *exactTxn) get(k string) ([]*entry, bool) { return lookup(t.shards, k) }

func (t *exactTxn) shard(k string) map[string][]*entry {
	i := shardIndex(k, len(t.shards))
	if !t.owned[i] {
		if t.shards[i] == nil {
			t.shards[i] = map[string][]*entry{}
		} else {
			t.shards[i] = maps.Clone(t.shards[i])
		}
		t.owned[i] = true
	}
	return t.shards[i]
}

func (t *exactTxn) insert(k string, es []*entry) {
	s := t.shard(k)
	if _, ok := s[k]; !ok {
		t.n++
	}
	s[k] = es
}

func (t *exactTxn) del(k string) {
	if _, ok := t.get(k); !ok {
		return
	}
	delete(t.shard(k), k)
	t.n--
}

// commit publishes the edits. When the map outgrew its shard count it is
// re-split, which costs one pass over it; that happens only while the
// count doubles up to maxShards (at most maxShards*shardTarget*2 paths).
func (t *exactTxn) commit() *exactMap {
	want := 1
	for want < maxShards && want*shardTarget < t.n {
		want *= 2
	}
	if want <= len(t.shards) {
		return &exactMap{shards: t.shards, n: t.n}
	}
	shards := make([]map[string][]*entry, want)
	for _, s := range t.shards {
		for k, es := range s {
			i := shardIndex(k, want)
			if shards[i] == nil {
				shards[i] = make(map[string][]*entry, shardTarget)
			}
			shards[i][k] = es
		}
	}
	return &exactMap{shards: shards, n: t.n}
}
