package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/tenant"
)

// OrgHeader selects the organization a request acts in. A user who
// belongs to one organization (or whose token is bound to one) may omit
// it; the operator may send it to act on behalf of an organization (new
// objects then belong to it, and lists show only its objects).
const OrgHeader = "X-Stargate-Org"

// principal is who a request comes from: the operator (an admin key) or a
// user (a login or personal access token). It rides in the request
// context; handlers read it with principalOf.
type principal struct {
	operator bool
	keyName  string
	readOnly bool // the operator's viewer key

	user  *tenant.User
	token *tenant.Token

	addr string
	// wantOrg is the X-Stargate-Org header.
	wantOrg string

	// The organization the request acts in, resolved on first use.
	resolved bool
	org      string
	role     tenant.Role
	orgErr   error

	// Audit details filled in by handlers.
	auditOrg string
	auditID  string
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p *principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalOf returns the request's principal; code running outside a
// request (nil) acts as the operator.
func principalOf(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// authMethod names how the principal authenticated, for the audit log.
func (p *principal) authMethod() string {
	switch {
	case p == nil:
		return "none"
	case p.operator:
		return "admin_key"
	case p.token != nil:
		return p.token.Kind
	}
	return "none"
}

// remoteIP is the client address without port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// credential finds the key or token of a request, as APISIX does (query
// api_key, header X-API-KEY, cookie x_api_key), then Authorization: Bearer.
func credential(r *http.Request) string {
	if tok := r.URL.Query().Get("api_key"); tok != "" {
		return tok
	}
	if tok := r.Header.Get("X-API-KEY"); tok != "" {
		return tok
	}
	if c, err := r.Cookie("x_api_key"); err == nil && c.Value != "" {
		return c.Value
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func tokenFailure(status int, desc string) error {
	return &apiError{status: status, body: map[string]any{"error_msg": "failed to check token", "description": desc}}
}

// authenticate identifies the caller: an admin key is the operator (as in
// APISIX; viewers may only read), an issued token is its user, subject to
// the user's IP ACL.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	addr := remoteIP(r)
	want := strings.TrimSpace(r.Header.Get(OrgHeader))
	if !s.opts.KeyRequired {
		return &principal{operator: true, addr: addr, wantOrg: want}, nil
	}
	tok := credential(r)
	if tok == "" {
		return nil, tokenFailure(http.StatusUnauthorized, "missing apikey")
	}
	var found *Key
	for i := range s.opts.Keys {
		k := &s.opts.Keys[i]
		if subtle.ConstantTimeCompare([]byte(k.Key), []byte(tok)) == 1 {
			found = k
		}
	}
	if found != nil {
		if found.Role == RoleViewer && r.Method != http.MethodGet && r.Method != http.MethodHead {
			return nil, tokenFailure(http.StatusUnauthorized, "invalid method for role viewer")
		}
		return &principal{operator: true, keyName: found.Name, readOnly: found.Role == RoleViewer, addr: addr, wantOrg: want}, nil
	}
	t, u, err := s.dir.Authenticate(r.Context(), tok)
	switch {
	case errors.Is(err, tenant.ErrTokenExpired):
		return nil, tokenFailure(http.StatusUnauthorized, "token expired")
	case errors.Is(err, tenant.ErrDisabled):
		return nil, tokenFailure(http.StatusUnauthorized, "account disabled")
	case errors.Is(err, tenant.ErrNotFound):
		return nil, tokenFailure(http.StatusUnauthorized, "wrong apikey")
	case err != nil:
		return nil, storeError(err)
	}
	if !tenant.ACLAllows(u.ACL, addr) {
		return nil, tokenFailure(http.StatusForbidden, "address "+addr+" is not allowed for this user")
	}
	return &principal{user: u, token: t, addr: addr, wantOrg: want}, nil
}

// forbidden is a 403 for an authenticated caller lacking a permission.
func forbidden(format string, args ...any) *apiError {
	return errMsg(http.StatusForbidden, "permission denied: "+format, args...)
}

// resolveOrg decides which organization the request acts in:
//
//   - operator: the X-Stargate-Org header if sent (it must exist), else
//     none (unscoped: sees everything);
//   - user: the header; else the organization the token is bound to; else
//     the user's only organization. A token bound to an organization acts
//     only there and in its children. Naming an organization the user has
//     no role in answers exactly like naming one that does not exist.
func (s *Server) resolveOrg(p *principal) {
	if p.resolved {
		return
	}
	p.resolved = true
	want := p.wantOrg
	if p.operator {
		if want == "" {
			return
		}
		if _, ok := s.dir.Org(want); !ok {
			p.orgErr = badRequest("organization %s not found", want)
			return
		}
		p.org, p.role = want, tenant.RoleOwner
		return
	}
	if bound := p.token.OrgID; bound != "" {
		if want == "" {
			want = bound
		} else if want != bound && !contains(s.dir.Ancestors(want), bound) {
			p.orgErr = forbidden("this token is bound to organization %s", bound)
			return
		}
	}
	if want == "" {
		orgs := s.dir.DirectOrgs(p.user.ID)
		switch len(orgs) {
		case 0:
			p.orgErr = forbidden("you are not a member of any organization")
			return
		case 1:
			want = orgs[0]
		default:
			p.orgErr = badRequest("you are a member of %d organizations: choose one with the %s header", len(orgs), OrgHeader)
			return
		}
	}
	role := s.dir.Role(p.user.ID, want)
	if role == tenant.RoleNone {
		p.orgErr = forbidden("not a member of organization %s", want)
		return
	}
	p.org, p.role = want, role
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// scoped reports whether the request sees only one organization's objects
// (a user, or the operator acting for an organization).
func (p *principal) scoped() bool { return p != nil && (!p.operator || p.wantOrg != "") }

// needOrg resolves the organization and checks the caller's role in it
// (the operator passes any role check).
func (s *Server) needOrg(ctx context.Context, min tenant.Role) (*principal, error) {
	p := principalOf(ctx)
	if p == nil {
		return &principal{operator: true}, nil
	}
	s.resolveOrg(p)
	if p.orgErr != nil {
		return nil, p.orgErr
	}
	if p.operator {
		return p, nil
	}
	if !p.role.AtLeast(min) {
		return nil, forbidden("role %s may not do this (needs %s)", p.role, min)
	}
	return p, nil
}

// needOperator refuses users.
func needOperator(ctx context.Context) error {
	if p := principalOf(ctx); p != nil && !p.operator {
		return forbidden("only the platform operator may do this")
	}
	return nil
}

// needUser refuses the operator's keys on endpoints about one's own account.
func needUser(ctx context.Context) (*principal, error) {
	p := principalOf(ctx)
	if p == nil || p.user == nil {
		return nil, badRequest("an admin key is not a user account: log in as a user")
	}
	return p, nil
}

// writeRole is the role a method needs on organization resources.
func writeRole(method string) tenant.Role {
	if method == http.MethodGet || method == http.MethodHead {
		return tenant.RoleViewer
	}
	return tenant.RoleEditor
}
