package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/tenant"
)

// Organizations: /orgs, /orgs/{id}, its members, invitations, tokens and
// children. Who may do what (the operator may do everything):
//
//	viewer  read the organization, its members and children
//	admin   rename it; add, invite, change and remove members (not the
//	        owner); list and revoke the tokens bound to it; create,
//	        manage and delete its child organizations
//	owner   delete it; transfer ownership
//
// Roles are inherited downwards: a member of a parent organization holds
// the same role in every child (a reseller's staff manage the
// sub-accounts). An organization the caller has no role in answers 404,
// exactly like one that does not exist.

// orgView is an organization with the caller's role in it.
type orgView struct {
	tenant.Org
	Role      tenant.Role `json:"role,omitempty"`
	Inherited bool        `json:"inherited,omitempty"`
}

// orgRole is the caller's effective role in org: RoleOwner for the
// operator; RoleNone when the org is not visible (missing, no role, or
// outside the organization the token is bound to).
func (s *Server) orgRole(p *principal, org string) tenant.Role {
	if _, ok := s.dir.Org(org); !ok {
		return tenant.RoleNone
	}
	if p.operator {
		return tenant.RoleOwner
	}
	if bound := p.token.OrgID; bound != "" && bound != org && !contains(s.dir.Ancestors(org), bound) {
		return tenant.RoleNone
	}
	return s.dir.Role(p.user.ID, org)
}

// parentAdmin reports whether the caller is admin or owner of an ancestor
// of org (who may delete it).
func (s *Server) parentAdmin(p *principal, org string) bool {
	for _, a := range s.dir.Ancestors(org) {
		if s.orgRole(p, a).AtLeast(tenant.RoleAdmin) {
			return true
		}
	}
	return false
}

func (s *Server) serveOrgs(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	p := principalOf(ctx)
	if len(segs) == 0 {
		switch r.Method {
		case http.MethodGet:
			return s.listOrgs(w, r, p)
		case http.MethodPost:
			return s.createOrg(w, r, p)
		}
		return notSupportedOn(r.Method, "orgs")
	}
	id := segs[0]
	role := s.orgRole(p, id)
	if role == tenant.RoleNone {
		return notFound()
	}
	p.auditOrg = id
	need := func(min tenant.Role) error {
		if !role.AtLeast(min) {
			return forbidden("role %s may not do this (needs %s)", role, min)
		}
		return nil
	}
	rest := segs[1:]
	switch {
	case len(rest) == 0:
		switch r.Method {
		case http.MethodGet:
			o, _ := s.dir.Org(id)
			kids := s.childViews(p, id)
			s.writeJSON(w, http.StatusOK, map[string]any{"org": o, "role": role, "members": len(s.dir.Members(id)), "children": kids})
			return nil
		case http.MethodPatch, http.MethodPut:
			if err := need(tenant.RoleAdmin); err != nil {
				return err
			}
			f, err := readFields(r, "name")
			if err != nil {
				return err
			}
			name, err := f.strOr("name", "")
			if err != nil {
				return err
			}
			o, err := s.dir.RenameOrg(ctx, id, name)
			if err != nil {
				return tenantErr(err)
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"org": o})
			return nil
		case http.MethodDelete:
			if role != tenant.RoleOwner && !s.parentAdmin(p, id) {
				return forbidden("only the owner (or an admin of a parent organization) may delete an organization")
			}
			return s.deleteOrg(w, r, id)
		}
		return notSupportedOn(r.Method, "an org")
	case rest[0] == "members":
		return s.serveMembers(w, r, p, id, role, rest[1:])
	case rest[0] == "invitations" && len(rest) <= 2:
		if err := need(tenant.RoleAdmin); err != nil {
			return err
		}
		if len(rest) == 1 {
			if r.Method != http.MethodGet {
				return notSupportedOn(r.Method, "invitations")
			}
			list := s.dir.Invites(id)
			if list == nil {
				list = []tenant.Invite{}
			}
			s.writeItems(w, len(list), list)
			return nil
		}
		if r.Method != http.MethodDelete {
			return notSupportedOn(r.Method, "an invitation")
		}
		if err := s.dir.DeleteInvite(ctx, id, rest[1]); err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "id": rest[1]})
		return nil
	case rest[0] == "tokens" && len(rest) <= 2:
		if err := need(tenant.RoleAdmin); err != nil {
			return err
		}
		if len(rest) == 1 {
			if r.Method != http.MethodGet {
				return notSupportedOn(r.Method, "org tokens")
			}
			ts := s.dir.Tokens(func(t *tenant.Token) bool { return t.OrgID == id })
			s.writeItems(w, len(ts), viewTokens(ts))
			return nil
		}
		if r.Method != http.MethodDelete {
			return notSupportedOn(r.Method, "a token")
		}
		t, ok := s.dir.Token(rest[1])
		if !ok || t.OrgID != id {
			return notFound()
		}
		if err := s.dir.RevokeToken(ctx, t.ID); err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "id": t.ID})
		return nil
	case rest[0] == "children" && len(rest) == 1:
		if r.Method != http.MethodGet {
			return notSupportedOn(r.Method, "children")
		}
		kids := s.childViews(p, id)
		s.writeItems(w, len(kids), kids)
		return nil
	}
	return errMsg(http.StatusNotFound, "not found")
}

func (s *Server) childViews(p *principal, id string) []orgView {
	out := []orgView{}
	for _, o := range s.dir.Orgs() {
		if o.ParentID == id {
			out = append(out, orgView{Org: o, Role: s.orgRole(p, o.ID), Inherited: p.user != nil && s.dir.DirectRole(p.user.ID, o.ID) == tenant.RoleNone})
		}
	}
	return out
}

// listOrgs answers GET /orgs (?parent_id=): every organization for the
// operator, the caller's own (and their children) for a user.
func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	keep := func(o tenant.Org) bool { return !q.Has("parent_id") || o.ParentID == q.Get("parent_id") }
	out := []orgView{}
	if p.operator {
		for _, o := range s.dir.Orgs() {
			if keep(o) {
				out = append(out, orgView{Org: o})
			}
		}
	} else {
		for _, m := range s.dir.MembershipsOf(p.user.ID) {
			if keep(m.Org) && s.orgRole(p, m.Org.ID) != tenant.RoleNone {
				out = append(out, orgView{Org: m.Org, Role: m.Role, Inherited: m.Inherited})
			}
		}
	}
	s.writeItems(w, len(out), out)
	return nil
}

// createOrg answers POST /orgs {"name","parent_id"?,"owner_id"?}. A user
// becomes the owner of what they create; they may create a child of an
// organization they administer, and a top-level one only when signup is
// enabled. The operator may name any owner (or none).
func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := readFields(r, "name", "parent_id", "owner_id")
	if err != nil {
		return err
	}
	name, err := f.strOr("name", "")
	if err != nil {
		return err
	}
	parent, err := f.strOr("parent_id", "")
	if err != nil {
		return err
	}
	owner, err := f.strOr("owner_id", "")
	if err != nil {
		return err
	}
	if !p.operator {
		if owner != "" {
			return badRequest("invalid configuration: owner_id is set by the operator only; you own what you create")
		}
		owner = p.user.ID
		if parent == "" {
			if p.token.OrgID != "" {
				return forbidden("this token is bound to organization %s", p.token.OrgID)
			}
			if !s.opts.Accounts.SignupEnabled {
				return forbidden("only the platform operator creates top-level organizations")
			}
		} else {
			role := s.orgRole(p, parent)
			if role == tenant.RoleNone {
				return badRequest("parent organization %s not found", parent)
			}
			if !role.AtLeast(tenant.RoleAdmin) {
				return forbidden("role %s may not create child organizations (needs admin)", role)
			}
		}
	}
	o, err := s.dir.CreateOrg(r.Context(), name, parent, owner)
	if err != nil {
		return tenantErr(err)
	}
	p.auditOrg, p.auditID = o.ID, o.ID
	s.writeJSON(w, http.StatusCreated, map[string]any{"org": o})
	return nil
}

// deleteOrg refuses while the organization owns objects or has children.
func (s *Server) deleteOrg(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	n := 0
	for _, k := range s.owners.Keys(id, "") {
		if _, err := s.st.Get(ctx, k); err == nil {
			n++
		} else if errors.Is(err, store.ErrNotFound) {
			s.dropOwner(ctx, k) // a stale record
		} else {
			return storeError(err)
		}
	}
	if n > 0 {
		return badRequest("organization still owns %d object(s): delete them (or have the operator reassign them) first", n)
	}
	if err := s.dir.DeleteOrg(ctx, id); err != nil {
		return tenantErr(err)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "id": id})
	return nil
}

// memberView is a member with the user's names.
type memberView struct {
	tenant.Member
	Username string `json:"username,omitempty"`
	Email    string `json:"email,omitempty"`
}

func (s *Server) viewMember(m tenant.Member) memberView {
	v := memberView{Member: m}
	if u, ok := s.dir.User(m.UserID); ok {
		v.Username, v.Email = u.Username, u.Email
	}
	return v
}

// serveMembers answers /orgs/{id}/members[/{user_id}[/transfer]].
func (s *Server) serveMembers(w http.ResponseWriter, r *http.Request, p *principal, org string, role tenant.Role, segs []string) error {
	ctx := r.Context()
	need := func(min tenant.Role) error {
		if !role.AtLeast(min) {
			return forbidden("role %s may not do this (needs %s)", role, min)
		}
		return nil
	}
	if len(segs) == 0 {
		switch r.Method {
		case http.MethodGet:
			out := []memberView{}
			for _, m := range s.dir.Members(org) {
				out = append(out, s.viewMember(m))
			}
			s.writeItems(w, len(out), out)
			return nil
		case http.MethodPost:
			if err := need(tenant.RoleAdmin); err != nil {
				return err
			}
			return s.addOrInvite(w, r, p, org)
		}
		return notSupportedOn(r.Method, "members")
	}
	uid := segs[0]
	m, ok := s.dir.Member(org, uid)
	if !ok {
		return notFound()
	}
	p.auditID = uid
	if len(segs) == 2 && segs[1] == "transfer" {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			return notSupportedOn(r.Method, "transfer")
		}
		if role != tenant.RoleOwner {
			return forbidden("only the owner may transfer ownership")
		}
		if err := s.dir.TransferOwnership(ctx, org, uid); err != nil {
			return tenantErr(err)
		}
		nm, _ := s.dir.Member(org, uid)
		s.writeJSON(w, http.StatusOK, map[string]any{"member": s.viewMember(*nm)})
		return nil
	}
	if len(segs) != 1 {
		return errMsg(http.StatusNotFound, "not found")
	}
	switch r.Method {
	case http.MethodGet:
		s.writeJSON(w, http.StatusOK, map[string]any{"member": s.viewMember(*m)})
		return nil
	case http.MethodPatch, http.MethodPut:
		if err := need(tenant.RoleAdmin); err != nil {
			return err
		}
		f, err := readFields(r, "role")
		if err != nil {
			return err
		}
		name, err := f.strOr("role", "")
		if err != nil {
			return err
		}
		nr, ok := tenant.ParseRole(name)
		if !ok {
			return badRequest("invalid configuration: role must be admin, editor or viewer")
		}
		if nr == tenant.RoleOwner {
			return badRequest("invalid configuration: ownership moves with POST /orgs/{id}/members/{user_id}/transfer")
		}
		nm, err := s.dir.SetMember(ctx, org, uid, nr)
		if err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"member": s.viewMember(*nm)})
		return nil
	case http.MethodDelete:
		self := p.user != nil && p.user.ID == uid
		if !self {
			if err := need(tenant.RoleAdmin); err != nil {
				return err
			}
		}
		if err := s.dir.RemoveMember(ctx, org, uid); err != nil {
			return tenantErr(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "id": uid})
		return nil
	}
	return notSupportedOn(r.Method, "a member")
}

// addOrInvite answers POST /orgs/{id}/members {"user_id"|"email","role"}:
// a user id joins at once; an email gets an invitation whose one-time
// code is returned (once) for the invitee to accept with POST
// /me/invitations {"code"}. Nothing here tells whether an email belongs
// to an account.
func (s *Server) addOrInvite(w http.ResponseWriter, r *http.Request, p *principal, org string) error {
	ctx := r.Context()
	f, err := readFields(r, "user_id", "email", "role")
	if err != nil {
		return err
	}
	uid, err := f.strOr("user_id", "")
	if err != nil {
		return err
	}
	email, err := f.strOr("email", "")
	if err != nil {
		return err
	}
	name, err := f.strOr("role", string(tenant.RoleViewer))
	if err != nil {
		return err
	}
	role, ok := tenant.ParseRole(name)
	if !ok {
		return badRequest("invalid configuration: role must be admin, editor or viewer")
	}
	if role == tenant.RoleOwner && !p.operator {
		return badRequest("invalid configuration: ownership moves with POST /orgs/{id}/members/{user_id}/transfer")
	}
	switch {
	case (uid == "") == (email == ""):
		return badRequest("invalid configuration: give user_id or email")
	case uid != "":
		if _, ok := s.dir.User(uid); !ok {
			return badRequest("user %s not found", uid)
		}
		if s.dir.DirectRole(uid, org) == tenant.RoleOwner {
			return badRequest("user %s is the owner", uid)
		}
		m, err := s.addMember(ctx, org, uid, role)
		if err != nil {
			return err
		}
		p.auditID = uid
		s.writeJSON(w, http.StatusCreated, map[string]any{"member": s.viewMember(*m)})
		return nil
	}
	by := p.keyName
	if p.user != nil {
		by = p.user.ID
	}
	code, in, err := s.dir.CreateInvite(ctx, org, strings.TrimSpace(email), role, by)
	if err != nil {
		return tenantErr(err)
	}
	p.auditID = in.ID
	s.writeJSON(w, http.StatusCreated, map[string]any{"invitation": in, "code": code})
	return nil
}
