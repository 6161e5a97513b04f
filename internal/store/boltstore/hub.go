package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/stargate-edge/stargate/internal/store"
)

// hub fans committed events out to watchers. publish and subscribe both
// hold mu, and subscribe reads history only up to hub.rev (the last
// published revision), so a watcher sees every revision exactly once.
type hub struct {
	mu   sync.Mutex
	rev  int64
	subs map[*subscriber]struct{}
}

// subscriber queues events without bound so a slow watcher never stalls the
// writer; its pump goroutine delivers them in order.
type subscriber struct {
	prefix  string
	mu      sync.Mutex
	pending []store.WatchResponse
	wake    chan struct{}
	closed  bool
}

func (sub *subscriber) push(r store.WatchResponse) {
	sub.mu.Lock()
	if !sub.closed {
		sub.pending = append(sub.pending, r)
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (h *hub) publish(rev int64, events []store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rev = rev
	if len(events) == 0 {
		return
	}
	for sub := range h.subs {
		var mine []store.Event
		for _, e := range events {
			if strings.HasPrefix(e.KV.Key, sub.prefix) {
				mine = append(mine, e)
			}
		}
		if len(mine) > 0 {
			sub.push(store.WatchResponse{Events: mine, Revision: rev})
		}
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		sub.push(store.WatchResponse{Err: store.ErrClosed})
		delete(h.subs, sub)
	}
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	out := make(chan store.WatchResponse, 16)
	sub := &subscriber{prefix: prefix, wake: make(chan struct{}, 1)}
	if err := s.alive(ctx); err != nil {
		out <- store.WatchResponse{Err: err}
		close(out)
		return out
	}

	s.hub.mu.Lock()
	history, err := s.history(prefix, fromRev, s.hub.rev)
	if err == nil {
		s.hub.subs[sub] = struct{}{}
		if len(history.Events) > 0 {
			sub.pending = append(sub.pending, history)
		}
	}
	s.hub.mu.Unlock()
	if err != nil {
		out <- store.WatchResponse{Err: err}
		close(out)
		return out
	}

	go func() {
		defer close(out)
		defer func() {
			s.hub.mu.Lock()
			delete(s.hub.subs, sub)
			s.hub.mu.Unlock()
			sub.mu.Lock()
			sub.closed, sub.pending = true, nil
			sub.mu.Unlock()
		}()
		for {
			sub.mu.Lock()
			batch := sub.pending
			sub.pending = nil
			sub.mu.Unlock()
			for _, r := range batch {
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
				if r.Err != nil {
					return
				}
			}
			select {
			case <-sub.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// history reads the logged events in (fromRev, upto] under prefix.
func (s *Store) history(prefix string, fromRev, upto int64) (store.WatchResponse, error) {
	resp := store.WatchResponse{Revision: upto}
	if fromRev >= upto {
		return resp, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if c := getInt(tx.Bucket(bucketMeta), metaCompct); fromRev < c {
			return fmt.Errorf("boltstore: watch from %d, compacted up to %d: %w", fromRev, c, store.ErrCompacted)
		}
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Seek(revKey(fromRev + 1)); k != nil; k, v = c.Next() {
			if int64(binary.BigEndian.Uint64(k)) > upto {
				break
			}
			e := decodeEvent(v)
			if strings.HasPrefix(e.KV.Key, prefix) {
				resp.Events = append(resp.Events, e)
			}
		}
		return nil
	})
	return resp, err
}
