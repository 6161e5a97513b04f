package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, open)
}

func TestCompaction(t *testing.T) {
	storetest.RunCompaction(t, open, func(t *testing.T, s store.Store, rev int64) {
		if err := s.(*boltstore.Store).Compact(context.Background(), rev); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGroupCommit: concurrent writers share fsyncs instead of queueing for
// one each.
func TestGroupCommit(t *testing.T) {
	s := open(t).(*boltstore.Store)
	const writers, each = 32, 20
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				if _, err := s.Put(context.Background(), fmt.Sprintf("/k/%d/%d", w, i), []byte("v")); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}(w)
	}
	for w := 0; w < writers; w++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Ops != writers*each {
		t.Fatalf("ops = %d, want %d", st.Ops, writers*each)
	}
	if st.Commits >= st.Ops/2 {
		t.Errorf("commits = %d for %d ops: writes were not batched", st.Commits, st.Ops)
	}
	t.Logf("%d ops in %d commits", st.Ops, st.Commits)
}

// TestReopen: data, revisions and watch history survive a restart, and a
// second process cannot open the same file.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := s.Put(ctx, "/a", []byte("1"))
	b, _ := s.Put(ctx, "/a", []byte("2"))
	if _, err := boltstore.Open(path, boltstore.Options{}); err == nil {
		t.Fatal("second open of a locked file succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kv, err := s.Get(ctx, "/a")
	if err != nil || string(kv.Value) != "2" || kv.CreateRevision != a.ModRevision || kv.ModRevision != b.ModRevision {
		t.Fatalf("after reopen: %+v, %v", kv, err)
	}
	rev, _ := s.Revision(ctx)
	if rev != b.ModRevision {
		t.Fatalf("revision = %d, want %d", rev, b.ModRevision)
	}
	c, _ := s.Put(ctx, "/b", nil)
	if c.ModRevision != rev+1 {
		t.Fatalf("next revision = %d, want %d", c.ModRevision, rev+1)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp := <-s.Watch(wctx, "/", 0)
	if resp.Err != nil || len(resp.Events) != 3 || resp.Events[0].KV.ModRevision != a.ModRevision {
		t.Fatalf("history after reopen: %+v", resp)
	}
}
