package tenant

import (
	"context"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/stargate-edge/stargate/internal/store"
)

// ClaimKind tells how much of the name space a claim covers.
type ClaimKind int

// Claim kinds.
const (
	// Exact covers one name: a route host or SNI "a.example.com".
	Exact ClaimKind = iota + 1
	// Wildcard "*.example.com" covers every name below example.com (any
	// depth, as the router matches), not example.com itself.
	Wildcard
	// Zone covers the zone's apex and everything below it: a DNS zone.
	Zone
)

// Claim is a hostname an object uses. Hostnames are owned: objects of
// different organizations may not hold overlapping claims.
type Claim struct {
	Kind ClaimKind
	// Base is lower case, without a trailing dot, port or "*.".
	Base string
}

func (c Claim) String() string {
	switch c.Kind {
	case Wildcard:
		return "*." + c.Base
	case Zone:
		return "zone " + c.Base
	}
	return c.Base
}

// ParseHost turns a route host or SNI into a claim: "*.x.com" is a
// wildcard, anything else exact; a port is dropped.
func ParseHost(h string) Claim {
	h = strings.ToLower(strings.TrimSpace(h))
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	h = strings.TrimSuffix(h, ".")
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		return Claim{Kind: Wildcard, Base: rest}
	}
	return Claim{Kind: Exact, Base: h}
}

// ZoneClaim is the claim of a DNS zone (or, later, a CDN zone domain).
func ZoneClaim(zone string) Claim {
	return Claim{Kind: Zone, Base: strings.TrimSuffix(strings.ToLower(zone), ".")}
}

// Broad reports whether a claim would cover everything below a public
// suffix ("*", "*.com", "*.co.uk", zone "com"): tenants may not hold those.
func (c Claim) Broad() bool {
	if c.Base == "" || strings.Contains(c.Base, "*") {
		return true
	}
	if c.Kind == Exact {
		return false
	}
	if !strings.Contains(c.Base, ".") {
		return true
	}
	ps, _ := publicsuffix.PublicSuffix(c.Base)
	return ps == c.Base
}

// below reports whether x is a strict subdomain of d.
func below(x, d string) bool { return len(x) > len(d)+1 && strings.HasSuffix(x, "."+d) }

// Overlaps reports whether some hostname is covered by both claims.
func (c Claim) Overlaps(o Claim) bool {
	switch {
	case c.Kind == Exact && o.Kind == Exact:
		return c.Base == o.Base
	case c.Kind == Exact:
		return below(c.Base, o.Base) || (o.Kind == Zone && c.Base == o.Base)
	case o.Kind == Exact:
		return below(o.Base, c.Base) || (c.Kind == Zone && c.Base == o.Base)
	}
	return c.Base == o.Base || below(c.Base, o.Base) || below(o.Base, c.Base)
}

// HostSource tells the Hosts index which keys carry claims and how to
// read them.
type HostSource struct {
	Prefix string
	// Claims extracts the claims of one stored object.
	Claims func(key string, value []byte) []Claim
}

// Hosts indexes the claims of every object (routes' hosts, SSL SNIs, DNS
// zones, ...) so that an overlap check costs a few map lookups.
type Hosts struct {
	st      store.Store
	log     *slog.Logger
	sources []HostSource

	mu         sync.RWMutex
	ver        versions
	byKey      map[string][]Claim
	byBase     map[string]map[string]struct{} // base -> keys
	byAncestor map[string]map[string]struct{} // strict ancestor of a base -> keys
}

// NewHosts builds the index over sources.
func NewHosts(st store.Store, log *slog.Logger, sources ...HostSource) *Hosts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hosts{st: st, log: log, sources: sources, ver: newVersions(),
		byKey: map[string][]Claim{}, byBase: map[string]map[string]struct{}{}, byAncestor: map[string]map[string]struct{}{}}
}

// Start loads every source and follows it until ctx ends.
func (h *Hosts) Start(ctx context.Context) error {
	for _, src := range h.sources {
		src := src
		f := &follower{st: h.st, prefix: src.Prefix, log: h.log,
			reset: func(kvs []store.KV, _ int64) {
				h.mu.Lock()
				defer h.mu.Unlock()
				for k := range h.byKey {
					if strings.HasPrefix(k, src.Prefix) {
						h.removeLocked(k)
					}
				}
				for _, kv := range kvs {
					h.setLocked(kv.Key, src.Claims(kv.Key, kv.Value), kv.ModRevision, false)
				}
			},
			apply: func(e store.Event, rev int64) {
				h.mu.Lock()
				defer h.mu.Unlock()
				if h.ver.stale(e.KV.Key, e.KV.ModRevision) {
					return // this process wrote it and applied it already
				}
				var cs []Claim
				if e.Type != store.EventDelete {
					cs = src.Claims(e.KV.Key, e.KV.Value)
				}
				h.setLocked(e.KV.Key, cs, e.KV.ModRevision, e.Type == store.EventDelete)
				h.ver.prune(rev, src.Prefix)
			}}
		if err := f.start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Apply records the claims of a write (or a delete) seen at rev.
func (h *Hosts) Apply(key string, value []byte, rev int64, deleted bool) {
	var cs []Claim
	if !deleted {
		for _, src := range h.sources {
			if strings.HasPrefix(key, src.Prefix) {
				cs = src.Claims(key, value)
				break
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setLocked(key, cs, rev, deleted)
}

func (h *Hosts) setLocked(key string, cs []Claim, rev int64, deleted bool) {
	if !h.ver.fresh(key, rev, deleted) {
		return
	}
	h.removeLocked(key)
	if deleted || len(cs) == 0 {
		return
	}
	h.byKey[key] = cs
	for _, c := range cs {
		add(h.byBase, c.Base, key)
		for _, a := range ancestors(c.Base) {
			add(h.byAncestor, a, key)
		}
	}
}

func (h *Hosts) removeLocked(key string) {
	for _, c := range h.byKey[key] {
		del(h.byBase, c.Base, key)
		for _, a := range ancestors(c.Base) {
			del(h.byAncestor, a, key)
		}
	}
	delete(h.byKey, key)
}

func add(m map[string]map[string]struct{}, k, v string) {
	if m[k] == nil {
		m[k] = map[string]struct{}{}
	}
	m[k][v] = struct{}{}
}

func del(m map[string]map[string]struct{}, k, v string) {
	if s := m[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

// ancestors of "a.b.c" are "b.c" and "c".
func ancestors(base string) []string {
	var out []string
	for i := strings.IndexByte(base, '.'); i >= 0; {
		base = base[i+1:]
		if base == "" {
			break
		}
		out = append(out, base)
		i = strings.IndexByte(base, '.')
	}
	return out
}

// Conflict is an overlap between a wanted claim and one held by another
// object.
type Conflict struct {
	Want, Held Claim
	Key        string
}

// Conflict finds a claim overlapping one of want held by an object other
// than self for which foreign(key) is true (another organization's).
func (h *Hosts) Conflict(want []Claim, self string, foreign func(key string) bool) (Conflict, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, w := range want {
		cands := map[string]struct{}{}
		for k := range h.byBase[w.Base] {
			cands[k] = struct{}{}
		}
		for _, a := range ancestors(w.Base) {
			for k := range h.byBase[a] {
				cands[k] = struct{}{}
			}
		}
		if w.Kind != Exact {
			for k := range h.byAncestor[w.Base] {
				cands[k] = struct{}{}
			}
		}
		keys := make([]string, 0, len(cands))
		for k := range cands {
			if k != self {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, held := range h.byKey[k] {
				if w.Overlaps(held) && foreign(k) {
					return Conflict{Want: w, Held: held, Key: k}, true
				}
			}
		}
	}
	return Conflict{}, false
}

// HostClaim is one claim with the object holding it.
type HostClaim struct {
	Host string `json:"host"`
	Key  string `json:"key"`
}

// Claims lists the claims of the objects for which keep(key) is true.
func (h *Hosts) Claims(keep func(key string) bool) []HostClaim {
	h.mu.RLock()
	var out []HostClaim
	for k, cs := range h.byKey {
		if !keep(k) {
			continue
		}
		for _, c := range cs {
			out = append(out, HostClaim{Host: c.String(), Key: k})
		}
	}
	h.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Key < out[j].Key
	})
	return out
}
