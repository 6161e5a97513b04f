package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/tenant"
)

// Accounts: /auth (signup, login, logout), /me (profile, password, IP ACL,
// personal access tokens, invitations) and the operator's /users.
// Answers are plain objects; lists are {"total":N,"list":[...]}; a missing
// (or not visible) user, org, member or token is 404 {"message":"Key not
// found"}; other refusals {"error_msg":...}.

// fields is a decoded JSON object body with typed, strict getters.
type fields map[string]any

// readFields decodes an object body and refuses unknown fields.
func readFields(r *http.Request, allowed ...string) (fields, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return fields{}, nil
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	for k := range m {
		if !contains(allowed, k) {
			return nil, badRequest("invalid configuration: unknown field %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
	}
	return m, nil
}

func (f fields) str(k string) (*string, error) {
	v, ok := f[k]
	if !ok || v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, badRequest("invalid configuration: %s must be a string, got %s", k, jsonType(v))
	}
	return &s, nil
}

func (f fields) strOr(k, def string) (string, error) {
	p, err := f.str(k)
	if err != nil || p == nil {
		return def, err
	}
	return *p, nil
}

func (f fields) strs(k string) (*[]string, error) {
	v, ok := f[k]
	if !ok || v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, badRequest("invalid configuration: %s must be an array of strings", k)
	}
	out := make([]string, 0, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, badRequest("invalid configuration: %s[%d] must be a string", k, i)
		}
		out = append(out, s)
	}
	return &out, nil
}

func (f fields) boolean(k string) (*bool, error) {
	v, ok := f[k]
	if !ok || v == nil {
		return nil, nil
	}
	b, ok := v.(bool)
	if !ok {
		return nil, badRequest("invalid configuration: %s must be a boolean", k)
	}
	return &b, nil
}

func (f fields) integer(k string, lo, hi int64) (*int64, error) {
	v, ok := f[k]
	if !ok || v == nil {
		return nil, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return nil, badRequest("invalid configuration: %s must be an integer", k)
	}
	i, err := n.Int64()
	if err != nil || i < lo || i > hi {
		return nil, badRequest("invalid configuration: %s must be an integer from %d to %d", k, lo, hi)
	}
	return &i, nil
}

// tenantErr maps account errors to answers.
func tenantErr(err error) error {
	msg := func(prefix error) string {
		return strings.TrimPrefix(err.Error(), prefix.Error()+": ")
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tenant.ErrNotFound):
		return notFound()
	case errors.Is(err, tenant.ErrExists):
		return errMsg(http.StatusConflict, "%s", msg(tenant.ErrExists))
	case errors.Is(err, tenant.ErrInvalid):
		return badRequest("%s", msg(tenant.ErrInvalid))
	case errors.Is(err, tenant.ErrForbidden):
		return forbidden("%s", msg(tenant.ErrForbidden))
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return storeError(err)
}

func notSupportedOn(method, what string) error {
	return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for %s", method, what)
}

// writeItems answers a list of plain objects: {"total":N,"list":[...]}.
func (s *Server) writeItems(w http.ResponseWriter, total int, list any) {
	s.writeJSON(w, http.StatusOK, map[string]any{"total": total, "list": list})
}

// ---- /auth ----

func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request, segs []string) error {
	if len(segs) != 1 {
		return errMsg(http.StatusNotFound, "not found")
	}
	if r.Method != http.MethodPost {
		return notSupportedOn(r.Method, "auth/"+segs[0])
	}
	switch segs[0] {
	case "login":
		return s.login(w, r)
	case "signup":
		return s.signup(w, r)
	case "logout":
		return s.logout(w, r)
	}
	return errMsg(http.StatusNotFound, "not found")
}

// login answers POST /auth/login {"username"|"email"|"login", "password",
// "org_id"?}: a session token and its expiry. Every failure is the same
// 401, whether the account exists or not; failures are rate limited per
// address and per login name (429 with Retry-After).
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r.Context())
	f, err := readFields(r, "username", "email", "login", "password", "org_id")
	if err != nil {
		return err
	}
	login := ""
	for _, k := range []string{"login", "username", "email"} {
		if v, err := f.strOr(k, ""); err != nil {
			return err
		} else if v != "" && login == "" {
			login = v
		}
	}
	password, err := f.strOr("password", "")
	if err != nil {
		return err
	}
	org, err := f.strOr("org_id", "")
	if err != nil {
		return err
	}
	if login == "" || password == "" {
		return badRequest("invalid configuration: username (or email) and password are required")
	}
	u, retry, err := s.dir.Login(r.Context(), login, password, p.addr)
	refuse := func(e *apiError, why string) error {
		// Refused logins are logged, not stored: a refusal writes nothing.
		s.log.Warn("admin: login refused", "login", truncate(login, 64), "addr", p.addr, "why", why)
		return e
	}
	switch {
	case errors.Is(err, tenant.ErrRateLimited):
		w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
		return refuse(errMsg(http.StatusTooManyRequests, "too many failed logins: retry later"), "rate limited")
	case errors.Is(err, tenant.ErrBadLogin):
		return refuse(errMsg(http.StatusUnauthorized, "invalid username or password"), "bad credentials")
	case errors.Is(err, tenant.ErrDisabled):
		return refuse(errMsg(http.StatusForbidden, "account disabled"), "disabled")
	case err != nil:
		return storeError(err)
	}
	if !tenant.ACLAllows(u.ACL, p.addr) {
		return refuse(errMsg(http.StatusForbidden, "address %s is not allowed for this user", p.addr), "acl")
	}
	if org != "" && s.dir.Role(u.ID, org) == tenant.RoleNone {
		return refuse(forbidden("not a member of organization %s", org), "org")
	}
	secret, t, err := s.dir.CreateToken(r.Context(), tenant.Token{Kind: tenant.KindSession, UserID: u.ID, OrgID: org}, s.dir.SessionTTL())
	if err != nil {
		return tenantErr(err)
	}
	s.audit.Record(tenant.AuditEntry{Auth: "password", UserID: u.ID, Username: u.Username, TokenID: t.ID, OrgID: org,
		Method: r.Method, Path: r.URL.Path, Resource: "auth", ResourceID: "login", Status: http.StatusOK, RemoteAddr: p.addr})
	s.writeJSON(w, http.StatusOK, map[string]any{
		"authenticated": true, "token": secret, "token_id": t.ID, "expires_at": t.ExpiresAt,
		"user_id": u.ID, "user": u.View(), "orgs": s.dir.MembershipsOf(u.ID),
	})
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// signup answers POST /auth/signup {"username","password","email"?,
// "name"?} when signup is enabled: the user and a personal organization
// they own.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r.Context())
	if !s.opts.Accounts.SignupEnabled {
		return errMsg(http.StatusForbidden, "signup is disabled: ask the operator for an account")
	}
	if wait, ok := s.dir.Throttle(p.addr); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return errMsg(http.StatusTooManyRequests, "too many attempts: retry later")
	}
	f, err := readFields(r, "username", "password", "email", "name")
	if err != nil {
		return err
	}
	in, err := userInput(f)
	if err != nil {
		return err
	}
	u, err := s.dir.CreateUser(r.Context(), in)
	if err != nil {
		return tenantErr(err)
	}
	org, err := s.dir.CreateOrg(r.Context(), u.Username, "", u.ID)
	if err != nil {
		return tenantErr(err)
	}
	s.audit.Record(tenant.AuditEntry{Auth: "password", UserID: u.ID, Username: u.Username, OrgID: org.ID, Method: r.Method, Path: r.URL.Path,
		Resource: "auth", ResourceID: "signup", Status: http.StatusCreated, RemoteAddr: p.addr})
	s.writeJSON(w, http.StatusCreated, map[string]any{"user": u.View(), "org": org})
	return nil
}

// userInput reads the user fields of a body.
func userInput(f fields) (tenant.UserInput, error) {
	var in tenant.UserInput
	var err error
	if in.Username, err = f.str("username"); err != nil {
		return in, err
	}
	if in.Password, err = f.str("password"); err != nil {
		return in, err
	}
	if in.Email, err = f.str("email"); err != nil {
		return in, err
	}
	if in.Name, err = f.str("name"); err != nil {
		return in, err
	}
	if _, ok := f["acl"]; ok {
		if in.ACL, err = f.strs("acl"); err != nil {
			return in, err
		}
		if in.ACL == nil {
			in.ACL = &[]string{}
		}
	}
	if in.Disabled, err = f.boolean("disabled"); err != nil {
		return in, err
	}
	return in, nil
}

// logout revokes the token of the request (?all=true: every login
// session of the user).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p, err := needUser(r.Context())
	if err != nil {
		return err
	}
	if r.URL.Query().Get("all") == "true" {
		n := len(s.dir.Tokens(func(t *tenant.Token) bool { return t.UserID == p.user.ID && t.Kind == tenant.KindSession }))
		if err := s.dir.RevokeTokens(r.Context(), func(t *tenant.Token) bool {
			return t.UserID == p.user.ID && (t.Kind == tenant.KindSession || t.ID == p.token.ID)
		}); err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
		return nil
	}
	if err := s.dir.RevokeToken(r.Context(), p.token.ID); err != nil && !errors.Is(err, tenant.ErrNotFound) {
		return tenantErr(err)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"revoked": 1})
	return nil
}

// ---- /me ----

func (s *Server) serveMe(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	p, err := needUser(ctx)
	if err != nil {
		return err
	}
	uid := p.user.ID
	switch {
	case len(segs) == 0:
		switch r.Method {
		case http.MethodGet:
			u, ok := s.dir.User(uid)
			if !ok {
				return notFound()
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"user": u.View(), "orgs": s.dir.MembershipsOf(uid), "token": p.token})
			return nil
		case http.MethodPatch:
			f, err := readFields(r, "email", "name")
			if err != nil {
				return err
			}
			in, err := userInput(f)
			if err != nil {
				return err
			}
			u, err := s.dir.UpdateUser(ctx, uid, in)
			if err != nil {
				return tenantErr(err)
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"user": u.View()})
			return nil
		}
		return notSupportedOn(r.Method, "me")
	case len(segs) == 1 && segs[0] == "password":
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			return notSupportedOn(r.Method, "me/password")
		}
		return s.changePassword(w, r, p)
	case len(segs) == 1 && segs[0] == "acl":
		return s.serveMyACL(w, r, p)
	case segs[0] == "tokens" && len(segs) <= 2:
		return s.serveMyTokens(w, r, p, segs[1:])
	case len(segs) == 1 && segs[0] == "invitations":
		if r.Method != http.MethodPost {
			return notSupportedOn(r.Method, "me/invitations")
		}
		f, err := readFields(r, "code")
		if err != nil {
			return err
		}
		code, err := f.strOr("code", "")
		if err != nil {
			return err
		}
		m, err := s.dir.AcceptInvite(ctx, code, uid)
		if err != nil {
			return tenantErr(err)
		}
		p.auditOrg = m.OrgID
		s.writeJSON(w, http.StatusOK, map[string]any{"member": m})
		return nil
	}
	return errMsg(http.StatusNotFound, "not found")
}

// changePassword answers POST /me/password {"old_password",
// "new_password"}. Wrong old passwords count as failed logins of the
// account. Every other login session of the user is revoked.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := readFields(r, "old_password", "new_password")
	if err != nil {
		return err
	}
	oldPW, err := f.strOr("old_password", "")
	if err != nil {
		return err
	}
	newPW, err := f.strOr("new_password", "")
	if err != nil {
		return err
	}
	if _, _, err := s.dir.Login(r.Context(), p.user.Username, oldPW, p.addr); err != nil {
		if errors.Is(err, tenant.ErrRateLimited) {
			return errMsg(http.StatusTooManyRequests, "too many failed attempts: retry later")
		}
		if errors.Is(err, tenant.ErrBadLogin) {
			return badRequest("old_password is wrong")
		}
		return tenantErr(err)
	}
	if _, err := s.dir.UpdateUser(r.Context(), p.user.ID, tenant.UserInput{Password: &newPW}); err != nil {
		return tenantErr(err)
	}
	n := 0
	if err := s.dir.RevokeTokens(r.Context(), func(t *tenant.Token) bool {
		if t.UserID == p.user.ID && t.Kind == tenant.KindSession && t.ID != p.token.ID {
			n++
			return true
		}
		return false
	}); err != nil {
		return tenantErr(err)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"message": "password changed", "revoked_sessions": n})
	return nil
}

// serveMyACL answers GET and PUT /me/acl {"acl":[CIDR...]} (PacketFrame's
// user IP ACL). A new ACL that would shut out the request's own address
// is refused unless ?force=true.
func (s *Server) serveMyACL(w http.ResponseWriter, r *http.Request, p *principal) error {
	switch r.Method {
	case http.MethodGet:
		u, _ := s.dir.User(p.user.ID)
		s.writeJSON(w, http.StatusOK, map[string]any{"acl": u.View().ACL})
		return nil
	case http.MethodPut:
		f, err := readFields(r, "acl")
		if err != nil {
			return err
		}
		acl, err := f.strs("acl")
		if err != nil {
			return err
		}
		if acl == nil {
			acl = &[]string{}
		}
		norm, err := tenant.ParseACL(*acl)
		if err != nil {
			return tenantErr(err)
		}
		if !tenant.ACLAllows(norm, p.addr) && r.URL.Query().Get("force") != "true" {
			return badRequest("the acl would shut out this request's address %s (use ?force=true to store it anyway)", p.addr)
		}
		u, err := s.dir.UpdateUser(r.Context(), p.user.ID, tenant.UserInput{ACL: &norm})
		if err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"acl": u.View().ACL})
		return nil
	}
	return notSupportedOn(r.Method, "me/acl")
}

// tokenView is a token as lists show it: metadata only.
type tokenView struct {
	tenant.Token
	Expired bool `json:"expired"`
}

func viewTokens(ts []tenant.Token) []tokenView {
	now := time.Now().Unix()
	out := make([]tokenView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenView{Token: t, Expired: t.ExpiresAt > 0 && t.ExpiresAt <= now})
	}
	return out
}

// serveMyTokens answers /me/tokens: GET lists (?kind=pat|session), POST
// creates a personal access token {"notes","expires_in"|"expires_at",
// "org_id"} and returns its secret once, DELETE revokes every personal
// access token, DELETE /me/tokens/{id} one token.
func (s *Server) serveMyTokens(w http.ResponseWriter, r *http.Request, p *principal, segs []string) error {
	ctx := r.Context()
	uid := p.user.ID
	if len(segs) == 1 {
		if r.Method != http.MethodDelete {
			return notSupportedOn(r.Method, "a token")
		}
		t, ok := s.dir.Token(segs[0])
		if !ok || t.UserID != uid {
			return notFound()
		}
		if err := s.dir.RevokeToken(ctx, t.ID); err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "id": t.ID})
		return nil
	}
	switch r.Method {
	case http.MethodGet:
		kind := r.URL.Query().Get("kind")
		ts := s.dir.Tokens(func(t *tenant.Token) bool { return t.UserID == uid && (kind == "" || t.Kind == kind) })
		s.writeItems(w, len(ts), viewTokens(ts))
		return nil
	case http.MethodPost:
		f, err := readFields(r, "notes", "expires_in", "expires_at", "org_id")
		if err != nil {
			return err
		}
		notes, err := f.strOr("notes", "")
		if err != nil {
			return err
		}
		org, err := f.strOr("org_id", "")
		if err != nil {
			return err
		}
		in, err := f.integer("expires_in", 0, 10*365*24*3600)
		if err != nil {
			return err
		}
		at, err := f.integer("expires_at", 0, 1<<40)
		if err != nil {
			return err
		}
		var ttl time.Duration
		switch {
		case in != nil && at != nil:
			return badRequest("invalid configuration: give expires_in or expires_at, not both")
		case in != nil && *in > 0:
			ttl = time.Duration(*in) * time.Second
		case at != nil && *at > 0:
			ttl = time.Until(time.Unix(*at, 0))
			if ttl <= 0 {
				return badRequest("invalid configuration: expires_at is in the past")
			}
		}
		// A token bound to an organization only mints tokens bound there.
		if bound := p.token.OrgID; bound != "" {
			if org == "" {
				org = bound
			} else if org != bound && !contains(s.dir.Ancestors(org), bound) {
				return forbidden("this token is bound to organization %s", bound)
			}
		}
		if org != "" && s.dir.Role(uid, org) == tenant.RoleNone {
			return forbidden("not a member of organization %s", org)
		}
		secret, t, err := s.dir.CreateToken(ctx, tenant.Token{Kind: tenant.KindPAT, UserID: uid, OrgID: org, Notes: notes}, ttl)
		if err != nil {
			return tenantErr(err)
		}
		p.auditID = t.ID
		s.writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "id": t.ID, "kind": t.Kind, "notes": t.Notes,
			"org_id": t.OrgID, "create_time": t.CreateTime, "expires_at": t.ExpiresAt})
		return nil
	case http.MethodDelete:
		n := len(s.dir.Tokens(func(t *tenant.Token) bool { return t.UserID == uid && t.Kind == tenant.KindPAT }))
		if err := s.dir.RevokeTokens(ctx, func(t *tenant.Token) bool { return t.UserID == uid && t.Kind == tenant.KindPAT }); err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"deleted": strconv.Itoa(n)})
		return nil
	}
	return notSupportedOn(r.Method, "me/tokens")
}

// ---- /users (operator) ----

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	if err := needOperator(ctx); err != nil {
		return err
	}
	if len(segs) == 0 {
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query()
			var list []tenant.UserView
			for _, u := range s.dir.Users() {
				if (q.Has("username") && !strings.EqualFold(q.Get("username"), u.Username)) ||
					(q.Has("email") && !strings.EqualFold(q.Get("email"), u.Email)) ||
					(q.Has("disabled") && q.Get("disabled") != strconv.FormatBool(u.Disabled)) {
					continue
				}
				list = append(list, u.View())
			}
			if list == nil {
				list = []tenant.UserView{}
			}
			s.writeItems(w, len(list), list)
			return nil
		case http.MethodPost:
			return s.createUser(w, r)
		}
		return notSupportedOn(r.Method, "users")
	}
	id := segs[0]
	u, ok := s.dir.User(id)
	if !ok {
		return notFound()
	}
	principalOf(ctx).auditID = id
	switch {
	case len(segs) == 1:
		switch r.Method {
		case http.MethodGet:
			s.writeJSON(w, http.StatusOK, map[string]any{"user": u.View(), "orgs": s.dir.MembershipsOf(id)})
			return nil
		case http.MethodPatch:
			f, err := readFields(r, "username", "email", "name", "password", "acl", "disabled")
			if err != nil {
				return err
			}
			in, err := userInput(f)
			if err != nil {
				return err
			}
			nu, err := s.dir.UpdateUser(ctx, id, in)
			if err != nil {
				return tenantErr(err)
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"user": nu.View()})
			return nil
		case http.MethodDelete:
			if err := s.dir.DeleteUser(ctx, id); err != nil {
				return tenantErr(err)
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "id": id})
			return nil
		}
		return notSupportedOn(r.Method, "a user")
	case len(segs) == 2 && (segs[1] == "disable" || segs[1] == "enable" || segs[1] == "toggle"):
		if r.Method != http.MethodPost {
			return notSupportedOn(r.Method, "users/{id}/"+segs[1])
		}
		disabled := segs[1] == "disable" || (segs[1] == "toggle" && !u.Disabled)
		nu, err := s.dir.UpdateUser(ctx, id, tenant.UserInput{Disabled: &disabled})
		if err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"user": nu.View()})
		return nil
	case len(segs) == 2 && segs[1] == "tokens":
		switch r.Method {
		case http.MethodGet:
			ts := s.dir.Tokens(func(t *tenant.Token) bool { return t.UserID == id })
			s.writeItems(w, len(ts), viewTokens(ts))
			return nil
		case http.MethodDelete:
			n := len(s.dir.Tokens(func(t *tenant.Token) bool { return t.UserID == id }))
			if err := s.dir.RevokeTokens(ctx, func(t *tenant.Token) bool { return t.UserID == id }); err != nil {
				return tenantErr(err)
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"deleted": strconv.Itoa(n)})
			return nil
		}
		return notSupportedOn(r.Method, "users/{id}/tokens")
	}
	return errMsg(http.StatusNotFound, "not found")
}

// createUser answers POST /users {"username","password","email"?,
// "name"?, "acl"?, "disabled"?, "org_id"?, "role"?}: with org_id the user
// joins that organization (role default viewer; "owner" transfers
// ownership to them).
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := readFields(r, "username", "password", "email", "name", "acl", "disabled", "org_id", "role")
	if err != nil {
		return err
	}
	in, err := userInput(f)
	if err != nil {
		return err
	}
	org, err := f.strOr("org_id", "")
	if err != nil {
		return err
	}
	roleName, err := f.strOr("role", string(tenant.RoleViewer))
	if err != nil {
		return err
	}
	role, ok := tenant.ParseRole(roleName)
	if !ok {
		return badRequest("invalid configuration: role must be owner, admin, editor or viewer")
	}
	if org != "" {
		if _, ok := s.dir.Org(org); !ok {
			return badRequest("organization %s not found", org)
		}
	}
	u, err := s.dir.CreateUser(ctx, in)
	if err != nil {
		return tenantErr(err)
	}
	principalOf(ctx).auditID = u.ID
	out := map[string]any{"user": u.View()}
	if org != "" {
		m, err := s.addMember(ctx, org, u.ID, role)
		if err != nil {
			return err
		}
		out["member"] = m
	}
	s.writeJSON(w, http.StatusCreated, out)
	return nil
}

// addMember adds a member; the owner role goes by transfer.
func (s *Server) addMember(ctx context.Context, org, user string, role tenant.Role) (*tenant.Member, error) {
	setRole := role
	if role == tenant.RoleOwner {
		setRole = tenant.RoleAdmin
		if cur := s.dir.DirectRole(user, org); cur == tenant.RoleOwner {
			setRole = tenant.RoleOwner
		}
	}
	m, err := s.dir.SetMember(ctx, org, user, setRole)
	if err != nil {
		return nil, tenantErr(err)
	}
	if role == tenant.RoleOwner && m.Role != tenant.RoleOwner {
		if err := s.dir.TransferOwnership(ctx, org, user); err != nil {
			return nil, tenantErr(err)
		}
		m, _ = s.dir.Member(org, user)
	}
	return m, nil
}
