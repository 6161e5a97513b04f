package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stargate-edge/stargate/internal/store"
)

// Defaults for zero Config fields.
const (
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 5 * time.Second
)

// Config configures New.
type Config struct {
	// Endpoints are the etcd client URLs, e.g. "http://127.0.0.1:2379".
	Endpoints []string
	// DialTimeout bounds New's check that the cluster answers (default 5s).
	DialTimeout time.Duration
	// RequestTimeout bounds each unary call whose context has no deadline
	// (default 5s; negative means none). Watches are never bounded.
	RequestTimeout time.Duration
	// Prefix, if set, is prepended to every key in etcd and stripped from
	// every key returned, so several stores (or tests) can share a cluster.
	// It is a plain byte prefix: List and Watch of "" cover every etcd key
	// starting with it, so no store's Prefix may be a prefix of another's
	// ("/a/" and "/b/", not "/a" and "/ab"). Leave it empty for
	// APISIX-compatible keys.
	Prefix string
}

// Store is a store.Store backed by etcd.
type Store struct {
	c          *clientv3.Client
	prefix     string
	reqTimeout time.Duration

	// mu is held shared by every unary call for its duration and
	// exclusively by Close, so Close lets pending calls finish.
	mu     sync.RWMutex
	closed bool
	done   chan struct{} // closed by Close; stops watch goroutines
	wg     sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// New connects to etcd and checks, within cfg.DialTimeout, that the cluster
// answers a linearizable read. An unreachable cluster is store.ErrUnavailable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcdstore: no endpoints configured")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	switch {
	case cfg.RequestTimeout == 0:
		cfg.RequestTimeout = DefaultRequestTimeout
	case cfg.RequestTimeout < 0:
		cfg.RequestTimeout = 0
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		// Detect a dead connection under a long-lived watch. etcd's
		// default keepalive enforcement allows pings every 5s.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		// The client's own zap logger writes JSON to stderr; errors
		// reach the caller through return values instead.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdstore: creating client for %v: %w", cfg.Endpoints, err)
	}
	s := &Store{
		c:          c,
		prefix:     cfg.Prefix,
		reqTimeout: cfg.RequestTimeout,
		done:       make(chan struct{}),
	}
	// Client creation does not dial; a read shows the cluster is there.
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := s.revision(pctx); err != nil {
		_ = c.Close()
		return nil, wrapCtx(pctx, fmt.Sprintf("connecting to %v", cfg.Endpoints), err)
	}
	return s, nil
}

// begin guards a unary call: it fails once the store is closed, holds mu
// shared until end is called, and applies the request timeout.
func (s *Store) begin(ctx context.Context) (_ context.Context, end func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, nil, store.ErrClosed
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok && s.reqTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.reqTimeout)
	}
	return ctx, func() { cancel(); s.mu.RUnlock() }, nil
}

// Get returns one key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	op := fmt.Sprintf("get %q", key)
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return store.KV{}, wrap(op, err)
	}
	defer end()
	resp, err := s.c.Get(ctx, s.prefix+key)
	if err != nil {
		return store.KV{}, wrapCtx(ctx, op, err)
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, wrap(op, store.ErrNotFound)
	}
	return s.kv(resp.Kvs[0].Key, resp.Kvs[0].Value, resp.Kvs[0].CreateRevision, resp.Kvs[0].ModRevision), nil
}

// List returns every key with the prefix in key order and the revision of
// the read.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	op := fmt.Sprintf("list %q", prefix)
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	defer end()
	resp, err := s.c.Get(ctx, s.prefix+prefix,
		clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, wrapCtx(ctx, op, err)
	}
	kvs := make([]store.KV, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		kvs = append(kvs, s.kv(kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision))
	}
	return kvs, resp.Header.Revision, nil
}

// Put writes a key, conditionally with store.IfModRevision, expiring with
// store.WithTTL. The returned KV's Value is value itself (not a copy).
func (s *Store) Put(ctx context.Context, key string, value []byte, opts ...store.PutOption) (store.KV, error) {
	op := fmt.Sprintf("put %q", key)
	o := store.Resolve(opts)
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return store.KV{}, wrap(op, err)
	}
	defer end()

	k := s.prefix + key
	var putOpts []clientv3.OpOption
	var lease clientv3.LeaseID
	if o.TTL > 0 {
		secs := int64((o.TTL + time.Second - 1) / time.Second)
		lr, err := s.c.Grant(ctx, secs)
		if err != nil {
			return store.KV{}, wrapCtx(ctx, op+": granting lease", err)
		}
		lease = lr.ID
		putOpts = append(putOpts, clientv3.WithLease(lease))
	}
	txn := s.c.Txn(ctx)
	if o.CheckRevision {
		txn = txn.If(revisionIs(k, o.IfModRevision))
	}
	// The keys-only Get runs after the Put inside the transaction and sees
	// it, returning both revisions without sending the value back.
	resp, err := txn.Then(
		clientv3.OpPut(k, string(value), putOpts...),
		clientv3.OpGet(k, clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		// The put may have been applied; the lease must stay.
		return store.KV{}, wrapCtx(ctx, op, err)
	}
	if !resp.Succeeded {
		if lease != 0 {
			// Nothing is attached to it; it would expire anyway.
			_, _ = s.c.Revoke(ctx, lease)
		}
		return store.KV{}, wrap(fmt.Sprintf("%s if mod revision %d", op, o.IfModRevision), store.ErrConflict)
	}
	rr := resp.Responses[1].GetResponseRange()
	if rr == nil || len(rr.Kvs) != 1 {
		return store.KV{}, fmt.Errorf("etcdstore: %s: transaction returned no key", op)
	}
	kv := rr.Kvs[0]
	return store.KV{Key: key, Value: value, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision}, nil
}

// Delete removes a key and returns its last version.
func (s *Store) Delete(ctx context.Context, key string, opts ...store.PutOption) (store.KV, error) {
	op := fmt.Sprintf("delete %q", key)
	o := store.Resolve(opts)
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return store.KV{}, wrap(op, err)
	}
	defer end()

	k := s.prefix + key
	txn := s.c.Txn(ctx)
	if o.CheckRevision {
		txn = txn.If(revisionIs(k, o.IfModRevision))
	}
	resp, err := txn.Then(clientv3.OpDelete(k, clientv3.WithPrevKV())).Commit()
	if err != nil {
		return store.KV{}, wrapCtx(ctx, op, err)
	}
	if !resp.Succeeded {
		return store.KV{}, wrap(fmt.Sprintf("%s if mod revision %d", op, o.IfModRevision), store.ErrConflict)
	}
	dr := resp.Responses[0].GetResponseDeleteRange()
	if dr == nil || dr.Deleted == 0 || len(dr.PrevKvs) == 0 {
		return store.KV{}, wrap(op, store.ErrNotFound)
	}
	prev := dr.PrevKvs[0]
	return s.kv(prev.Key, prev.Value, prev.CreateRevision, prev.ModRevision), nil
}

// Revision returns the cluster's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return 0, wrap("revision", err)
	}
	defer end()
	rev, err := s.revision(ctx)
	if err != nil {
		return 0, wrapCtx(ctx, "revision", err)
	}
	return rev, nil
}

// revision reads the header revision of a linearizable count-only range.
func (s *Store) revision(ctx context.Context) (int64, error) {
	resp, err := s.c.Get(ctx, s.prefix+"/", clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

// Watch streams every change under prefix after fromRev. See the package
// documentation for how it ends.
//
// A response's Revision is the ModRevision of its last event: etcd's header
// revision can run ahead of the events of a catching-up watcher when it
// splits a long history, and resuming from it would skip events.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		ch := make(chan store.WatchResponse, 1)
		ch <- store.WatchResponse{Err: wrap(fmt.Sprintf("watch %q", prefix), store.ErrClosed)}
		close(ch)
		return ch
	}
	s.wg.Add(1)
	s.mu.RUnlock()

	if fromRev < 0 {
		fromRev = 0
	}
	out := make(chan store.WatchResponse)
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.c.Watch(wctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev+1))
	go func() {
		defer s.wg.Done()
		defer close(out)
		// The client keeps the watch (and its stream) until wctx ends.
		defer cancel()
		op := fmt.Sprintf("watch %q from revision %d", prefix, fromRev)
		// send delivers r unless the watcher or the store goes away.
		send := func(r store.WatchResponse) bool {
			select {
			case out <- r:
				return true
			case <-ctx.Done():
				return false
			case <-s.done:
				s.sendClosed(out, op)
				return false
			}
		}
		for {
			var (
				wr clientv3.WatchResponse
				ok bool
			)
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				s.sendClosed(out, op)
				return
			case wr, ok = <-wch:
			}
			if ctx.Err() != nil {
				return
			}
			if !ok {
				select {
				case <-s.done:
					s.sendClosed(out, op)
				default:
					send(store.WatchResponse{Err: fmt.Errorf("etcdstore: %s: %w: watch channel closed", op, store.ErrUnavailable)})
				}
				return
			}
			if err := wr.Err(); err != nil {
				if wr.CompactRevision != 0 {
					err = fmt.Errorf("%w (compacted up to revision %d)", err, wr.CompactRevision)
				}
				send(store.WatchResponse{Err: wrap(op, err)})
				return
			}
			if len(wr.Events) == 0 {
				continue // created or progress notification
			}
			r := store.WatchResponse{Events: make([]store.Event, 0, len(wr.Events))}
			for _, ev := range wr.Events {
				e := store.Event{KV: store.KV{
					Key:         strings.TrimPrefix(string(ev.Kv.Key), s.prefix),
					ModRevision: ev.Kv.ModRevision,
				}}
				switch ev.Type {
				case clientv3.EventTypePut:
					e.Type = store.EventPut
					e.KV.Value = ev.Kv.Value
					e.KV.CreateRevision = ev.Kv.CreateRevision
				case clientv3.EventTypeDelete:
					e.Type = store.EventDelete
				}
				r.Events = append(r.Events, e)
			}
			r.Revision = r.Events[len(r.Events)-1].KV.ModRevision
			if !send(r) {
				return
			}
		}
	}()
	return out
}

// sendClosed tells a waiting watcher that the store closed, without blocking
// Close on a watcher that is not reading.
func (s *Store) sendClosed(out chan<- store.WatchResponse, op string) {
	select {
	case out <- store.WatchResponse{Err: fmt.Errorf("etcdstore: %s: %w", op, store.ErrClosed)}:
	default:
	}
}

// Close waits for pending calls, ends every watch and closes the client.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	if err := s.c.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcdstore: closing client: %w", err)
	}
	return nil
}

func (s *Store) kv(key, value []byte, createRev, modRev int64) store.KV {
	return store.KV{
		Key:            strings.TrimPrefix(string(key), s.prefix),
		Value:          value,
		CreateRevision: createRev,
		ModRevision:    modRev,
	}
}

// revisionIs is the compare of store.IfModRevision: an absent key has
// CreateRevision 0.
func revisionIs(key string, rev int64) clientv3.Cmp {
	if rev == 0 {
		return clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", rev)
}

// wrapCtx is wrap for the error of a call made with ctx. When ctx has ended,
// its error joins the chain, whatever form the client gave the failure.
func wrapCtx(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", cerr, err)
	}
	return wrap(op, err)
}

// wrap prefixes err with where it came from and maps client errors onto the
// store's sentinels, keeping the original in the chain.
func wrap(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrCompacted),
		errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("etcdstore: %s: %w", op, err)
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("etcdstore: %s: %w: %w", op, store.ErrCompacted, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("etcdstore: %s: %w", op, err)
	case unavailable(err):
		return fmt.Errorf("etcdstore: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("etcdstore: %s: %w", op, err)
}

// unavailable reports errors that mean "try again later": a deadline, no
// connection, no leader, a server-side timeout.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// An etcd 3.4 server whose own copy of the request deadline passes
	// (it can pass just before the client's) answers with the bare context
	// error, which gRPC sends as Unknown.
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unknown && st.Message() == context.DeadlineExceeded.Error() {
		return true
	}
	var code codes.Code
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else {
		code = status.Code(err)
	}
	return code == codes.Unavailable || code == codes.DeadlineExceeded
}
