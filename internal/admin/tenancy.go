package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/tenant"
)

// Tenancy of the objects the admin API manages.
//
// Every object belongs to one organization, recorded beside it under
// /stargate/owners/<object key> (never inside the APISIX value); an object
// without a record belongs to the platform, i.e. only the operator sees
// it. A scoped request (a user, or the operator sending X-Stargate-Org)
// sees, lists, counts and changes only its organization's objects; any
// other object answers 404 {"message":"Key not found"}, exactly like a
// missing one.
//
// IDs are global store keys (/apisix/routes/<id>): a POST's generated id
// never collides, but a scoped PUT naming an id another organization (or
// the platform) already uses is refused with 400 "... id [x] is not
// available ..." — the id is taken, and nothing about its holder is told.
//
// Hostnames are owned: a route host, a service host, an SSL SNI and a DNS
// zone claim their names, and a user may not hold a claim overlapping one
// held by an object of another organization or of the platform (403
// naming the two claims). Overlap follows what the router matches:
// "*.example.com" overlaps "a.example.com" and "a.b.example.com", and a
// zone overlaps everything below it. So a tenant cannot take another's
// traffic with a more specific host, a wildcard, or a higher priority —
// priorities only order routes of one host, and a host has one owner. A
// user's route must name its hosts (host or hosts): a host-less route
// would catch every host's unmatched traffic. Claims of a whole TLD or
// "*" are refused. The operator is not checked and can reassign objects
// (PUT /owners), which moves their claims.
//
// Global rules, plugin metadata, stream routes (L4, no host to own) and
// secrets are operator-only.
//
// # Hooks for handlers outside the generic resource code
//
// DNS zones (and later jobs, cache entries, CDN zones, nodes) use the same
// calls; an object is named by its store key:
//
//	if !s.canSee(ctx, key) { return notFound() }     // every read/write of an existing object
//	defer s.lockHostClaims(ctx)()                    // around check + write of a hostname holder
//	if err := s.checkClaims(ctx, key, claims...); err != nil { return err } // before creating a hostname holder
//	if err := s.created(ctx, kv, ttlOpts...); err != nil { delete it; return err } // right after creating (any caller)
//	s.deleted(ctx, old)                              // right after deleting
//
// (created = recordOwner + the hostname index; deleted = dropOwner + the
// index.)
// and filter lists with canSee, counting after the filter. Keys below an
// owned key (a zone's records, a consumer's credentials) share its owner
// through the parent rules in newTenancy and need no records of their
// own. Role checks happen before the handler runs (scopeDNS for /dns).

// operatorOnly are the kinds users may not read or write.
var operatorOnly = map[string]bool{"global_rules": true, "plugin_metadata": true, "stream_routes": true, "secrets": true}

// hostKinds are the kinds whose objects claim hostnames.
var hostKinds = map[string]bool{"routes": true, "services": true, "ssls": true}

func (s *Server) newTenancy(opts AccountOptions) {
	s.dir = tenant.NewDirectory(tenant.Options{
		Store: s.st, Logger: s.log, Argon: opts.Argon, Login: opts.Login, SessionTTL: opts.SessionTTL,
	})
	consumers, _ := resource.Lookup("consumers")
	s.owners = tenant.NewOwners(s.st, s.log,
		tenant.PrefixParent(consumers.Prefix+"/", consumers.Prefix+"/"),
		tenant.PrefixParent(authdns.RecordsPrefix, authdns.ZonesPrefix),
	)
	fromJSON := func(kind string) func(string, []byte) []tenant.Claim {
		return func(_ string, raw []byte) []tenant.Claim {
			var m map[string]any
			if json.Unmarshal(raw, &m) != nil {
				return nil
			}
			return claimsOf(kind, m)
		}
	}
	var sources []tenant.HostSource
	for name := range hostKinds {
		k, _ := resource.Lookup(name)
		sources = append(sources, tenant.HostSource{Prefix: k.Prefix + "/", Claims: fromJSON(name)})
	}
	sources = append(sources, tenant.HostSource{Prefix: authdns.ZonesPrefix, Claims: func(key string, _ []byte) []tenant.Claim {
		return []tenant.Claim{tenant.ZoneClaim(strings.TrimPrefix(key, authdns.ZonesPrefix))}
	}})
	s.hosts = tenant.NewHosts(s.st, s.log, sources...)
	s.audit = tenant.NewAudit(s.st, s.log, opts.AuditRetention, opts.AuditMax)
}

func (s *Server) startTenancy(ctx context.Context) error {
	for _, start := range []func(context.Context) error{s.dir.Start, s.owners.Start, s.hosts.Start, s.audit.Start} {
		if err := start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// claimsOf reads the hostnames an object claims.
func claimsOf(kind string, v map[string]any) []tenant.Claim {
	var names []string
	switch kind {
	case "routes":
		names = strList(v, "host", "hosts")
	case "services":
		names = strList(v, "", "hosts")
	case "ssls":
		names = strList(v, "sni", "snis")
	}
	out := make([]tenant.Claim, 0, len(names))
	for _, n := range names {
		out = append(out, tenant.ParseHost(n))
	}
	return out
}

func strList(v map[string]any, single, multi string) []string {
	var out []string
	if single != "" {
		if s, ok := v[single].(string); ok && s != "" {
			out = append(out, s)
		}
	}
	if arr, ok := v[multi].([]any); ok {
		for _, e := range arr {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// ---- the hooks ----

// canSee reports whether the request may see the object at key: always
// for the unscoped operator, else only objects of the request's
// organization.
func (s *Server) canSee(ctx context.Context, key string) bool {
	p := principalOf(ctx)
	if !p.scoped() {
		return true
	}
	s.resolveOrg(p)
	if p.orgErr != nil || p.org == "" {
		return false
	}
	return s.owners.Owner(key) == p.org
}

// owner is the organization new objects of this request belong to (""
// for the platform).
func (s *Server) owner(ctx context.Context) string {
	p := principalOf(ctx)
	if !p.scoped() {
		return ""
	}
	s.resolveOrg(p)
	return p.org
}

// isTenant reports whether the request comes from a user (not the
// operator, who is never refused for tenancy reasons).
func isTenant(ctx context.Context) bool {
	p := principalOf(ctx)
	return p != nil && !p.operator
}

// checkClaims refuses a user's hostname claims that are too broad or
// overlap a claim of another organization's (or the platform's) object.
// self is the key of the object being written (its own claims are fine).
func (s *Server) checkClaims(ctx context.Context, self string, claims ...tenant.Claim) error {
	if !isTenant(ctx) {
		return nil
	}
	org := s.owner(ctx)
	for _, c := range claims {
		if c.Broad() {
			return badRequest("invalid configuration: host %s is too broad for an organization", c)
		}
	}
	conf, found := s.hosts.Conflict(claims, self, func(k string) bool { return s.owners.Owner(k) != org })
	if found {
		if conf.Want == conf.Held {
			return errMsg(http.StatusForbidden, "host %s is in use by another organization", conf.Want)
		}
		return errMsg(http.StatusForbidden, "host %s overlaps %s, which is in use by another organization", conf.Want, conf.Held)
	}
	return nil
}

// recordOwner records the request's organization as the owner of the
// object just created at key. For the platform there is no record: one
// left behind by an earlier object of that key (a crash between two
// writes) is removed, so it cannot hand the new object to its old owner.
func (s *Server) recordOwner(ctx context.Context, key string, opts ...store.PutOption) error {
	org := s.owner(ctx)
	if org == "" {
		if s.owners.Owner(key) != "" {
			if err := s.owners.Clear(ctx, key); err != nil {
				return storeError(err)
			}
		}
		return nil
	}
	p := principalOf(ctx)
	by := p.keyName
	if p.user != nil {
		by = p.user.ID
	}
	if err := s.owners.Set(ctx, key, org, by, opts...); err != nil {
		return storeError(err)
	}
	return nil
}

// created records the owner of the object just written as kv (any
// caller: for the platform it clears a stale record) and indexes its
// hostnames at once, so the next request already sees both.
func (s *Server) created(ctx context.Context, kv store.KV, opts ...store.PutOption) error {
	if err := s.recordOwner(ctx, kv.Key, opts...); err != nil {
		return err
	}
	s.hosts.Apply(kv.Key, kv.Value, kv.ModRevision, false)
	return nil
}

// deleted forgets the owner and hostnames of the object old, just deleted.
func (s *Server) deleted(ctx context.Context, old store.KV) {
	s.dropOwner(ctx, old.Key)
	s.hosts.Apply(old.Key, nil, old.ModRevision+1, true)
}

// dropOwner forgets the owner of an object just deleted.
func (s *Server) dropOwner(ctx context.Context, key string) {
	if err := s.owners.Clear(ctx, key); err != nil {
		s.log.Warn("admin: owner record not removed", "key", key, "err", err)
	}
}

// ---- the generic resources ----

// scopeResource checks the caller may use this kind with this method.
func (s *Server) scopeResource(ctx context.Context, t *target, method string) error {
	p := principalOf(ctx)
	if p == nil || !p.scoped() {
		return nil
	}
	if !p.operator && operatorOnly[t.kind.Name] {
		return forbidden("%s are managed by the platform operator", t.kind.Name)
	}
	_, err := s.needOrg(ctx, writeRole(method))
	return err
}

// idTaken is the answer to a scoped PUT naming an id that exists but is
// not the caller's.
func idTaken(t *target) error {
	return badRequest("%s %s [%s] is not available: ids are shared by all organizations; choose another id, or POST to get a generated one", t.kind.Label, idWord(t.kind), t.id)
}

// lockClaims serialises users' writes of hostname holders (of a kind in
// hostKinds) in this process, so two organizations cannot claim one host
// at the same time.
func (s *Server) lockClaims(ctx context.Context, kind string) func() {
	if !hostKinds[kind] {
		return func() {}
	}
	return s.lockHostClaims(ctx)
}

// lockHostClaims is held by a user's request from checkClaims until the
// object holding the claims is written (and its owner recorded); it is a
// no-op for the operator, who is never checked. Usage:
//
//	defer s.lockHostClaims(ctx)()
func (s *Server) lockHostClaims(ctx context.Context) func() {
	if !isTenant(ctx) {
		return func() {}
	}
	s.claimMu.Lock()
	return s.claimMu.Unlock
}

// checkTenantValue runs the checks a user's object must pass beyond
// validation: owned hostnames, a host for routes, references only to the
// organization's own objects, and no $env:// or $secret:// references
// (those read the operator's environment and vaults).
func (s *Server) checkTenantValue(ctx context.Context, t *target, value map[string]any) error {
	if !isTenant(ctx) {
		return nil
	}
	if ref := findReserved(value); ref != "" {
		return badRequest("invalid configuration: %s references are reserved to the platform operator", ref)
	}
	if t.kind.Name == "routes" && len(strList(value, "host", "hosts")) == 0 {
		return badRequest("invalid configuration: a route of an organization must name its hosts (host or hosts); host-less routes are reserved to the platform operator")
	}
	if err := s.checkClaims(ctx, t.key(), claimsOf(t.kind.Name, value)...); err != nil {
		return err
	}
	return s.checkPluginRefs(ctx, value)
}

// findReserved returns "$env://" or "$secret://" if a string in v starts
// with one.
func findReserved(v any) string {
	switch x := v.(type) {
	case string:
		for _, p := range []string{"$env://", "$secret://"} {
			if strings.HasPrefix(x, p) {
				return p
			}
		}
	case map[string]any:
		for _, e := range x {
			if r := findReserved(e); r != "" {
				return r
			}
		}
	case []any:
		for _, e := range x {
			if r := findReserved(e); r != "" {
				return r
			}
		}
	}
	return ""
}

// checkPluginRefs checks ids named inside plugin configs: traffic-split's
// upstreams and grpc-transcode's proto must be the organization's own.
func (s *Server) checkPluginRefs(ctx context.Context, value map[string]any) error {
	plugins, _ := value["plugins"].(map[string]any)
	ts, _ := plugins["traffic-split"].(map[string]any)
	rules, _ := ts["rules"].([]any)
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		wus, _ := rm["weighted_upstreams"].([]any)
		for _, wu := range wus {
			m, _ := wu.(map[string]any)
			if m == nil || m["upstream_id"] == nil {
				continue
			}
			if err := s.checkRef(ctx, "upstreams", idString(m["upstream_id"])); err != nil {
				return err
			}
		}
	}
	if gt, _ := plugins["grpc-transcode"].(map[string]any); gt != nil && gt["proto_id"] != nil {
		if err := s.checkRef(ctx, "protos", idString(gt["proto_id"])); err != nil {
			return err
		}
	}
	return nil
}

// checkRef answers APISIX's reference error unless the object exists and
// the caller can see it.
func (s *Server) checkRef(ctx context.Context, kind, id string) error {
	rk, _ := resource.Lookup(kind)
	ok, err := s.visible(ctx, rk.Key(id))
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("failed to fetch %s info by %s id [%s], response code: 404", rk.Label, rk.Label, id)
	}
	return nil
}

// visible reports whether key exists and the caller can see it.
func (s *Server) visible(ctx context.Context, key string) (bool, error) {
	if _, err := s.st.Get(ctx, key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, storeError(err)
	}
	return s.canSee(ctx, key), nil
}

// scopedList returns the objects under prefix the caller may list, or
// ok false when the plain listing (then filtered with canSee) is the
// better way: for the unscoped operator, and for nested keys.
func (s *Server) scopedList(ctx context.Context, prefix string) ([]store.KV, bool, error) {
	p := principalOf(ctx)
	if !p.scoped() {
		return nil, false, nil
	}
	s.resolveOrg(p)
	if p.orgErr != nil {
		return nil, true, p.orgErr
	}
	keys := s.owners.Keys(p.org, prefix)
	if len(keys) > 2000 {
		return nil, false, nil // a big tenant: one listing beats many reads
	}
	out := make([]store.KV, 0, len(keys))
	for _, k := range keys {
		if strings.Contains(strings.TrimPrefix(k, prefix), "/") {
			continue
		}
		kv, err := s.st.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue // a stale owner record
		}
		if err != nil {
			return nil, true, storeError(err)
		}
		out = append(out, kv)
	}
	return out, true, nil
}
