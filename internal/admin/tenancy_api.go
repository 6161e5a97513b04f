package admin

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/tenant"
)

// audited reports whether a request is recorded in the audit log: every
// authenticated write that succeeds (validation endpoints write nothing).
// Login, signup and logout record themselves.
func audited(method, rest string) bool {
	switch method {
	case http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	return !strings.HasPrefix(rest, "schema/") && !strings.HasPrefix(rest, "configs/")
}

// recordAudit records one write: who, where, what and how it ended.
func (s *Server) recordAudit(r *http.Request, p *principal, rest string, status int) {
	segs := strings.SplitN(strings.Trim(rest, "/"), "/", 2)
	e := tenant.AuditEntry{
		Auth: p.authMethod(), KeyName: p.keyName, Method: r.Method, Path: r.URL.Path,
		Resource: segs[0], Status: status, RemoteAddr: p.addr,
	}
	if len(segs) == 2 {
		e.ResourceID = segs[1]
	}
	if e.ResourceID == "" {
		e.ResourceID = p.auditID
	}
	if p.user != nil {
		e.UserID, e.Username = p.user.ID, p.user.Username
	}
	if p.token != nil {
		e.TokenID = p.token.ID
	}
	switch {
	case p.auditOrg != "":
		e.OrgID = p.auditOrg
	case p.resolved && p.orgErr == nil:
		e.OrgID = p.org
	}
	s.audit.Record(e)
}

// serveAudit answers GET /audit with filters org_id (operator), user_id,
// token_id, method, resource, resource_id, since, until (Unix seconds) and
// limit (1-1000, default 100), newest first. A user sees the entries of
// the organization they act in, as its admin or owner.
func (s *Server) serveAudit(w http.ResponseWriter, r *http.Request, segs []string) error {
	if len(segs) != 0 {
		return errMsg(http.StatusNotFound, "not found")
	}
	if r.Method != http.MethodGet {
		return notSupportedOn(r.Method, "audit")
	}
	ctx := r.Context()
	q := r.URL.Query()
	aq := tenant.AuditQuery{UserID: q.Get("user_id"), TokenID: q.Get("token_id"), Method: q.Get("method"),
		Resource: q.Get("resource"), ResourceID: q.Get("resource_id")}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"since", &aq.Since}, {"until", &aq.Until}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return badRequest("invalid argument %s: should be Unix seconds", f.name)
			}
			*f.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("invalid argument limit: should be 1 to 1000")
		}
		aq.Limit = n
	}
	p, err := s.needOrg(ctx, tenant.RoleAdmin)
	if err != nil {
		return err
	}
	switch {
	case p.scoped():
		org := p.org
		if q.Has("org_id") && q.Get("org_id") != org {
			return notFound()
		}
		aq.OrgID = &org
	case q.Has("org_id"):
		org := q.Get("org_id")
		if org == "-" {
			org = ""
		}
		aq.OrgID = &org
	}
	list, total, err := s.audit.Query(ctx, aq)
	if err != nil {
		return storeError(err)
	}
	if list == nil {
		list = []tenant.AuditEntry{}
	}
	s.writeItems(w, total, list)
	return nil
}

// serveStats answers GET /stats for the operator (PacketFrame's /stats):
// counts of accounts and of the objects they manage.
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	if err := needOperator(ctx); err != nil {
		return err
	}
	if len(segs) != 0 {
		return errMsg(http.StatusNotFound, "not found")
	}
	if r.Method != http.MethodGet {
		return notSupportedOn(r.Method, "stats")
	}
	c := s.dir.Counts()
	out := map[string]any{
		"users": c.Users, "orgs": c.Orgs, "members": c.Members, "tokens": c.Tokens,
		"sessions": c.Sessions, "invitations": c.Invites,
	}
	count := func(prefix string) (int, error) {
		kvs, _, err := s.st.List(ctx, prefix)
		if err != nil {
			return 0, storeError(err)
		}
		n := 0
		for _, kv := range kvs {
			rest := strings.TrimPrefix(kv.Key, prefix)
			if rest != "gen_id" && !strings.Contains(rest, "/") {
				n++
			}
		}
		return n, nil
	}
	for _, name := range []string{"routes", "services", "upstreams", "ssls", "consumers", "stream_routes", "plugin_configs", "global_rules"} {
		k, _ := resource.Lookup(name)
		n, err := count(k.Prefix + "/")
		if err != nil {
			return err
		}
		out[name] = n
	}
	n, err := count(authdns.ZonesPrefix)
	if err != nil {
		return err
	}
	out["dns_zones"] = n
	owned := 0
	for _, o := range s.dir.Orgs() {
		owned += s.owners.Count(o.ID, "")
	}
	out["owned_objects"] = owned
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

// serveOwners answers the operator's GET /owners?key=<object key> and
// PUT /owners {"key","org_id"}: who owns an object, and reassigning it
// (its hostnames move with it; "" gives it to the platform).
func (s *Server) serveOwners(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	if err := needOperator(ctx); err != nil {
		return err
	}
	if len(segs) != 0 {
		return errMsg(http.StatusNotFound, "not found")
	}
	var key, org string
	switch r.Method {
	case http.MethodGet:
		key = r.URL.Query().Get("key")
	case http.MethodPut:
		f, err := readFields(r, "key", "org_id")
		if err != nil {
			return err
		}
		if key, err = f.strOr("key", ""); err != nil {
			return err
		}
		if org, err = f.strOr("org_id", ""); err != nil {
			return err
		}
		if org != "" {
			if _, ok := s.dir.Org(org); !ok {
				return badRequest("organization %s not found", org)
			}
		}
	default:
		return notSupportedOn(r.Method, "owners")
	}
	if !strings.HasPrefix(key, "/apisix/") && !strings.HasPrefix(key, "/stargate/") {
		return badRequest("invalid argument key: an object's store key, e.g. /apisix/routes/1")
	}
	if _, err := s.st.Get(ctx, key); err != nil {
		return storeError(err)
	}
	if r.Method == http.MethodPut {
		principalOf(ctx).auditID = key
		if org == "" {
			s.dropOwner(ctx, key)
		} else {
			p := principalOf(ctx)
			if err := s.owners.Set(ctx, key, org, p.keyName); err != nil {
				return storeError(err)
			}
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"key": key, "org_id": s.owners.Owner(key)})
	return nil
}

// hostView is a hostname claim with its owner.
type hostView struct {
	tenant.HostClaim
	OrgID string `json:"org_id"`
}

// serveHosts answers GET /hosts: the hostnames objects claim, with the
// owning organization ("" = platform); a user sees their organization's.
func (s *Server) serveHosts(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	if len(segs) != 0 {
		return errMsg(http.StatusNotFound, "not found")
	}
	if r.Method != http.MethodGet {
		return notSupportedOn(r.Method, "hosts")
	}
	if _, err := s.needOrg(ctx, tenant.RoleViewer); err != nil {
		return err
	}
	out := []hostView{}
	for _, c := range s.hosts.Claims(func(k string) bool { return s.canSee(ctx, k) }) {
		out = append(out, hostView{HostClaim: c, OrgID: s.owners.Owner(c.Key)})
	}
	s.writeItems(w, len(out), out)
	return nil
}
