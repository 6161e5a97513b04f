package admin

// The OpenAPI description of accounts, organizations and tenancy
// (accounts.go, orgs.go, tenancy_api.go).

func str() obj              { return obj{"type": "string"} }
func integer() obj          { return obj{"type": "integer"} }
func arrayOf(items obj) obj { return obj{"type": "array", "items": items} }
func listOf(item string) obj {
	return obj{"type": "object", "properties": obj{"total": integer(), "list": arrayOf(ref(item))}}
}
func object(props obj, req ...string) obj {
	o := obj{"type": "object", "properties": props}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// orgParam is the X-Stargate-Org header every scoped request may send.
var orgParam = obj{"name": OrgHeader, "in": "header", "schema": str(),
	"description": "The organization to act in. Optional for a user of one organization or a token bound to one; the operator sends it to act for an organization."}

func accountSchemas(schemas obj) {
	roleEnum := obj{"type": "string", "enum": []string{"owner", "admin", "editor", "viewer"}}
	schemas["Role"] = roleEnum
	schemas["User"] = object(obj{
		"id": str(), "username": str(), "email": str(), "name": str(), "disabled": obj{"type": "boolean"},
		"acl": arrayOf(str()), "create_time": integer(), "update_time": integer(),
	})
	schemas["UserInput"] = object(obj{
		"username": obj{"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$"}, "password": obj{"type": "string", "minLength": 8, "maxLength": 512},
		"email": obj{"type": "string", "format": "email"}, "name": obj{"type": "string", "maxLength": 128},
		"acl": arrayOf(obj{"type": "string", "description": "CIDR or address"}), "disabled": obj{"type": "boolean"},
		"org_id": obj{"type": "string", "description": "POST /users only: join this organization"},
		"role":   obj{"type": "string", "enum": []string{"owner", "admin", "editor", "viewer"}},
	})
	schemas["Org"] = object(obj{"id": str(), "name": str(), "parent_id": str(), "create_time": integer(), "update_time": integer(),
		"role": roleEnum, "inherited": obj{"type": "boolean"}})
	schemas["Member"] = object(obj{"org_id": str(), "user_id": str(), "role": roleEnum, "username": str(), "email": str(),
		"create_time": integer(), "update_time": integer()})
	schemas["Membership"] = object(obj{"org": obj{"type": "object"}, "role": roleEnum, "inherited": obj{"type": "boolean"}})
	schemas["Token"] = object(obj{"id": str(), "kind": obj{"type": "string", "enum": []string{"session", "pat"}}, "user_id": str(),
		"org_id": str(), "notes": str(), "create_time": integer(), "expires_at": obj{"type": "integer", "description": "Unix seconds; 0 never"},
		"expired": obj{"type": "boolean"}})
	schemas["TokenCreated"] = object(obj{"token": obj{"type": "string", "description": "the secret, shown once"}, "id": str(), "kind": str(),
		"notes": str(), "org_id": str(), "create_time": integer(), "expires_at": integer()})
	schemas["Invitation"] = object(obj{"id": str(), "org_id": str(), "email": str(), "role": roleEnum, "invited_by": str(),
		"create_time": integer(), "expires_at": integer()})
	schemas["AuditEntry"] = object(obj{"id": str(), "time": integer(), "org_id": str(), "user_id": str(), "username": str(),
		"token_id": str(), "key_name": str(), "auth": obj{"type": "string", "enum": []string{"admin_key", "session", "pat", "password", "none"}},
		"method": str(), "path": str(), "resource": str(), "resource_id": str(), "status": integer(), "remote_addr": str(), "note": str()})
	schemas["HostClaim"] = object(obj{"host": str(), "key": str(), "org_id": str()})
	schemas["Login"] = object(obj{"username": str(), "email": str(), "login": str(), "password": str(),
		"org_id": obj{"type": "string", "description": "bind the session to this organization"}}, "password")
	schemas["LoginResult"] = object(obj{"authenticated": obj{"type": "boolean"}, "token": str(), "token_id": str(), "expires_at": integer(),
		"user_id": str(), "user": obj{"type": "object"}, "orgs": arrayOf(obj{"type": "object"})})
	schemas["Stats"] = obj{"type": "object", "additionalProperties": obj{"type": "integer"}}
	for _, n := range []string{"User", "Org", "Member", "Token", "Invitation", "AuditEntry", "HostClaim", "Membership"} {
		schemas[n+"List"] = listOf(n)
	}
}

// accountPaths adds the account endpoints; with merges the common errors.
func accountPaths(paths obj, with func(obj) obj) {
	tag := func(t string) []string { return []string{t} }
	op := func(t, summary string, params []obj, body obj, responses obj) obj {
		o := obj{"summary": summary, "tags": tag(t), "responses": with(responses)}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if body != nil {
			o["requestBody"] = jsonBody(body)
		}
		return o
	}
	pathParam := func(name string) obj {
		return obj{"name": name, "in": "path", "required": true, "schema": str()}
	}
	query := func(name, desc string) obj {
		return obj{"name": name, "in": "query", "schema": str(), "description": desc}
	}
	nf := resp("not found, or not visible to the caller", ref("NotFound"))
	forb := resp("the caller's role does not allow it", ref("Error"))
	ok := func(desc string, schema obj) obj { return resp(desc, schema) }
	deleted := resp("deleted", obj{"type": "object"})
	userBody := ref("UserInput")

	paths["/auth/login"] = obj{"post": obj{"summary": "Log in with username or email and password; returns a session token and its expiry",
		"tags": tag("auth"), "security": []obj{}, "requestBody": jsonBody(ref("Login")),
		"responses": with(obj{"200": ok("logged in", ref("LoginResult")),
			"401": resp("invalid username or password (the same answer whether or not the account exists)", ref("Error")),
			"403": resp("account disabled, or address not allowed (only after a correct password)", ref("Error")),
			"429": resp("too many failed logins from this address or for this account; see Retry-After", ref("Error"))})}}
	paths["/auth/signup"] = obj{"post": obj{"summary": "Create an account and a personal organization (when signup_enabled)",
		"tags": tag("auth"), "security": []obj{}, "requestBody": jsonBody(userBody),
		"responses": with(obj{"201": ok("created", object(obj{"user": ref("User"), "org": ref("Org")})),
			"403": resp("signup is disabled", ref("Error")), "409": resp("username or email taken", ref("Error")),
			"429": resp("too many attempts", ref("Error"))})}}
	paths["/auth/logout"] = obj{"post": op("auth", "Revoke the token of the request (?all=true: every login session)",
		[]obj{{"name": "all", "in": "query", "schema": obj{"type": "string", "enum": []string{"true"}}}}, nil,
		obj{"200": ok("revoked", object(obj{"revoked": integer()}))})}

	paths["/me"] = obj{
		"get":   op("me", "The caller's account, organizations and token", nil, nil, obj{"200": ok("the account", object(obj{"user": ref("User"), "orgs": arrayOf(ref("Membership")), "token": ref("Token")}))}),
		"patch": op("me", "Change one's email or name", nil, object(obj{"email": str(), "name": str()}), obj{"200": ok("changed", object(obj{"user": ref("User")}))}),
	}
	paths["/me/password"] = obj{"post": op("me", "Change one's password; other login sessions are revoked", nil,
		object(obj{"old_password": str(), "new_password": str()}, "old_password", "new_password"),
		obj{"200": ok("changed", obj{"type": "object"}), "429": resp("too many wrong passwords", ref("Error"))})}
	paths["/me/acl"] = obj{
		"get": op("me", "One's IP ACL: the addresses one's tokens work from (empty: anywhere)", nil, nil, obj{"200": ok("the ACL", object(obj{"acl": arrayOf(str())}))}),
		"put": op("me", "Replace one's IP ACL (refused if it would shut out this request's address, unless ?force=true)",
			[]obj{{"name": "force", "in": "query", "schema": obj{"type": "string", "enum": []string{"true"}}}},
			object(obj{"acl": arrayOf(str())}), obj{"200": ok("the ACL", object(obj{"acl": arrayOf(str())}))}),
	}
	paths["/me/tokens"] = obj{
		"get": op("me", "One's tokens (metadata only)", []obj{query("kind", "pat or session")}, nil, obj{"200": ok("tokens", ref("TokenList"))}),
		"post": op("me", "Create a personal access token; the secret is returned once", nil,
			object(obj{"notes": obj{"type": "string", "maxLength": 256}, "expires_in": obj{"type": "integer", "description": "seconds; absent or 0: never"},
				"expires_at": obj{"type": "integer", "description": "Unix seconds"}, "org_id": obj{"type": "string", "description": "bind the token to this organization"}}),
			obj{"201": ok("created", ref("TokenCreated")), "403": forb}),
		"delete": op("me", "Revoke every personal access token", nil, nil, obj{"200": deleted}),
	}
	paths["/me/tokens/{token_id}"] = obj{"parameters": []obj{pathParam("token_id")},
		"delete": op("me", "Revoke one of one's tokens", nil, nil, obj{"200": deleted, "404": nf})}
	paths["/me/invitations"] = obj{"post": op("me", "Accept an invitation with its one-time code", nil,
		object(obj{"code": str()}, "code"), obj{"200": ok("joined", object(obj{"member": ref("Member")})), "404": nf})}

	opOnly := resp("only the platform operator may do this", ref("Error"))
	paths["/users"] = obj{
		"get": op("users", "List users (operator)", []obj{query("username", "exact, case-insensitive"), query("email", "exact, case-insensitive"), query("disabled", "true or false")},
			nil, obj{"200": ok("users", ref("UserList")), "403": opOnly}),
		"post": op("users", "Create a user, optionally in an organization with a role (operator)", nil, userBody,
			obj{"201": ok("created", object(obj{"user": ref("User"), "member": ref("Member")})), "403": opOnly, "409": resp("username or email taken", ref("Error"))}),
	}
	uid := []obj{pathParam("user_id")}
	paths["/users/{user_id}"] = obj{"parameters": uid,
		"get":    op("users", "A user with their organizations (operator)", nil, nil, obj{"200": ok("the user", object(obj{"user": ref("User"), "orgs": arrayOf(ref("Membership"))})), "403": opOnly, "404": nf}),
		"patch":  op("users", "Change a user's email, name, password, ACL or disabled flag (operator)", nil, userBody, obj{"200": ok("changed", object(obj{"user": ref("User")})), "403": opOnly, "404": nf}),
		"delete": op("users", "Delete a user with their memberships and tokens (operator)", nil, nil, obj{"200": deleted, "403": opOnly, "404": nf}),
	}
	for _, a := range []string{"disable", "enable", "toggle"} {
		paths["/users/{user_id}/"+a] = obj{"parameters": uid,
			"post": op("users", a+" a user: a disabled user's tokens stop working at once (operator)", nil, nil, obj{"200": ok("the user", object(obj{"user": ref("User")})), "403": opOnly, "404": nf})}
	}
	paths["/users/{user_id}/tokens"] = obj{"parameters": uid,
		"get":    op("users", "A user's tokens (operator)", nil, nil, obj{"200": ok("tokens", ref("TokenList")), "403": opOnly, "404": nf}),
		"delete": op("users", "Revoke every token of a user (operator)", nil, nil, obj{"200": deleted, "403": opOnly, "404": nf})}

	paths["/orgs"] = obj{
		"get": op("orgs", "Organizations: all for the operator, one's own (and their children) for a user", []obj{query("parent_id", "only children of this organization")},
			nil, obj{"200": ok("organizations", ref("OrgList"))}),
		"post": op("orgs", "Create an organization; a user owns what they create (a child needs admin in the parent; a top-level one needs signup_enabled)", nil,
			object(obj{"name": str(), "parent_id": str(), "owner_id": obj{"type": "string", "description": "operator only"}}, "name"),
			obj{"201": ok("created", object(obj{"org": ref("Org")})), "403": forb}),
	}
	oid := []obj{pathParam("org_id")}
	paths["/orgs/{org_id}"] = obj{"parameters": oid,
		"get":    op("orgs", "An organization with the caller's role (viewer)", nil, nil, obj{"200": ok("the organization", object(obj{"org": ref("Org"), "role": ref("Role"), "members": integer(), "children": arrayOf(ref("Org"))})), "404": nf}),
		"patch":  op("orgs", "Rename (admin)", nil, object(obj{"name": str()}, "name"), obj{"200": ok("renamed", object(obj{"org": ref("Org")})), "403": forb, "404": nf}),
		"delete": op("orgs", "Delete an empty organization without children (owner, or admin of a parent)", nil, nil, obj{"200": deleted, "403": forb, "404": nf}),
	}
	paths["/orgs/{org_id}/children"] = obj{"parameters": oid,
		"get": op("orgs", "Child organizations (sub-accounts)", nil, nil, obj{"200": ok("children", ref("OrgList")), "404": nf})}
	paths["/orgs/{org_id}/members"] = obj{"parameters": oid,
		"get": op("orgs", "Members (viewer)", nil, nil, obj{"200": ok("members", ref("MemberList")), "404": nf}),
		"post": op("orgs", "Add a user by id, or invite by email (the one-time code is returned once) (admin)", nil,
			object(obj{"user_id": str(), "email": str(), "role": ref("Role")}),
			obj{"201": ok("added or invited", object(obj{"member": ref("Member"), "invitation": ref("Invitation"), "code": str()})), "403": forb, "404": nf}),
	}
	mid := []obj{pathParam("org_id"), pathParam("user_id")}
	paths["/orgs/{org_id}/members/{user_id}"] = obj{"parameters": mid,
		"get":    op("orgs", "A member (viewer)", nil, nil, obj{"200": ok("the member", object(obj{"member": ref("Member")})), "404": nf}),
		"patch":  op("orgs", "Change a member's role (admin; the owner's role moves by transfer)", nil, object(obj{"role": ref("Role")}, "role"), obj{"200": ok("changed", object(obj{"member": ref("Member")})), "403": forb, "404": nf}),
		"delete": op("orgs", "Remove a member (admin, or the member itself; not the owner)", nil, nil, obj{"200": deleted, "403": forb, "404": nf}),
	}
	paths["/orgs/{org_id}/members/{user_id}/transfer"] = obj{"parameters": mid,
		"post": op("orgs", "Make this member the owner; the previous owner becomes admin (owner)", nil, nil, obj{"200": ok("transferred", object(obj{"member": ref("Member")})), "403": forb, "404": nf})}
	paths["/orgs/{org_id}/invitations"] = obj{"parameters": oid,
		"get": op("orgs", "Pending invitations (admin)", nil, nil, obj{"200": ok("invitations", ref("InvitationList")), "403": forb, "404": nf})}
	paths["/orgs/{org_id}/invitations/{invitation_id}"] = obj{"parameters": []obj{pathParam("org_id"), pathParam("invitation_id")},
		"delete": op("orgs", "Withdraw an invitation (admin)", nil, nil, obj{"200": deleted, "403": forb, "404": nf})}
	paths["/orgs/{org_id}/tokens"] = obj{"parameters": oid,
		"get": op("orgs", "Tokens bound to the organization (admin)", nil, nil, obj{"200": ok("tokens", ref("TokenList")), "403": forb, "404": nf})}
	paths["/orgs/{org_id}/tokens/{token_id}"] = obj{"parameters": []obj{pathParam("org_id"), pathParam("token_id")},
		"delete": op("orgs", "Revoke a token bound to the organization (admin)", nil, nil, obj{"200": deleted, "403": forb, "404": nf})}

	paths["/audit"] = obj{"get": op("tenancy", "The audit log of successful writes, newest first: everything for the operator, the organization's for its admins",
		[]obj{orgParam, query("org_id", "operator: one organization (- for the platform)"), query("user_id", ""), query("token_id", ""), query("method", ""),
			query("resource", "e.g. routes"), query("resource_id", ""), {"name": "since", "in": "query", "schema": integer()},
			{"name": "until", "in": "query", "schema": integer()}, {"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": 1000}}},
		nil, obj{"200": ok("entries", ref("AuditEntryList")), "403": forb})}
	paths["/stats"] = obj{"get": op("tenancy", "Counts of users, organizations, tokens, routes, DNS zones and more (operator)", nil, nil,
		obj{"200": ok("counts", ref("Stats")), "403": opOnly})}
	paths["/owners"] = obj{
		"get": op("tenancy", "The organization owning an object (operator)", []obj{{"name": "key", "in": "query", "required": true, "schema": str(), "description": "the object's store key, e.g. /apisix/routes/1"}},
			nil, obj{"200": ok("the owner", object(obj{"key": str(), "org_id": str()})), "403": opOnly, "404": nf}),
		"put": op("tenancy", "Reassign an object (and its hostnames) to an organization, or to the platform with an empty org_id (operator)", nil,
			object(obj{"key": str(), "org_id": str()}, "key"), obj{"200": ok("the owner", object(obj{"key": str(), "org_id": str()})), "403": opOnly, "404": nf}),
	}
	paths["/hosts"] = obj{"get": op("tenancy", "Hostnames claimed by objects (route hosts, SNIs, DNS zones), with their owners", []obj{orgParam}, nil,
		obj{"200": ok("claims", ref("HostClaimList"))})}
}
