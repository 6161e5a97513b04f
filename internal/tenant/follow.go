package tenant

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
)

// follower keeps an in-memory view of one store prefix: reset receives a
// full listing, apply each later change. A watch that ends (compaction,
// a lost connection) reloads. Calls to reset and apply are serialised
// by the caller's own lock inside them.
type follower struct {
	st     store.Store
	prefix string
	log    *slog.Logger
	reset  func(kvs []store.KV, rev int64)
	apply  func(e store.Event, rev int64)
}

// start loads the prefix, then follows it until ctx ends.
func (f *follower) start(ctx context.Context) error {
	load := func() (int64, error) {
		kvs, rev, err := f.st.List(ctx, f.prefix)
		if err != nil {
			return 0, err
		}
		f.reset(kvs, rev)
		return rev, nil
	}
	rev, err := load()
	if err != nil {
		return fmt.Errorf("tenant: load %s: %w", f.prefix, err)
	}
	go func() {
		for ctx.Err() == nil {
			for resp := range f.st.Watch(ctx, f.prefix, rev) {
				if resp.Err != nil {
					if ctx.Err() == nil {
						f.log.Warn("tenant: watch ended, reloading", "prefix", f.prefix, "err", resp.Err)
					}
					break
				}
				for _, e := range resp.Events {
					f.apply(e, resp.Revision)
				}
				rev = resp.Revision
			}
			if ctx.Err() != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
			if r, err := load(); err == nil {
				rev = r
			}
		}
	}()
	return nil
}

// versions remembers the newest revision applied per key, so that the
// synchronous update after a write and the later watch event for it
// commute, and a delete is not undone by a late put. Tombstones are
// dropped once the watch has passed them.
type versions struct {
	rev  map[string]int64
	dead map[string]int64
}

func newVersions() versions {
	return versions{rev: map[string]int64{}, dead: map[string]int64{}}
}

// stale reports whether news at rev about key is not newer than what is
// held (it would be ignored).
func (v *versions) stale(key string, rev int64) bool {
	if cur, ok := v.rev[key]; ok && cur >= rev {
		return true
	}
	cur, ok := v.dead[key]
	return ok && cur >= rev
}

// fresh reports whether news at rev about key is newer than what is held,
// and records it.
func (v *versions) fresh(key string, rev int64, deleted bool) bool {
	if cur, ok := v.rev[key]; ok && cur >= rev {
		return false
	}
	if cur, ok := v.dead[key]; ok && cur >= rev {
		return false
	}
	if deleted {
		delete(v.rev, key)
		v.dead[key] = rev
	} else {
		delete(v.dead, key)
		v.rev[key] = rev
	}
	return true
}

// prune forgets tombstones under prefix that the watch of prefix has
// delivered past.
func (v *versions) prune(watchRev int64, prefix string) {
	if len(v.dead) < 1024 {
		return
	}
	for k, r := range v.dead {
		if r <= watchRev && strings.HasPrefix(k, prefix) {
			delete(v.dead, k)
		}
	}
}
