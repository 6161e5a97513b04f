package admin

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/store"
)

// conflictIndex finds enabled routes that would match exactly the same
// requests: same hosts, uris, methods, priority and vars. APISIX accepts such
// duplicates and lets one win at random (#8992); Stargate refuses them.
//
// The index is kept in memory and follows the store, so the check costs one
// map lookup however many routes exist.
type conflictIndex struct {
	mu sync.Mutex
	// byFP maps a fingerprint to the routes having it: almost always
	// one, so a slice rather than a set (a map per route was a tenth of
	// the process's heap objects at 100k routes). Fingerprints are
	// hashes, so neither map holds a string per route for them.
	byFP  map[fpHash][]string
	byID  map[string]indexed
	ready bool
}

type indexed struct {
	fp  fpHash // zero when the route is disabled
	rev int64
}

func newConflictIndex() *conflictIndex {
	return &conflictIndex{byFP: map[fpHash][]string{}, byID: map[string]indexed{}}
}

// start loads every route, then follows changes until ctx ends. A
// compacted watch reloads.
func (c *conflictIndex) start(ctx context.Context, st store.Store, log *slog.Logger) error {
	k, _ := resource.Lookup("routes")
	prefix := k.Prefix + "/"
	load := func() (int64, error) {
		kvs, rev, err := st.List(ctx, prefix)
		if err != nil {
			return 0, err
		}
		c.mu.Lock()
		c.byFP, c.byID = map[fpHash][]string{}, map[string]indexed{}
		for _, kv := range kvs {
			c.applyLocked(idFromKey(kv.Key, prefix), kv.Value, kv.ModRevision, false)
		}
		c.ready = true
		c.mu.Unlock()
		return rev, nil
	}
	rev, err := load()
	if err != nil {
		return fmt.Errorf("admin: load route index: %w", err)
	}
	go func() {
		for ctx.Err() == nil {
			for resp := range st.Watch(ctx, prefix, rev) {
				if resp.Err != nil {
					if ctx.Err() == nil {
						log.Warn("admin: route index watch ended, reloading", "err", resp.Err)
					}
					break
				}
				c.mu.Lock()
				for _, e := range resp.Events {
					c.applyLocked(idFromKey(e.KV.Key, prefix), e.KV.Value, e.KV.ModRevision, e.Type == store.EventDelete)
				}
				c.mu.Unlock()
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

func idFromKey(key, prefix string) string { return strings.TrimPrefix(key, prefix) }

// apply records a route write or delete seen at rev; older news is ignored,
// so the synchronous update after a write and the watch event commute.
func (c *conflictIndex) apply(id string, value []byte, rev int64, deleted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyLocked(id, value, rev, deleted)
}

func (c *conflictIndex) applyLocked(id string, value []byte, rev int64, deleted bool) {
	if cur, ok := c.byID[id]; ok {
		if cur.rev >= rev {
			return
		}
		if ids := slices.DeleteFunc(c.byFP[cur.fp], func(o string) bool { return o == id }); len(ids) == 0 {
			delete(c.byFP, cur.fp)
		} else {
			c.byFP[cur.fp] = ids
		}
	}
	if deleted {
		// Keep a tombstone revision so a late put event is not resurrected.
		c.byID[id] = indexed{rev: rev}
		return
	}
	var m map[string]any
	if json.Unmarshal(value, &m) != nil {
		return
	}
	fp := fingerprint(m)
	c.byID[id] = indexed{fp: fp, rev: rev}
	if fp == (fpHash{}) {
		return
	}
	c.byFP[fp] = append(c.byFP[fp], id)
}

// check names an enabled route, other than id, that matches exactly what
// route id (with value v) would match.
func (c *conflictIndex) check(id string, v map[string]any) (string, bool) {
	fp := fingerprint(v)
	if fp == (fpHash{}) {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var others []string
	for _, other := range c.byFP[fp] {
		if other != id {
			others = append(others, other)
		}
	}
	if len(others) == 0 {
		return "", false
	}
	sort.Strings(others)
	return others[0], true
}

// fpHash is a route's matching fields, hashed (SHA-256, first 16 bytes):
// a collision would need 2^64 routes.
type fpHash [16]byte

// fingerprint canonicalises the matching fields of an enabled route; a
// disabled route (status 0) has none (the zero hash).
func fingerprint(v map[string]any) fpHash {
	if st, ok := v["status"]; ok && idString(st) == "0" {
		return fpHash{}
	}
	list := func(single, multi string) []string {
		var out []string
		if s, ok := v[single].(string); ok {
			out = append(out, s)
		}
		if arr, ok := v[multi].([]any); ok {
			for _, e := range arr {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	hosts := list("host", "hosts")
	for i := range hosts {
		hosts[i] = strings.ToLower(hosts[i])
	}
	uris := list("uri", "uris")
	if len(uris) == 0 {
		return fpHash{}
	}
	methods := list("", "methods")
	priority := "0"
	if p, ok := v["priority"]; ok {
		priority = idString(p)
	}
	vars, _ := json.Marshal(v["vars"])
	remote := list("remote_addr", "remote_addrs")
	fp, _ := json.Marshal([]any{hosts, uris, methods, priority, string(vars), remote})
	sum := sha256.Sum256(fp)
	return fpHash(sum[:16])
}

// afterWrite updates in-process indexes right after a successful write.
func (s *Server) afterWrite(ctx context.Context, w http.ResponseWriter, t *target, kv store.KV) {
	if t.kind.Name == "routes" {
		s.conf.apply(t.id, kv.Value, kv.ModRevision, false)
	}
	if hostKinds[t.kind.Name] {
		s.hosts.Apply(kv.Key, kv.Value, kv.ModRevision, false)
	}
	s.applied(ctx, w, kv.ModRevision)
}

// applied waits for the local data plane to serve revision rev and says in
// a warning header when it did not in time: the write is stored and will
// be served, but the client should not expect the next request to see it.
func (s *Server) applied(ctx context.Context, w http.ResponseWriter, rev int64) {
	if s.opts.Applied == nil {
		return
	}
	if err := s.opts.Applied(ctx, rev); err != nil {
		s.log.Warn("admin: write answered before the data plane served it", "revision", rev, "err", err)
		w.Header().Add("X-Stargate-Warning", fmt.Sprintf("stored, but not served yet: the data plane is still compiling revision %d", rev))
	}
}

// warn adds the data plane's complaint about an object just written.
func (s *Server) warn(w http.ResponseWriter, t *target) {
	if s.opts.Problem == nil || t.kind.Name == "credentials" {
		return
	}
	if p := s.opts.Problem(t.kind.Name + "/" + t.id); p != "" {
		w.Header().Set("X-Stargate-Warning", t.kind.Label+" "+t.id+" is not served: "+p)
	}
}

func (s *Server) afterDelete(ctx context.Context, w http.ResponseWriter, t *target, old store.KV) {
	if hostKinds[t.kind.Name] {
		s.hosts.Apply(old.Key, nil, old.ModRevision+1, true)
	}
	defer func() {
		if rev, err := s.st.Revision(ctx); err == nil {
			s.applied(ctx, w, rev)
		}
	}()
	if t.kind.Name == "routes" {
		// The delete's revision is unknown here; the watch event removes it
		// too. Use the max so the entry goes now.
		s.conf.mu.Lock()
		cur := s.conf.byID[t.id]
		s.conf.mu.Unlock()
		s.conf.apply(t.id, nil, cur.rev+1, true)
	}
}
