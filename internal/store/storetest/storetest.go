package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stargate-edge/stargate/internal/store"
)

// Run runs the contract suite. newStore returns a fresh, empty store and
// arranges its Close with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		desc string
		run  func(t *testing.T, s store.Store)
	}{
		{"get missing", testGetMissing},
		{"put then get", testPutGet},
		{"every write bumps the revision", testRevision},
		{"replace keeps create revision", testReplace},
		{"list", testList},
		{"compare and swap", testCAS},
		{"concurrent create-only puts of one key", testCASRace},
		{"delete", testDelete},
		{"recreate after delete", testRecreate},
		{"ttl", testTTL},
		{"watch from current revision", testWatchLive},
		{"watch from list revision", testWatchFromList},
		{"watch replays history then goes live", testWatchReplay},
		{"watch from the past during concurrent writes", testWatchConcurrent},
		{"watch ends when its context is cancelled", testWatchCancel},
		{"concurrent puts", testConcurrentPuts},
		{"values are byte-exact", testValues},
		{"close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// RunCompaction checks how Watch reports history lost to compaction.
// compact(t, s, rev) must discard the history of s before rev, keeping
// revision rev itself (etcd's Compact semantics).
func RunCompaction(t *testing.T, newStore func(t *testing.T) store.Store, compact func(t *testing.T, s store.Store, rev int64)) {
	t.Run("compaction", func(t *testing.T) {
		s := newStore(t)
		const prefix = "/apisix/routes/"
		var kvs []store.KV
		for i := range 6 {
			kvs = append(kvs, mustPut(t, s, fmt.Sprintf("%s%d", prefix, i), fmt.Sprintf("v%d", i)))
		}
		compactRev := kvs[3].ModRevision
		compact(t, s, compactRev)

		tests := []struct {
			desc    string
			fromRev int64
		}{
			{"from zero", 0},
			{"from the first write", kvs[0].ModRevision},
			{"from two before the compaction revision", compactRev - 2},
		}
		for _, tc := range tests {
			t.Run("watch "+tc.desc+" is compacted", func(t *testing.T) {
				w := startWatch(t, s, prefix, tc.fromRev)
				w.expectEnd(t, store.ErrCompacted)
			})
		}

		t.Run("watch from the compaction revision replays what follows", func(t *testing.T) {
			w := startWatch(t, s, prefix, compactRev)
			got := recs(w.next(t, 2))
			want := []rec{putRec(kvs[4]), putRec(kvs[5])}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			kv := mustPut(t, s, prefix+"live", "x")
			if diff := cmp.Diff([]rec{putRec(kv)}, recs(w.next(t, 1))); diff != "" {
				t.Fatalf("live event (-want +got):\n%s", diff)
			}
			kvs = append(kvs, kv)
		})

		t.Run("data survives compaction", func(t *testing.T) {
			list, _, err := s.List(t.Context(), prefix)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			want := slices.Clone(kvs)
			sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })
			if diff := cmp.Diff(want, list, cmpKV); diff != "" {
				t.Fatalf("List after compaction (-want +got):\n%s", diff)
			}
		})
	})
}

// cmpKV compares values as bytes, so nil and empty are equal.
var cmpKV = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

func mustPut(t *testing.T, s store.Store, key, value string, opts ...store.PutOption) store.KV {
	t.Helper()
	kv, err := s.Put(t.Context(), key, []byte(value), opts...)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return kv
}

func mustGet(t *testing.T, s store.Store, key string) store.KV {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

func mustDelete(t *testing.T, s store.Store, key string) store.KV {
	t.Helper()
	kv, err := s.Delete(t.Context(), key)
	if err != nil {
		t.Fatalf("Delete(%q): %v", key, err)
	}
	return kv
}

func mustRevision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// wantKV fails unless got equals want.
func wantKV(t *testing.T, what string, want, got store.KV) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpKV); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

// wantErr fails unless errors.Is(err, want) (or err is nil when want is).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want errors.Is(err, %v)", what, err, want)
	}
}

// wantAbsent fails unless key does not exist.
func wantAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %+v, %v; want store.ErrNotFound", key, kv, err)
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	mustPut(t, s, "/apisix/routes/1", "r1")
	for _, key := range []string{
		"/apisix/routes/2",
		"/apisix/routes/",   // a prefix of a key is not a key
		"/apisix/routes/1/", // nor is an extension of one
		"/apisix/routes/10",
	} {
		t.Run(key, func(t *testing.T) {
			kv, err := s.Get(t.Context(), key)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get(%q) = %+v, %v; want store.ErrNotFound", key, kv, err)
			}
		})
	}
}

func testPutGet(t *testing.T, s store.Store) {
	before := mustRevision(t, s)
	kv := mustPut(t, s, "/apisix/routes/1", `{"uri":"/a"}`)
	if kv.Key != "/apisix/routes/1" || string(kv.Value) != `{"uri":"/a"}` {
		t.Fatalf("Put returned key %q value %q, want the key and value written", kv.Key, kv.Value)
	}
	if kv.ModRevision <= before {
		t.Fatalf("Put ModRevision %d, want > revision before the write %d", kv.ModRevision, before)
	}
	if kv.CreateRevision != kv.ModRevision {
		t.Fatalf("new key: CreateRevision %d != ModRevision %d", kv.CreateRevision, kv.ModRevision)
	}
	wantKV(t, "Get after Put", kv, mustGet(t, s, "/apisix/routes/1"))
}

func testRevision(t *testing.T, s store.Store) {
	ctx := t.Context()
	var a store.KV
	// Each step makes one write and returns its revision, or 0 for a
	// delete (whose revision only Revision tells).
	steps := []struct {
		desc  string
		write func(t *testing.T) int64
	}{
		{"create", func(t *testing.T) int64 { a = mustPut(t, s, "/apisix/routes/a", "1"); return a.ModRevision }},
		{"create another", func(t *testing.T) int64 { return mustPut(t, s, "/apisix/routes/b", "1").ModRevision }},
		{"replace", func(t *testing.T) int64 { a = mustPut(t, s, "/apisix/routes/a", "2"); return a.ModRevision }},
		{"compare and swap", func(t *testing.T) int64 {
			a = mustPut(t, s, "/apisix/routes/a", "3", store.IfModRevision(a.ModRevision))
			return a.ModRevision
		}},
		{"create-only", func(t *testing.T) int64 {
			return mustPut(t, s, "/apisix/routes/c", "1", store.IfModRevision(0)).ModRevision
		}},
		{"write under another prefix", func(t *testing.T) int64 { return mustPut(t, s, "/stargate/jobs/1", "1").ModRevision }},
		{"delete", func(t *testing.T) int64 { mustDelete(t, s, "/apisix/routes/b"); return 0 }},
		{"put with ttl", func(t *testing.T) int64 {
			return mustPut(t, s, "/apisix/routes/t", "1", store.WithTTL(time.Minute)).ModRevision
		}},
		{"delete the ttl key", func(t *testing.T) int64 { mustDelete(t, s, "/apisix/routes/t"); return 0 }},
		{"compare and swap delete", func(t *testing.T) int64 {
			if _, err := s.Delete(ctx, "/apisix/routes/a", store.IfModRevision(a.ModRevision)); err != nil {
				t.Fatalf("Delete with matching revision: %v", err)
			}
			return 0
		}},
	}
	prev := mustRevision(t, s)
	for _, st := range steps {
		t.Run(st.desc, func(t *testing.T) {
			rev := st.write(t)
			cur := mustRevision(t, s)
			if rev != 0 && cur != rev {
				t.Fatalf("Revision() = %d after a write at %d; want equal", cur, rev)
			}
			if cur <= prev {
				t.Fatalf("revision %d after the write, want > %d before it", cur, prev)
			}
			prev = cur
		})
	}

	t.Run("failed writes do not bump", func(t *testing.T) {
		c := mustGet(t, s, "/apisix/routes/c")
		if _, err := s.Put(ctx, "/apisix/routes/c", []byte("x"), store.IfModRevision(c.ModRevision-1)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale Put: %v, want store.ErrConflict", err)
		}
		if _, err := s.Put(ctx, "/apisix/routes/c", []byte("x"), store.IfModRevision(0)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("create-only Put of an existing key: %v, want store.ErrConflict", err)
		}
		if _, err := s.Delete(ctx, "/apisix/routes/missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Delete of a missing key: %v, want store.ErrNotFound", err)
		}
		if _, err := s.Delete(ctx, "/apisix/routes/c", store.IfModRevision(c.ModRevision+100)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale Delete: %v, want store.ErrConflict", err)
		}
		if _, _, err := s.List(ctx, "/apisix/"); err != nil {
			t.Fatalf("List: %v", err)
		}
		if got := mustRevision(t, s); got != prev {
			t.Fatalf("Revision() = %d after failed writes, want unchanged %d", got, prev)
		}
	})
}

func testReplace(t *testing.T, s store.Store) {
	first := mustPut(t, s, "/apisix/upstreams/1", "v1")
	mustPut(t, s, "/apisix/upstreams/2", "other")
	second := mustPut(t, s, "/apisix/upstreams/1", "v2")
	if second.CreateRevision != first.CreateRevision {
		t.Fatalf("replace: CreateRevision %d, want the original %d", second.CreateRevision, first.CreateRevision)
	}
	if second.ModRevision <= first.ModRevision {
		t.Fatalf("replace: ModRevision %d, want > %d", second.ModRevision, first.ModRevision)
	}
	wantKV(t, "Get after replace", second, mustGet(t, s, "/apisix/upstreams/1"))
}

func testList(t *testing.T, s store.Store) {
	// Written out of order; listed in byte order ('/' < '0' < 'B' < 'a').
	keys := []string{
		"/apisix/routes/b",
		"/apisix/routes2/x",
		"/apisix/routes/a0",
		"/apisix/upstreams/1",
		"/apisix/routes/a",
		"/stargate/jobs/1",
		"/apisix/routes/B",
		"/apisix/route",
		"/apisix/routes/a/b",
	}
	written := map[string]store.KV{}
	var last int64
	for i, k := range keys {
		kv := mustPut(t, s, k, fmt.Sprintf("value %d", i))
		written[k] = kv
		last = kv.ModRevision
	}
	// Replacing a key must not move it in the listing.
	written["/apisix/routes/a"] = mustPut(t, s, "/apisix/routes/a", "replaced")
	last = written["/apisix/routes/a"].ModRevision

	tests := []struct {
		desc   string
		prefix string
		want   []string
	}{
		{"one collection", "/apisix/routes/", []string{
			"/apisix/routes/B", "/apisix/routes/a", "/apisix/routes/a/b", "/apisix/routes/a0", "/apisix/routes/b",
		}},
		{"prefix without trailing slash", "/apisix/routes", []string{
			"/apisix/routes/B", "/apisix/routes/a", "/apisix/routes/a/b", "/apisix/routes/a0", "/apisix/routes/b", "/apisix/routes2/x",
		}},
		{"prefix isolation", "/apisix/routes2/", []string{"/apisix/routes2/x"}},
		{"a key is its own prefix", "/apisix/routes/a0", []string{"/apisix/routes/a0"}},
		{"nested", "/apisix/routes/a/", []string{"/apisix/routes/a/b"}},
		{"all of apisix", "/apisix/", []string{
			"/apisix/route", "/apisix/routes/B", "/apisix/routes/a", "/apisix/routes/a/b", "/apisix/routes/a0",
			"/apisix/routes/b", "/apisix/routes2/x", "/apisix/upstreams/1",
		}},
		{"everything", "", []string{
			"/apisix/route", "/apisix/routes/B", "/apisix/routes/a", "/apisix/routes/a/b", "/apisix/routes/a0",
			"/apisix/routes/b", "/apisix/routes2/x", "/apisix/upstreams/1", "/stargate/jobs/1",
		}},
		{"empty collection", "/apisix/services/", nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, rev, err := s.List(t.Context(), tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			want := []store.KV{}
			for _, k := range tc.want {
				want = append(want, written[k])
			}
			if got == nil {
				got = []store.KV{} // nil and empty are both fine
			}
			if diff := cmp.Diff(want, got, cmpKV); diff != "" {
				t.Fatalf("List(%q) (-want +got):\n%s", tc.prefix, diff)
			}
			if rev < last {
				t.Fatalf("List(%q) revision %d, want >= last write %d", tc.prefix, rev, last)
			}
		})
	}
}

func testCAS(t *testing.T, s store.Store) {
	tests := []struct {
		desc   string
		exists bool
		// rev picks the IfModRevision from the key's two versions.
		rev  func(first, cur store.KV) int64
		want error
	}{
		{"create-only on a new key", false, func(_, _ store.KV) int64 { return 0 }, nil},
		{"create-only on an existing key", true, func(_, _ store.KV) int64 { return 0 }, store.ErrConflict},
		{"current mod revision", true, func(_, cur store.KV) int64 { return cur.ModRevision }, nil},
		{"stale mod revision", true, func(first, _ store.KV) int64 { return first.ModRevision }, store.ErrConflict},
		{"create revision is not mod revision", true, func(_, cur store.KV) int64 { return cur.CreateRevision }, store.ErrConflict},
		{"future mod revision", true, func(_, cur store.KV) int64 { return cur.ModRevision + 1000 }, store.ErrConflict},
		{"revision on a missing key", false, func(_, _ store.KV) int64 { return 1 }, store.ErrConflict},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			key := fmt.Sprintf("/apisix/routes/cas%d", i)
			var first, cur store.KV
			if tc.exists {
				first = mustPut(t, s, key, "first")
				cur = mustPut(t, s, key, "current")
			}
			before := mustRevision(t, s)
			got, err := s.Put(t.Context(), key, []byte("new"), store.IfModRevision(tc.rev(first, cur)))
			wantErr(t, "Put", err, tc.want)
			if tc.want != nil {
				// Nothing was written.
				if rev := mustRevision(t, s); rev != before {
					t.Fatalf("failed CAS moved the revision from %d to %d", before, rev)
				}
				if tc.exists {
					wantKV(t, "Get after failed CAS", cur, mustGet(t, s, key))
				} else {
					wantAbsent(t, s, key)
				}
				return
			}
			wantCreate := got.ModRevision
			if tc.exists {
				wantCreate = cur.CreateRevision
			}
			if got.ModRevision <= before || got.CreateRevision != wantCreate || string(got.Value) != "new" || got.Key != key {
				t.Fatalf("CAS Put returned %+v; want key %q value %q, CreateRevision %d, ModRevision > %d",
					got, key, "new", wantCreate, before)
			}
			wantKV(t, "Get after CAS", got, mustGet(t, s, key))
		})
	}
}

func testCASRace(t *testing.T, s store.Store) {
	const n = 32
	const key = "/apisix/routes/race"
	var wg sync.WaitGroup
	errs := make([]error, n)
	kvs := make([]store.KV, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			kvs[i], errs[i] = s.Put(t.Context(), key, []byte(fmt.Sprint(i)), store.IfModRevision(0))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("create-only puts %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("create-only put %d: %v, want nil or store.ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d create-only puts succeeded", n)
	}
	wantKV(t, "Get after the race", kvs[winner], mustGet(t, s, key))
}

func testDelete(t *testing.T, s store.Store) {
	tests := []struct {
		desc   string
		exists bool
		opts   func(cur store.KV) []store.PutOption
		// want is the error; wantAlt, if set, is also accepted.
		want, wantAlt error
	}{
		{"missing key", false, nil, store.ErrNotFound, nil},
		{"existing key", true, nil, nil, nil},
		{"current mod revision", true, func(cur store.KV) []store.PutOption {
			return []store.PutOption{store.IfModRevision(cur.ModRevision)}
		}, nil, nil},
		{"stale mod revision", true, func(cur store.KV) []store.PutOption {
			return []store.PutOption{store.IfModRevision(cur.ModRevision - 1)}
		}, store.ErrConflict, nil},
		{"create-only condition on an existing key", true, func(store.KV) []store.PutOption {
			return []store.PutOption{store.IfModRevision(0)}
		}, store.ErrConflict, nil},
		// The condition cannot hold and there is nothing to delete:
		// either answer is fair, as long as nothing is written.
		{"revision on a missing key", false, func(store.KV) []store.PutOption {
			return []store.PutOption{store.IfModRevision(5)}
		}, store.ErrConflict, store.ErrNotFound},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			key := fmt.Sprintf("/apisix/routes/del%d", i)
			var cur store.KV
			if tc.exists {
				mustPut(t, s, key, "first")
				cur = mustPut(t, s, key, "current")
			}
			var opts []store.PutOption
			if tc.opts != nil {
				opts = tc.opts(cur)
			}
			before := mustRevision(t, s)
			got, err := s.Delete(t.Context(), key, opts...)
			if tc.wantAlt != nil && errors.Is(err, tc.wantAlt) {
				err = tc.want
			}
			wantErr(t, "Delete", err, tc.want)
			after := mustRevision(t, s)
			if tc.want != nil {
				if after != before {
					t.Fatalf("failed Delete moved the revision from %d to %d", before, after)
				}
				if tc.exists {
					wantKV(t, "Get after failed Delete", cur, mustGet(t, s, key))
				} else {
					wantAbsent(t, s, key)
				}
				return
			}
			wantKV(t, "Delete's returned last version", cur, got)
			if after <= before {
				t.Fatalf("Delete left the revision at %d, want > %d", after, before)
			}
			wantAbsent(t, s, key)
			list, _, err := s.List(t.Context(), key)
			if err != nil || len(list) != 0 {
				t.Fatalf("List(%q) after Delete = %+v, %v; want empty", key, list, err)
			}
		})
	}
}

func testRecreate(t *testing.T, s store.Store) {
	const key = "/apisix/routes/1"
	old := mustPut(t, s, key, "old")
	mustDelete(t, s, key)
	deleted := mustRevision(t, s)
	kv := mustPut(t, s, key, "new", store.IfModRevision(0))
	if kv.CreateRevision != kv.ModRevision || kv.CreateRevision <= deleted {
		t.Fatalf("recreated key: CreateRevision %d ModRevision %d; want both equal and > delete revision %d (old create %d)",
			kv.CreateRevision, kv.ModRevision, deleted, old.CreateRevision)
	}
}

// ttlDeadline is how long after its Put a key with a 1s TTL may still exist:
// the TTL, the backend's expiry sweep (etcd checks leases every 500ms) and
// slack for a loaded machine.
const ttlDeadline = 4 * time.Second

func testTTL(t *testing.T, s store.Store) {
	const (
		prefix  = "/apisix/routes/"
		expires = prefix + "expires"
		keeps   = prefix + "keeps"
		cleared = prefix + "ttl-cleared"
	)
	w := startWatch(t, s, prefix, mustRevision(t, s))
	start := time.Now()
	ttl := mustPut(t, s, expires, "gone soon", store.WithTTL(time.Second))
	keep := mustPut(t, s, keeps, "stays")
	// A plain Put replaces the key entirely, its TTL included.
	c1 := mustPut(t, s, cleared, "ttl", store.WithTTL(time.Second))
	c2 := mustPut(t, s, cleared, "no ttl")
	wantKV(t, "Get right after a TTL put", ttl, mustGet(t, s, expires))

	for {
		_, err := s.Get(t.Context(), expires)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Get(%q): %v", expires, err)
		}
		if time.Since(start) > ttlDeadline {
			t.Fatalf("key with a 1s TTL still exists %v after its Put", ttlDeadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("1s TTL key expired after %v", time.Since(start).Round(time.Millisecond))

	list, rev, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff([]store.KV{keep, c2}, list, cmpKV); diff != "" {
		t.Fatalf("List after expiry (-want +got):\n%s", diff)
	}

	evs := recs(w.next(t, 5))
	if evs[4].Type != store.EventDelete || evs[4].Key != expires || evs[4].ModRevision <= c2.ModRevision || evs[4].ModRevision > rev {
		t.Fatalf("last event %+v; want a delete of %q with a revision in (%d, %d]", evs[4], expires, c2.ModRevision, rev)
	}
	want := []rec{putRec(ttl), putRec(keep), putRec(c1), putRec(c2), delRec(expires, evs[4].ModRevision)}
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}

	// The replaced TTL must not expire the key later.
	if d := 2500*time.Millisecond - time.Since(start); d > 0 {
		time.Sleep(d)
	}
	wantKV(t, "key whose TTL a plain Put removed", c2, mustGet(t, s, cleared))
}

func testWatchLive(t *testing.T, s store.Store) {
	const prefix = "/apisix/routes/"
	w := startWatch(t, s, prefix, mustRevision(t, s))
	r1 := mustPut(t, s, prefix+"1", "a")
	mustPut(t, s, "/apisix/routes2/1", "other prefix")
	mustPut(t, s, "/apisix/upstreams/1", "other collection")
	r2 := mustPut(t, s, prefix+"2", "b")
	r1b := mustPut(t, s, prefix+"1", "a2")
	mustDelete(t, s, prefix+"2")
	delRev := mustRevision(t, s)
	mustPut(t, s, "/apisix/routes2/2", "other prefix")
	sentinel := mustPut(t, s, prefix+"zz", "sentinel")

	want := []rec{putRec(r1), putRec(r2), putRec(r1b), delRec(prefix+"2", delRev), putRec(sentinel)}
	if diff := cmp.Diff(want, recs(w.next(t, len(want)))); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func testWatchFromList(t *testing.T, s store.Store) {
	const prefix = "/apisix/upstreams/"
	a := mustPut(t, s, prefix+"a", "listed")
	list, rev, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	wantKV(t, "listed", a, list[0])
	w := startWatch(t, s, prefix, rev)
	b := mustPut(t, s, prefix+"b", "after the list")
	if diff := cmp.Diff([]rec{putRec(b)}, recs(w.next(t, 1))); diff != "" {
		t.Fatalf("events after List (-want +got):\n%s", diff)
	}
}

func testWatchReplay(t *testing.T, s store.Store) {
	const prefix = "/apisix/routes/"
	mustPut(t, s, prefix+"1", "before")
	mustPut(t, s, prefix+"2", "before")
	from := mustRevision(t, s)
	h1 := mustPut(t, s, prefix+"3", "history")
	mustPut(t, s, "/apisix/services/1", "other prefix")
	h2 := mustPut(t, s, prefix+"1", "history")
	mustDelete(t, s, prefix+"2")
	delRev := mustRevision(t, s)
	h3 := mustPut(t, s, prefix+"2", "history")

	w := startWatch(t, s, prefix, from)
	replay := []rec{putRec(h1), putRec(h2), delRec(prefix+"2", delRev), putRec(h3)}
	if diff := cmp.Diff(replay, recs(w.next(t, len(replay)))); diff != "" {
		t.Fatalf("replayed events (-want +got):\n%s", diff)
	}
	l1 := mustPut(t, s, prefix+"4", "live")
	mustPut(t, s, "/apisix/services/2", "other prefix")
	l2 := mustPut(t, s, prefix+"3", "live")
	live := []rec{putRec(l1), putRec(l2)}
	if diff := cmp.Diff(live, recs(w.next(t, len(live)))); diff != "" {
		t.Fatalf("live events (-want +got):\n%s", diff)
	}
}

func testWatchConcurrent(t *testing.T, s store.Store) {
	const (
		prefix  = "/apisix/routes/"
		writers = 4
		writes  = 50
	)
	var (
		mu      sync.Mutex
		written []store.KV // puts under prefix
		done    atomic.Int64
		wg      sync.WaitGroup
	)
	for i := range writers {
		wg.Go(func() {
			for j := range writes {
				key := fmt.Sprintf("%sw%d-%d", prefix, i, j%7) // replaces keys too
				if j%5 == 4 {
					key = fmt.Sprintf("/apisix/upstreams/w%d-%d", i, j) // outside the prefix
				}
				kv, err := s.Put(t.Context(), key, []byte(fmt.Sprintf("%d/%d", i, j)))
				if err != nil {
					t.Errorf("writer %d: Put(%q): %v", i, key, err)
					return
				}
				if key[:len(prefix)] == prefix {
					mu.Lock()
					written = append(written, kv)
					mu.Unlock()
				}
				done.Add(1)
			}
		})
	}
	waitFor := func(n int64) {
		for done.Load() < n && !t.Failed() {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(writers * writes / 4)
	from := mustRevision(t, s)
	waitFor(writers * writes / 2)
	w := startWatch(t, s, prefix, from)
	atStart := done.Load()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	var want []rec
	seen := map[int64]bool{}
	for _, kv := range written {
		if seen[kv.ModRevision] {
			t.Fatalf("two puts returned ModRevision %d", kv.ModRevision)
		}
		seen[kv.ModRevision] = true
		if kv.ModRevision > from {
			want = append(want, putRec(kv))
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ModRevision < want[j].ModRevision })
	if len(want) == 0 {
		t.Fatal("no writes after the remembered revision; the test did not exercise anything")
	}
	if diff := cmp.Diff(want, recs(w.next(t, len(want)))); diff != "" {
		t.Fatalf("events after revision %d (-want +got):\n%s", from, diff)
	}
	// Nothing extra, nothing twice: the next event is the next write.
	sentinel := mustPut(t, s, prefix+"sentinel", "end")
	if diff := cmp.Diff([]rec{putRec(sentinel)}, recs(w.next(t, 1))); diff != "" {
		t.Fatalf("event after the writers (-want +got):\n%s", diff)
	}
	t.Logf("%d writes under the prefix; watch from revision %d started after %d of %d writes and saw %d events",
		len(seen), from, atStart, writers*writes, len(want))
}

func testWatchCancel(t *testing.T, s store.Store) {
	tests := []struct {
		desc string
		// setup writes and returns the revision to watch from and how
		// many events to read before cancelling.
		setup func(t *testing.T) (fromRev int64, read int)
	}{
		{"idle", func(t *testing.T) (int64, int) { return mustRevision(t, s), 0 }},
		{"after an event", func(t *testing.T) (int64, int) {
			rev := mustRevision(t, s)
			mustPut(t, s, "/apisix/routes/c1", "x")
			return rev, 1
		}},
		{"with unread events", func(t *testing.T) (int64, int) {
			rev := mustRevision(t, s)
			for i := range 10 {
				mustPut(t, s, fmt.Sprintf("/apisix/routes/c%d", i), "x")
			}
			return rev, 1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			from, read := tc.setup(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w := &watcher{desc: "watch", ch: s.Watch(ctx, "/apisix/routes/", from), cancel: cancel}
			w.next(t, read)
			cancel()
			timer := time.NewTimer(closeTimeout)
			defer timer.Stop()
			for {
				select {
				case r, ok := <-w.ch:
					if !ok {
						return
					}
					// Events already queued may still arrive; an
					// error may only be the cancellation.
					if r.Err != nil && !errors.Is(r.Err, context.Canceled) {
						t.Fatalf("after cancel: error %v, want none or context.Canceled", r.Err)
					}
				case <-timer.C:
					t.Fatalf("watch channel still open %v after cancel", closeTimeout)
				}
			}
		})
	}
}

func testConcurrentPuts(t *testing.T, s store.Store) {
	const n = 32
	var wg sync.WaitGroup
	kvs := make([]store.KV, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			kvs[i], errs[i] = s.Put(t.Context(), fmt.Sprintf("/apisix/routes/%02d", i), []byte(fmt.Sprint(i)))
		})
	}
	close(start)
	wg.Wait()
	revs := map[int64]int{}
	var maxRev int64
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if j, dup := revs[kvs[i].ModRevision]; dup {
			t.Fatalf("puts %d and %d both got ModRevision %d", j, i, kvs[i].ModRevision)
		}
		revs[kvs[i].ModRevision] = i
		maxRev = max(maxRev, kvs[i].ModRevision)
	}
	if got := mustRevision(t, s); got != maxRev {
		t.Fatalf("Revision() = %d, want the highest put revision %d", got, maxRev)
	}
	list, _, err := s.List(t.Context(), "/apisix/routes/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff(kvs, list, cmpKV); diff != "" {
		t.Fatalf("List after concurrent puts (-want +got):\n%s", diff)
	}
}

func testValues(t *testing.T, s store.Store) {
	all := make([]byte, 256*4)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	tests := []struct {
		desc  string
		value []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"every byte value", all},
		{"nul and invalid utf-8", []byte("\x00\xff\xfe a\x00b \xc3\x28")},
		{"utf-8 json", []byte(`{"name":"café ☕","uri":"/€"}`)},
		{"1 MiB random", big},
	}
	const prefix = "/apisix/values/"
	w := startWatch(t, s, prefix, mustRevision(t, s))
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			key := fmt.Sprintf("%s%d", prefix, i)
			kv, err := s.Put(t.Context(), key, tc.value)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			check := func(what string, got []byte) {
				t.Helper()
				if !bytes.Equal(got, tc.value) {
					t.Fatalf("%s: value of %d bytes differs from the %d bytes written", what, len(got), len(tc.value))
				}
			}
			check("Put's KV", kv.Value)
			check("Get", mustGet(t, s, key).Value)
			list, _, err := s.List(t.Context(), key)
			if err != nil || len(list) != 1 {
				t.Fatalf("List(%q) = %d keys, %v; want 1", key, len(list), err)
			}
			check("List", list[0].Value)
			ev := w.next(t, 1)[0]
			if ev.Type != store.EventPut || ev.KV.Key != key || ev.KV.ModRevision != kv.ModRevision {
				t.Fatalf("event %v %q at %d, want put %q at %d", ev.Type, ev.KV.Key, ev.KV.ModRevision, key, kv.ModRevision)
			}
			check("Watch", ev.KV.Value)
			old := mustDelete(t, s, key)
			check("Delete's last version", old.Value)
			if ev := w.next(t, 1)[0]; ev.Type != store.EventDelete || len(ev.KV.Value) != 0 {
				t.Fatalf("delete event %v with %d value bytes, want a delete with none", ev.Type, len(ev.KV.Value))
			}
		})
	}
}

func testClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	kv := mustPut(t, s, "/apisix/routes/1", "x")
	w := &watcher{desc: "watch open at Close", ch: s.Watch(ctx, "/apisix/", kv.ModRevision)}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A watch open at Close ends, with nothing or ErrClosed.
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	for open := true; open; {
		select {
		case r, ok := <-w.ch:
			open = ok
			if ok && r.Err != nil && !errors.Is(r.Err, store.ErrClosed) {
				t.Fatalf("%s: error %v, want none or store.ErrClosed", w.desc, r.Err)
			}
		case <-timer.C:
			t.Fatalf("%s: channel still open %v after Close", w.desc, closeTimeout)
		}
	}

	ops := []struct {
		desc string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "/apisix/routes/1"); return err }},
		{"List", func() error { _, _, err := s.List(ctx, "/apisix/"); return err }},
		{"Put", func() error { _, err := s.Put(ctx, "/apisix/routes/2", []byte("x")); return err }},
		{"Delete", func() error { _, err := s.Delete(ctx, "/apisix/routes/1"); return err }},
		{"Revision", func() error { _, err := s.Revision(ctx); return err }},
		{"Watch", func() error {
			wctx, cancel := context.WithTimeout(ctx, closeTimeout)
			defer cancel()
			var err error
			for r := range s.Watch(wctx, "/apisix/", 0) {
				if r.Err != nil {
					err = r.Err
				}
			}
			if wctx.Err() != nil {
				return fmt.Errorf("watch on a closed store stayed open")
			}
			return err
		}},
		{"Close again", func() error {
			if err := s.Close(); err != nil {
				return fmt.Errorf("second Close: %w", err)
			}
			return store.ErrClosed
		}},
	}
	for _, op := range ops {
		t.Run(op.desc, func(t *testing.T) {
			if err := op.call(); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("%s after Close: %v, want store.ErrClosed", op.desc, err)
			}
		})
	}
}
