package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/etcdstore"
	"github.com/stargate-edge/stargate/internal/store/storetest"
	"github.com/stargate-edge/stargate/internal/testutil/etcdtest"
)

// One etcd server for the package; each store gets its own key prefix.
var (
	srv    *etcdtest.Server
	srvErr error
)

type mainWithServer struct{ m *testing.M }

// Run runs the tests and stops the server before goleak looks for leaks.
func (w mainWithServer) Run() int {
	srv, srvErr = etcdtest.StartServer()
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping etcd:", err)
		}
	}()
	return w.m.Run()
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(mainWithServer{m})
}

var storeSeq atomic.Int64

// newStore opens a store under a prefix no other store in this run uses.
func newStore(t *testing.T) store.Store {
	t.Helper()
	etcdtest.Check(t, srvErr)
	s, err := etcdstore.New(t.Context(), etcdstore.Config{
		Endpoints:   srv.Endpoints(),
		DialTimeout: 5 * time.Second,
		// Fixed width: no store's prefix is a prefix of another's.
		Prefix: fmt.Sprintf("/test/%06d", storeSeq.Add(1)),
	})
	if err != nil {
		t.Fatalf("etcdstore.New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newClient is a raw client for what the store does not expose.
func newClient(t *testing.T) *clientv3.Client {
	t.Helper()
	etcdtest.Check(t, srvErr)
	c, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("clientv3.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestContract(t *testing.T) {
	etcdtest.Check(t, srvErr)
	storetest.Run(t, newStore)
}

func TestCompaction(t *testing.T) {
	c := newClient(t)
	storetest.RunCompaction(t, newStore, func(t *testing.T, _ store.Store, rev int64) {
		if _, err := c.Compact(t.Context(), rev, clientv3.WithCompactPhysical()); err != nil {
			t.Fatalf("Compact(%d): %v", rev, err)
		}
	})
}

// TestServerVersion records which server the client was tested against.
func TestServerVersion(t *testing.T) {
	c := newClient(t)
	st, err := c.Status(t.Context(), srv.Endpoints()[0])
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	t.Logf("etcd server %s, client %s", st.Version, "v3.7.3")
}

// TestAPISIXLayout checks that without a prefix keys are stored verbatim,
// as APISIX tooling reads them.
func TestAPISIXLayout(t *testing.T) {
	etcdtest.Check(t, srvErr)
	c := newClient(t)
	s, err := etcdstore.New(t.Context(), etcdstore.Config{Endpoints: srv.Endpoints()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	key := fmt.Sprintf("/apisix/routes/layout-%d", time.Now().UnixNano())
	kv, err := s.Put(t.Context(), key, []byte(`{"uri":"/"}`))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	defer s.Delete(context.Background(), key)
	resp, err := c.Get(t.Context(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw Get(%q) = %v, %v; want one key", key, resp, err)
	}
	got := resp.Kvs[0]
	if string(got.Value) != `{"uri":"/"}` || got.CreateRevision != kv.CreateRevision || got.ModRevision != kv.ModRevision {
		t.Fatalf("raw key %+v, store put %+v", got, kv)
	}
}

// TestUnavailable checks that an unreachable cluster is store.ErrUnavailable
// within the dial timeout, not a hang.
func TestUnavailable(t *testing.T) {
	start := time.Now()
	_, err := etcdstore.New(t.Context(), etcdstore.Config{
		Endpoints:   []string{"http://127.0.0.1:1"},
		DialTimeout: 500 * time.Millisecond,
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("New against a closed port: %v, want store.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("New took %v to fail, want about the 500ms dial timeout", d)
	}
	t.Logf("error: %v", err)
}

// TestUnavailableAfterStop checks calls and watches once the server is gone,
// on a server of its own.
func TestUnavailableAfterStop(t *testing.T) {
	own := etcdtest.Start(t)
	s, err := etcdstore.New(t.Context(), etcdstore.Config{
		Endpoints:      own.Endpoints(),
		RequestTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), "/apisix/routes/1", []byte("x")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := own.Stop(); err != nil {
		t.Fatalf("stopping etcd: %v", err)
	}
	for _, op := range []struct {
		desc string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(t.Context(), "/apisix/routes/1"); return err }},
		{"Put", func() error { _, err := s.Put(t.Context(), "/apisix/routes/1", []byte("y")); return err }},
		{"Revision", func() error { _, err := s.Revision(t.Context()); return err }},
	} {
		t.Run(op.desc, func(t *testing.T) {
			start := time.Now()
			err := op.call()
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%s with etcd stopped: %v, want store.ErrUnavailable", op.desc, err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("%s took %v to fail, want about the 1s request timeout", op.desc, d)
			}
		})
	}
}

// TestNoLeader takes the quorum away from a three-member cluster under a
// store talking to one member: the watch must end with store.ErrUnavailable
// (that is what WithRequireLeader buys) and reads must fail the same way.
func TestNoLeader(t *testing.T) {
	cluster := etcdtest.StartCluster(t, 3)
	s, err := etcdstore.New(t.Context(), etcdstore.Config{
		Endpoints:      cluster.Members[0].Endpoints(),
		RequestTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	kv, err := s.Put(t.Context(), "/apisix/routes/1", []byte("x"))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := s.Watch(ctx, "/apisix/", kv.ModRevision)

	for _, m := range cluster.Members[1:] {
		m.Kill()
	}
	start := time.Now()
	timeout := time.After(15 * time.Second)
	var gotErr error
	for open := true; open; {
		select {
		case r, ok := <-ch:
			open = ok
			if ok && r.Err == nil {
				t.Fatalf("unexpected watch response %+v", r)
			}
			if ok {
				gotErr = r.Err
			}
		case <-timeout:
			t.Fatalf("watch still open %v after the quorum was lost", time.Since(start))
		}
	}
	if !errors.Is(gotErr, store.ErrUnavailable) {
		t.Fatalf("watch ended with %v, want store.ErrUnavailable", gotErr)
	}
	t.Logf("watch ended %v after the quorum was lost: %v", time.Since(start).Round(time.Millisecond), gotErr)

	if _, err := s.Get(t.Context(), "/apisix/routes/1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get without a leader: %v, want store.ErrUnavailable", err)
	}
}
