package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
)

// OwnerRecord is the value of /stargate/owners/<object key>: the object's
// organization, kept beside the object so that APISIX values stay exactly
// what the client sent.
type OwnerRecord struct {
	OrgID string `json:"org_id"`
	// By is the user (or admin key name) that created the object.
	By   string `json:"by,omitempty"`
	Time int64  `json:"time"`
}

// OwnerKey is the store key of an object's owner record.
func OwnerKey(objectKey string) string { return OwnersPrefix + objectKey }

// ParentRule maps a child object's key to the key whose owner it shares
// (a consumer's credentials, a DNS zone's records); ok false if the rule
// does not apply.
type ParentRule func(key string) (parent string, ok bool)

// PrefixParent is the ParentRule "<child>/<name>/<rest> belongs to
// <parent><name>": PrefixParent("/stargate/dns/records/", "/stargate/dns/zones/").
func PrefixParent(child, parent string) ParentRule {
	return func(key string) (string, bool) {
		rest, ok := strings.CutPrefix(key, child)
		if !ok {
			return "", false
		}
		name, _, _ := strings.Cut(rest, "/")
		if name == "" {
			return "", false
		}
		return parent + name, true
	}
}

// Owners is the in-memory index of owner records: object key → org, and
// org → keys, following the store. An object without a record belongs to
// the platform (the operator).
type Owners struct {
	st      store.Store
	log     *slog.Logger
	parents []ParentRule

	mu    sync.RWMutex
	ver   versions
	byKey map[string]ownerEntry
	byOrg map[string]map[string]struct{}
}

type ownerEntry struct {
	org string
	rev int64
}

// NewOwners builds the index; parents derive ownership of nested keys.
func NewOwners(st store.Store, log *slog.Logger, parents ...ParentRule) *Owners {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Owners{st: st, log: log, parents: parents}
	o.resetLocked(nil)
	return o
}

// Start loads every owner record and follows changes until ctx ends.
func (o *Owners) Start(ctx context.Context) error {
	f := &follower{st: o.st, prefix: OwnersPrefix + "/", log: o.log,
		reset: func(kvs []store.KV, _ int64) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.resetLocked(kvs)
		},
		apply: func(e store.Event, rev int64) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.applyLocked(strings.TrimPrefix(e.KV.Key, OwnersPrefix), e.KV.Value, e.KV.ModRevision, e.Type == store.EventDelete)
			o.ver.prune(rev, "")
		}}
	return f.start(ctx)
}

func (o *Owners) resetLocked(kvs []store.KV) {
	o.ver = newVersions()
	o.byKey, o.byOrg = map[string]ownerEntry{}, map[string]map[string]struct{}{}
	for _, kv := range kvs {
		o.applyLocked(strings.TrimPrefix(kv.Key, OwnersPrefix), kv.Value, kv.ModRevision, false)
	}
}

func (o *Owners) applyLocked(key string, value []byte, rev int64, deleted bool) {
	if !o.ver.fresh(key, rev, deleted) {
		return
	}
	if cur, ok := o.byKey[key]; ok {
		delete(o.byOrg[cur.org], key)
		if len(o.byOrg[cur.org]) == 0 {
			delete(o.byOrg, cur.org)
		}
		delete(o.byKey, key)
	}
	var rec OwnerRecord
	if deleted || json.Unmarshal(value, &rec) != nil || rec.OrgID == "" {
		return
	}
	o.byKey[key] = ownerEntry{org: rec.OrgID, rev: rev}
	if o.byOrg[rec.OrgID] == nil {
		o.byOrg[rec.OrgID] = map[string]struct{}{}
	}
	o.byOrg[rec.OrgID][key] = struct{}{}
}

// ownerKey is the key whose record decides key's owner.
func (o *Owners) ownerKey(key string) string {
	for _, p := range o.parents {
		if parent, ok := p(key); ok {
			return parent
		}
	}
	return key
}

// Owner returns the organization owning the object at key ("" for the
// platform).
func (o *Owners) Owner(key string) string {
	k := o.ownerKey(key)
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.byKey[k].org
}

// Set records org as the owner of key (TTL opts follow the object's, so
// the record goes when the object expires).
func (o *Owners) Set(ctx context.Context, key, org, by string, opts ...store.PutOption) error {
	if org == "" {
		return o.Clear(ctx, key)
	}
	raw, err := json.Marshal(OwnerRecord{OrgID: org, By: by, Time: time.Now().Unix()})
	if err != nil {
		return err
	}
	kv, err := o.st.Put(ctx, OwnerKey(key), raw, opts...)
	if err != nil {
		return fmt.Errorf("tenant: record owner of %s: %w", key, err)
	}
	o.mu.Lock()
	o.applyLocked(key, raw, kv.ModRevision, false)
	o.mu.Unlock()
	return nil
}

// Clear removes key's owner record, unless it changed since this index
// saw it (then someone else owns the key now: a new object by that id).
func (o *Owners) Clear(ctx context.Context, key string) error {
	o.mu.RLock()
	cur, ok := o.byKey[key]
	o.mu.RUnlock()
	opts := []store.PutOption{}
	if ok {
		opts = append(opts, store.IfModRevision(cur.rev))
	}
	old, err := o.st.Delete(ctx, OwnerKey(key), opts...)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tenant: clear owner of %s: %w", key, err)
	}
	o.mu.Lock()
	o.applyLocked(key, nil, old.ModRevision+1, true)
	o.mu.Unlock()
	return nil
}

// Keys lists, in key order, the keys under prefix that org owns.
func (o *Owners) Keys(org, prefix string) []string {
	o.mu.RLock()
	var out []string
	for k := range o.byOrg[org] {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	o.mu.RUnlock()
	sort.Strings(out)
	return out
}

// Count is how many keys under prefix org owns.
func (o *Owners) Count(org, prefix string) int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if prefix == "" {
		return len(o.byOrg[org])
	}
	n := 0
	for k := range o.byOrg[org] {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}
