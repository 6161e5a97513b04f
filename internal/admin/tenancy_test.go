package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/tenant"
)

// bare is a world without the matrix's fixture.
func bare(t *testing.T, e *env) *world {
	return &world{t: t, e: e, uid: map[actor]string{}, token: map[actor]string{}}
}

// with sends a request with a token and an optional organization.
func (w *world) with(tok, org, method, path, body string) response {
	w.t.Helper()
	var h map[string]string
	if org != "" {
		h = map[string]string{"X-Stargate-Org": org}
	}
	return w.e.doWith(method, path, body, tok, h)
}

func (w *world) expect(r response, status int, contains string) {
	w.t.Helper()
	if r.status != status {
		w.t.Errorf("status %d, want %d: %s", r.status, status, r.body)
		return
	}
	if contains != "" && !strings.Contains(string(r.body), contains) {
		w.t.Errorf("body %s does not contain %q", r.body, contains)
	}
}

func TestLoginBruteForceLimits(t *testing.T) {
	e := newEnvWith(t, "bolt", func(o *admin.Options) {
		o.Accounts.Login = tenant.LoginLimits{PerAddress: 6, PerAccount: 3, Window: time.Hour}
	})
	w := bare(t, e)
	w.user("alice", "", "")
	w.user("bob", "", "")
	login := func(name, pw string) response {
		return e.do("POST", "/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, name, pw), "-")
	}
	// A wrong password and an unknown user get byte-identical answers.
	var bodies []string
	for i := 0; i < 3; i++ {
		r := login("alice", "wrong password")
		w.expect(r, 401, `"error_msg":"invalid username or password"`)
		bodies = append(bodies, string(r.body))
		r = login("nobody", "wrong password")
		w.expect(r, 401, "")
		bodies = append(bodies, string(r.body))
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Errorf("failure answers differ: %q vs %q", b, bodies[0])
		}
	}
	// Three failures exhaust an account, known or not: even the right
	// password is refused now, and the same way for both.
	r := login("alice", testPassword)
	w.expect(r, 429, "too many failed logins")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	w.expect(login("nobody", testPassword), 429, "too many failed logins")
	// Six failures exhaust the address: another account is refused too.
	w.expect(login("bob", testPassword), 429, "")
	// Refused logins write nothing (they are logged, not stored).
	w.expect(w.op("GET", "/audit?org_id=-&resource=auth", "", ""), 200, `"total":0`)
}

func TestLoginAndAccountStates(t *testing.T) {
	e := newEnv(t)
	w := bare(t, e)
	id := w.user("carol", "", "")
	// Email works as the login name; UCDN's field name too.
	w.expect(e.do("POST", "/auth/login", `{"email":"carol@example.org","password":"`+testPassword+`"}`, "-"), 200, `"authenticated":true`)
	w.expect(e.do("POST", "/auth/login", `{"login":"CAROL","password":"`+testPassword+`"}`, "-"), 200, `"expires_at"`)
	w.expect(e.do("POST", "/auth/login", `{"username":"carol"}`, "-"), 400, "")
	// Disabled: the right password learns it, a wrong one does not.
	w.opOK("POST", "/users/"+id+"/disable", "", "")
	w.expect(e.do("POST", "/auth/login", `{"username":"carol","password":"`+testPassword+`"}`, "-"), 403, "account disabled")
	w.expect(e.do("POST", "/auth/login", `{"username":"carol","password":"nope nope"}`, "-"), 401, "invalid username or password")
	w.opOK("POST", "/users/"+id+"/enable", "", "")
	w.expect(e.do("POST", "/auth/login", `{"username":"carol","password":"`+testPassword+`"}`, "-"), 200, "")
	// Users are unique by name and email, case-insensitively.
	w.expect(w.op("POST", "/users", `{"username":"Carol","password":"long enough pw"}`, ""), 409, "username already taken")
	w.expect(w.op("POST", "/users", `{"username":"carol2","email":"CAROL@example.org","password":"long enough pw"}`, ""), 409, "email already taken")
	w.expect(w.op("POST", "/users", `{"username":"dave","password":"short"}`, ""), 400, "at least 8")
	// Password hashes never leave the server.
	for _, p := range []string{"/users", "/users/" + id} {
		if r := w.op("GET", p, "", ""); strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "password") {
			t.Errorf("GET %s shows the password hash: %s", p, r.body)
		}
	}
	kv, err := e.st.Get(context.Background(), "/stargate/accounts/users/"+id)
	if err != nil || !strings.Contains(string(kv.Value), "$argon2id$v=19$") || strings.Contains(string(kv.Value), testPassword) {
		t.Errorf("stored user is not argon2id-hashed: %s %v", kv.Value, err)
	}
}

func TestTokenLifecycleAndRevocation(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		w := bare(t, e)
		uid := w.user("erin", "", "")
		s1 := w.login("erin")
		// A personal access token: the secret once, then metadata only.
		r := e.do("POST", "/me/tokens", `{"notes":"deploy bot","expires_in":3600}`, s1)
		w.expect(r, 201, `"notes":"deploy bot"`)
		m := r.json(t)
		pat, patID := m["token"].(string), m["id"].(string)
		list := e.do("GET", "/me/tokens", "", s1)
		w.expect(list, 200, patID)
		if strings.Contains(string(list.body), pat) {
			t.Error("token list shows a secret")
		}
		// Every transport works, like the admin key's.
		for _, tr := range []func(*http.Request){
			func(r *http.Request) { r.Header.Set("X-API-KEY", pat) },
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+pat) },
			func(r *http.Request) { q := r.URL.Query(); q.Set("api_key", pat); r.URL.RawQuery = q.Encode() },
			func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "x_api_key", Value: pat}) },
		} {
			req, _ := http.NewRequest("GET", e.url+"/api/stargate/v1/me", nil)
			tr(req)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("token transport: status %d", res.StatusCode)
			}
		}
		// Secrets are stored as hashes only.
		kvs, _, _ := e.st.List(context.Background(), "/")
		for _, kv := range kvs {
			if strings.Contains(kv.Key+string(kv.Value), pat) || strings.Contains(kv.Key+string(kv.Value), s1) {
				t.Errorf("a token secret is stored in clear at %s", kv.Key)
			}
		}
		// Revoking one token holds on the very next request.
		w.expect(e.do("DELETE", "/me/tokens/"+patID, "", s1), 200, "")
		w.expect(e.do("GET", "/me", "", pat), 401, "wrong apikey")
		// Another user's token id is not found.
		w.user("frank", "", "")
		s2 := w.login("frank")
		r = e.do("POST", "/me/tokens", `{}`, s2)
		frankPAT := r.json(t)["id"].(string)
		w.expect(e.do("DELETE", "/me/tokens/"+frankPAT, "", s1), 404, "Key not found")
		// Revoke all personal access tokens.
		p2 := e.do("POST", "/me/tokens", `{}`, s1).json(t)["token"].(string)
		p3 := e.do("POST", "/me/tokens", `{}`, s1).json(t)["token"].(string)
		w.expect(e.do("DELETE", "/me/tokens", "", s1), 200, `"deleted":"2"`)
		w.expect(e.do("GET", "/me", "", p2), 401, "")
		w.expect(e.do("GET", "/me", "", p3), 401, "")
		w.expect(e.do("GET", "/me", "", s1), 200, "")
		// Logout revokes the session it is sent with.
		w.expect(e.do("POST", "/auth/logout", "", s1), 200, "")
		w.expect(e.do("GET", "/me", "", s1), 401, "")
		// A password change ends the other sessions, not the current one.
		a, b := w.login("erin"), w.login("erin")
		w.expect(e.do("POST", "/me/password", `{"old_password":"wrong one","new_password":"a new long password"}`, a), 400, "old_password is wrong")
		w.expect(e.do("POST", "/me/password", `{"old_password":"`+testPassword+`","new_password":"a new long password"}`, a), 200, `"revoked_sessions":1`)
		w.expect(e.do("GET", "/me", "", b), 401, "")
		w.expect(e.do("GET", "/me", "", a), 200, "")
		w.expect(e.do("POST", "/auth/login", `{"username":"erin","password":"a new long password"}`, "-"), 200, "")
		// Disabling the user stops its tokens at once; enabling restores them.
		w.opOK("POST", "/users/"+uid+"/disable", "", "")
		w.expect(e.do("GET", "/me", "", a), 401, "account disabled")
		w.opOK("POST", "/users/"+uid+"/enable", "", "")
		w.expect(e.do("GET", "/me", "", a), 200, "")
		// The operator revokes everything of a user.
		w.opOK("DELETE", "/users/"+uid+"/tokens", "", "")
		w.expect(e.do("GET", "/me", "", a), 401, "")
		// An expired token stops working.
		c := e.do("POST", "/auth/login", `{"username":"erin","password":"a new long password"}`, "-").json(t)["token"].(string)
		m = e.do("POST", "/me/tokens", `{"expires_in":1}`, c).json(t)
		short := m["token"].(string)
		w.expect(e.do("GET", "/me", "", short), 200, "")
		time.Sleep(time.Until(time.Unix(int64(m["expires_at"].(float64)), 0)) + 50*time.Millisecond)
		w.expect(e.do("GET", "/me", "", short), 401, "token expired")
	})
}

func TestUserIPACL(t *testing.T) {
	e := newEnv(t)
	w := bare(t, e)
	uid := w.user("gina", "", "")
	tok := w.login("gina")
	w.expect(e.do("PUT", "/me/acl", `{"acl":["10.0.0.0/8"]}`, tok), 400, "would shut out")
	w.expect(e.do("PUT", "/me/acl", `{"acl":["127.0.0.0/8","2001:db8::/32","192.0.2.7"]}`, tok), 200, `"acl":["127.0.0.0/8","2001:db8::/32","192.0.2.7/32"]`)
	w.expect(e.do("PUT", "/me/acl", `{"acl":["not an address"]}`, tok), 400, "not an address")
	w.expect(e.do("PUT", "/me/acl?force=true", `{"acl":["10.0.0.0/8"]}`, tok), 200, "")
	w.expect(e.do("GET", "/me", "", tok), 403, "is not allowed for this user")
	// Login checks the ACL too, but only after the password.
	w.expect(e.do("POST", "/auth/login", `{"username":"gina","password":"`+testPassword+`"}`, "-"), 403, "not allowed")
	w.expect(e.do("POST", "/auth/login", `{"username":"gina","password":"wrong password"}`, "-"), 401, "")
	w.opOK("PATCH", "/users/"+uid, `{"acl":[]}`, "")
	w.expect(e.do("GET", "/me", "", tok), 200, "")
}

func TestHostnameOwnership(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		w := bare(t, e)
		A, B := w.org("A", "", ""), w.org("B", "", "")
		w.user("ann", A, "owner")
		w.user("ben", B, "owner")
		a, b := w.login("ann"), w.login("ben")
		route := func(tok, id, hostField string) response {
			body := `{"uri":"/x","upstream":` + inlineUp + hostField + `}`
			return e.do("PUT", "/routes/"+id, body, tok)
		}
		w.expect(route(a, "shop", `,"host":"shop.example.com"`), 201, "")
		w.expect(route(a, "shop2", `,"hosts":["shop.example.com"],"uri":"/y"`), 201, "")
		w.expect(route(a, "wild", `,"host":"*.a-corp.com"`), 201, "")
		w.expect(route(b, "b1", `,"host":"shop.example.com"`), 403, "host shop.example.com is in use by another organization")
		w.expect(route(b, "b2", `,"host":"SHOP.example.com."`), 403, "in use by another organization")
		w.expect(route(b, "b3", `,"host":"*.example.com"`), 403, "host *.example.com overlaps shop.example.com")
		w.expect(route(b, "b4", `,"host":"x.a-corp.com","priority":100`), 403, "x.a-corp.com overlaps *.a-corp.com")
		w.expect(route(b, "b5", `,"hosts":["b.example.net","deep.x.a-corp.com"]`), 403, "overlaps *.a-corp.com")
		w.expect(route(b, "b6", ``), 400, "must name its hosts")
		w.expect(route(b, "b7", `,"host":"*.com"`), 400, "too broad")
		w.expect(route(b, "b8", `,"host":"*.co.uk"`), 400, "too broad")
		w.expect(route(b, "b9", `,"host":"a-corp.com"`), 201, "") // the wildcard does not cover the apex
		// SNIs and DNS zones are claims too.
		cert, key, _ := selfSigned(t, "shop.example.com")
		w.expect(e.do("PUT", "/ssls/s1", sslBody(t, map[string]any{"cert": cert, "key": key}), b), 403, "in use by another organization")
		w.expect(e.do("PUT", "/ssls/s1", sslBody(t, map[string]any{"cert": cert, "key": key}), a), 201, "")
		w.expect(e.do("POST", "/dns/zones", `{"zone":"example.com"}`, b), 403, "zone example.com overlaps shop.example.com")
		w.expect(e.do("POST", "/dns/zones", `{"zone":"example.com"}`, a), 201, "")
		w.expect(route(b, "b10", `,"host":"new.example.com"`), 403, "overlaps zone example.com")
		// A PATCH cannot move a route onto another's host either.
		w.expect(e.do("PATCH", "/routes/b9", `{"host":"shop.example.com"}`, b), 403, "in use")
		w.expect(e.do("PATCH", "/routes/b9", `{"host":null}`, b), 400, "must name its hosts")
		// The platform's hosts are owned too; the operator is never refused.
		w.expect(w.op("PUT", "/routes/plat", `{"uri":"/","host":"status.provider.net","upstream":`+inlineUp+`}`, ""), 201, "")
		w.expect(w.op("PUT", "/routes/plat2", `{"uri":"/z","host":"shop.example.com","upstream":`+inlineUp+`}`, ""), 201, "")
		w.expect(route(b, "b11", `,"host":"status.provider.net"`), 403, "in use")
		// Hostless routes stay the operator's.
		w.expect(w.op("PUT", "/routes/catchall", `{"uri":"/*","upstream":`+inlineUp+`}`, ""), 201, "")
		// The operator reassigns A's objects to B; the host moves with them.
		for _, k := range []string{"/apisix/routes/shop", "/apisix/routes/shop2", "/apisix/ssls/s1", "/stargate/dns/zones/example.com", "/apisix/routes/plat2"} {
			w.opOK("PUT", "/owners", fmt.Sprintf(`{"key":%q,"org_id":%q}`, k, B), "")
		}
		w.expect(route(b, "b1", `,"host":"shop.example.com","uri":"/b1"`), 201, "")
		w.expect(route(a, "shop3", `,"host":"shop.example.com","uri":"/a3"`), 403, "in use by another organization")
		w.expect(e.do("GET", "/routes/shop", "", a), 404, `{"message":"Key not found"}`)
		w.expect(e.do("GET", "/routes/shop", "", b), 200, "")
		hosts := e.do("GET", "/hosts", "", b)
		w.expect(hosts, 200, `"host":"shop.example.com"`)
		if strings.Contains(string(hosts.body), "a-corp.com\"") && strings.Contains(string(hosts.body), "*.a-corp.com") {
			t.Errorf("B's hosts show A's: %s", hosts.body)
		}
	})
}

func TestIDsAcrossOrganizations(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		w := bare(t, e)
		A, B := w.org("A", "", ""), w.org("B", "", "")
		w.user("ann", A, "editor")
		w.user("ben", B, "editor")
		a, b := w.login("ann"), w.login("ben")
		body := func(host string) string {
			return `{"uri":"/","host":"` + host + `","upstream":` + inlineUp + `,"desc":"secret of ` + host + `"}`
		}
		w.expect(e.do("PUT", "/routes/1", body("a.test"), a), 201, "")
		r := e.do("PUT", "/routes/1", body("b.test"), b)
		w.expect(r, 400, "route id [1] is not available")
		if strings.Contains(string(r.body), "a.test") || strings.Contains(string(r.body), A) {
			t.Errorf("the refusal tells about A: %s", r.body)
		}
		for _, m := range []string{"GET", "DELETE"} {
			w.expect(e.do(m, "/routes/1", "", b), 404, `{"message":"Key not found"}`)
		}
		w.expect(e.do("PATCH", "/routes/1", `{"desc":"x"}`, b), 404, `{"message":"Key not found"}`)
		w.expect(e.do("PATCH", "/routes/1/desc", `"x"`, b), 404, `{"message":"Key not found"}`)
		w.expect(e.do("GET", "/routes/2", "", b), 404, `{"message":"Key not found"}`)
		// Generated ids never collide.
		ids := map[string]bool{}
		for i, tok := range []string{a, b, a, b} {
			r := e.do("POST", "/routes", body(fmt.Sprintf("p%d.%s.test", i, map[string]string{a: "a", b: "b"}[tok])), tok)
			w.expect(r, 201, "")
			id := r.json(t)["value"].(map[string]any)["id"].(string)
			if ids[id] {
				t.Errorf("id %s generated twice", id)
			}
			ids[id] = true
		}
		la, lb := e.do("GET", "/routes", "", a).json(t), e.do("GET", "/routes", "", b).json(t)
		if la["total"].(float64) != 3 || lb["total"].(float64) != 2 {
			t.Errorf("totals A %v B %v, want 3 and 2", la["total"], lb["total"])
		}
		if all := w.opOK("GET", "/routes", "", ""); all["total"].(float64) != 5 {
			t.Errorf("operator sees %v routes, want 5", all["total"])
		}
		// Once A deletes it, the id is free for B.
		w.expect(e.do("DELETE", "/routes/1", "", a), 200, "")
		w.expect(e.do("PUT", "/routes/1", body("b.test"), b), 201, "")
		w.expect(e.do("GET", "/routes/1", "", a), 404, "")
		if o := w.opOK("GET", "/owners?key=/apisix/routes/1", "", ""); o["org_id"] != B {
			t.Errorf("owner of routes/1 = %v, want %s", o["org_id"], B)
		}
		// Consumers: a duplicate key does not name another's consumer.
		w.expect(e.do("PUT", "/consumers", `{"username":"jack","plugins":{"key-auth":{"key":"k1"}}}`, a), 201, "")
		r = e.do("PUT", "/consumers", `{"username":"jill","plugins":{"key-auth":{"key":"k1"}}}`, b)
		w.expect(r, 400, "already in use")
		if strings.Contains(string(r.body), "jack") {
			t.Errorf("the refusal names A's consumer: %s", r.body)
		}
		// Values may not read the operator's environment or vaults.
		w.expect(e.do("PUT", "/routes/env", `{"uri":"/e","host":"e.b.test","upstream":`+inlineUp+`,"plugins":{"response-rewrite":{"headers":{"set":{"X":"$env://STARGATE_ADMIN_KEY"}}}}}`, b), 400, "$env:// references are reserved")
		// Traffic-split may not send traffic to another organization's upstream.
		w.expect(e.do("PUT", "/upstreams/ua", inlineUp, a), 201, "")
		w.expect(e.do("PUT", "/routes/ts", `{"uri":"/t","host":"t.b.test","upstream":`+inlineUp+`,"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"ua","weight":1}]}]}}}`, b), 400, "failed to fetch upstream info by upstream id [ua]")
	})
}

func TestOrganizationSelection(t *testing.T) {
	e := newEnv(t)
	w := bare(t, e)
	A, B, C := w.org("A", "", ""), w.org("B", "", ""), w.org("C", "", "")
	uid := w.user("ivy", A, "editor")
	w.opOK("POST", "/orgs/"+B+"/members", `{"user_id":"`+uid+`","role":"viewer"}`, "")
	tok := w.login("ivy")
	w.expect(w.with(tok, "", "GET", "/routes", ""), 400, "choose one with the X-Stargate-Org header")
	w.expect(w.with(tok, A, "GET", "/routes", ""), 200, "")
	w.expect(w.with(tok, C, "GET", "/routes", ""), 403, "not a member of organization "+C)
	w.expect(w.with(tok, "o_doesnotexist", "GET", "/routes", ""), 403, "not a member of organization o_doesnotexist")
	w.expect(w.with(tok, B, "PUT", "/routes/r", `{"uri":"/","host":"ivy.test","upstream":`+inlineUp+`}`), 403, "role viewer may not")
	w.expect(w.with(tok, A, "PUT", "/routes/r", `{"uri":"/","host":"ivy.test","upstream":`+inlineUp+`}`), 201, "")
	// A token bound to an organization selects it and acts nowhere else.
	bound := e.do("POST", "/me/tokens", `{"org_id":"`+A+`"}`, tok).json(t)["token"].(string)
	w.expect(w.with(bound, "", "GET", "/routes/r", ""), 200, "")
	w.expect(w.with(bound, B, "GET", "/routes", ""), 403, "bound to organization "+A)
	w.expect(w.with(bound, "", "GET", "/orgs/"+B, ""), 404, "")
	w.expect(e.do("POST", "/me/tokens", `{"org_id":"`+B+`"}`, bound), 403, "bound to organization")
	w.expect(e.do("POST", "/me/tokens", `{"org_id":"`+C+`"}`, tok), 403, "not a member")
	// So does a login for one organization.
	r := e.do("POST", "/auth/login", `{"username":"ivy","password":"`+testPassword+`","org_id":"`+A+`"}`, "-")
	w.expect(w.with(r.json(t)["token"].(string), "", "GET", "/routes/r", ""), 200, "")
	w.expect(e.do("POST", "/auth/login", `{"username":"ivy","password":"`+testPassword+`","org_id":"`+C+`"}`, "-"), 403, "")
	// One organization needs no header; none at all cannot act.
	w.user("jo", C, "viewer")
	w.expect(e.do("GET", "/routes", "", w.login("jo")), 200, "")
	w.user("kim", "", "")
	w.expect(e.do("GET", "/routes", "", w.login("kim")), 403, "not a member of any organization")
	// The operator acts for an organization with the header.
	w.expect(w.with("", C, "PUT", "/routes/c1", `{"uri":"/","host":"c.test","upstream":`+inlineUp+`}`), 201, "")
	if o := w.opOK("GET", "/owners?key=/apisix/routes/c1", "", ""); o["org_id"] != C {
		t.Errorf("operator's object for C is owned by %v", o["org_id"])
	}
	w.expect(w.with("", "o_nope", "GET", "/routes", ""), 400, "organization o_nope not found")
	w.expect(e.do("GET", "/me", "", ""), 400, "not a user account")
}

func TestChildOrganizations(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		w := bare(t, e)
		R := w.org("Reseller", "", "")
		w.user("rita", R, "owner")
		w.user("raj", R, "admin")
		w.user("rob", R, "viewer")
		rita, raj, rob := w.login("rita"), w.login("raj"), w.login("rob")
		// The reseller's admins create and run sub-accounts.
		r := e.do("POST", "/orgs", `{"name":"Customer 1","parent_id":"`+R+`"}`, raj)
		w.expect(r, 201, `"parent_id":"`+R+`"`)
		C := r.json(t)["org"].(map[string]any)["id"].(string)
		w.expect(e.do("POST", "/orgs", `{"name":"nope","parent_id":"`+R+`"}`, rob), 403, "needs admin")
		w.expect(e.do("POST", "/orgs", `{"name":"top"}`, raj), 403, "only the platform operator creates top-level")
		w.expect(w.with(rita, C, "PUT", "/routes/c", `{"uri":"/","host":"cust1.test","upstream":`+inlineUp+`}`), 201, "")
		w.expect(w.with(rob, C, "GET", "/routes/c", ""), 200, "")
		w.expect(w.with(rob, C, "DELETE", "/routes/c", ""), 403, "role viewer")
		// The customer sees its own account only.
		cid := w.user("cody", "", "")
		w.expect(e.do("POST", "/orgs/"+C+"/members", `{"user_id":"`+cid+`","role":"admin"}`, raj), 201, "")
		cody := w.login("cody")
		w.expect(e.do("GET", "/routes/c", "", cody), 200, "")
		w.expect(e.do("GET", "/orgs/"+R, "", cody), 404, "Key not found")
		w.expect(w.with(cody, R, "GET", "/routes", ""), 403, "")
		orgs := e.do("GET", "/orgs", "", cody)
		w.expect(orgs, 200, "Customer 1")
		if strings.Contains(string(orgs.body), "Reseller") {
			t.Errorf("the customer sees the reseller: %s", orgs.body)
		}
		w.expect(e.do("GET", "/orgs?parent_id="+R, "", raj), 200, "Customer 1")
		w.expect(e.do("GET", "/orgs/"+R+"/children", "", rob), 200, `"total":1`)
		// The customer's admin cannot delete it; the parent's admin can, once empty.
		w.expect(e.do("DELETE", "/orgs/"+C, "", cody), 403, "")
		w.expect(e.do("DELETE", "/orgs/"+R, "", rita), 400, "child organization")
		w.expect(e.do("DELETE", "/orgs/"+C, "", raj), 400, "still owns 1 object")
		w.expect(w.with(raj, C, "DELETE", "/routes/c", ""), 200, "")
		w.expect(e.do("DELETE", "/orgs/"+C, "", raj), 200, "")
		w.expect(e.do("GET", "/routes", "", cody), 403, "not a member of any organization")
		// Nesting is bounded.
		parent := R
		for depth := 2; depth <= 5; depth++ {
			r := e.do("POST", "/orgs", `{"name":"level","parent_id":"`+parent+`"}`, rita)
			if depth <= 4 {
				w.expect(r, 201, "")
				parent = r.json(t)["org"].(map[string]any)["id"].(string)
			} else {
				w.expect(r, 400, "nest at most")
			}
		}
	})
}

func TestMembersInvitationsOwnership(t *testing.T) {
	e := newEnv(t)
	w := bare(t, e)
	A := w.org("A", "", "")
	w.user("olga", A, "owner")
	w.user("adam", A, "admin")
	pid := w.user("pete", "", "")
	olga, adam, pete := w.login("olga"), w.login("adam"), w.login("pete")
	// An invitation by email: a one-time code, accepted by whoever holds it.
	r := e.do("POST", "/orgs/"+A+"/members", `{"email":"pete@example.org","role":"editor"}`, adam)
	w.expect(r, 201, `"code":"sgi_`)
	code := r.json(t)["code"].(string)
	w.expect(e.do("GET", "/orgs/"+A+"/invitations", "", adam), 200, "pete@example.org")
	w.expect(w.with(pete, A, "GET", "/routes", ""), 403, "not a member")
	w.expect(e.do("POST", "/me/invitations", `{"code":"`+code+`"}`, pete), 200, `"role":"editor"`)
	w.expect(e.do("POST", "/me/invitations", `{"code":"`+code+`"}`, pete), 404, "")
	w.expect(e.do("GET", "/orgs/"+A+"/invitations", "", adam), 200, `"total":0`)
	w.expect(e.do("GET", "/routes", "", pete), 200, "")
	// Admins manage members but not the owner; the owner role moves by transfer.
	w.expect(e.do("PATCH", "/orgs/"+A+"/members/"+pid, `{"role":"owner"}`, adam), 400, "transfer")
	w.expect(e.do("PATCH", "/orgs/"+A+"/members/"+pid, `{"role":"viewer"}`, adam), 200, `"role":"viewer"`)
	w.expect(e.do("DELETE", "/orgs/"+A+"/members/"+w.uidOf("olga"), "", adam), 400, "owner cannot be removed")
	w.expect(e.do("POST", "/orgs/"+A+"/members/"+pid+"/transfer", "", adam), 403, "only the owner")
	w.expect(e.do("POST", "/orgs/"+A+"/members/"+pid+"/transfer", "", olga), 200, `"role":"owner"`)
	w.expect(e.do("GET", "/orgs/"+A, "", olga), 200, `"role":"admin"`)
	w.expect(e.do("DELETE", "/orgs/"+A, "", olga), 403, "")
	// A member may leave; org-bound tokens of that member go with it.
	bound := e.do("POST", "/me/tokens", `{"org_id":"`+A+`"}`, adam).json(t)
	w.expect(e.do("GET", "/orgs/"+A+"/tokens", "", olga), 200, bound["id"].(string))
	w.expect(e.do("DELETE", "/orgs/"+A+"/members/"+w.uidOf("adam"), "", adam), 200, "")
	w.expect(e.do("GET", "/me", "", bound["token"].(string)), 401, "")
	// The operator cannot delete a user who owns an organization.
	w.expect(w.op("DELETE", "/users/"+pid, "", ""), 400, "transfer its ownership")
	w.expect(e.do("DELETE", "/orgs/"+A, "", pete), 200, "")
	w.expect(w.op("DELETE", "/users/"+pid, "", ""), 200, "")
	w.expect(e.do("GET", "/me", "", pete), 401, "")
}

// uidOf looks a user up by name, as the operator.
func (w *world) uidOf(name string) string {
	w.t.Helper()
	m := w.opOK("GET", "/users?username="+name, "", "")
	return m["list"].([]any)[0].(map[string]any)["id"].(string)
}

func TestAuditLog(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		w := bare(t, e)
		A, B := w.org("A", "", ""), w.org("B", "", "")
		aid := w.user("ann", A, "owner")
		w.user("ben", B, "owner")
		a, b := w.login("ann"), w.login("ben")
		w.expect(e.do("PUT", "/routes/r1", `{"uri":"/","host":"a.test","upstream":`+inlineUp+`}`, a), 201, "")
		post := e.do("POST", "/upstreams", inlineUp, a)
		upID := post.json(t)["value"].(map[string]any)["id"].(string)
		w.expect(e.do("DELETE", "/routes/r1", "", a), 200, "")
		w.expect(e.do("PUT", "/routes/r1", `{"uri":"/","host":"b.test"}`, b), 400, "")
		w.expect(e.do("PUT", "/routes/rb", `{"uri":"/","host":"b.test","upstream":`+inlineUp+`}`, b), 201, "")
		w.opOK("PUT", "/upstreams/op", inlineUp, "")

		// A's log: the operator creating A, then ann's three writes.
		w.expect(e.do("GET", "/audit", "", a), 200, `"total":4`)
		r := e.do("GET", "/audit?user_id="+aid, "", a)
		w.expect(r, 200, `"total":3`)
		list := r.json(t)["list"].([]any)
		first := list[len(list)-1].(map[string]any) // oldest
		for k, want := range map[string]any{"org_id": A, "user_id": aid, "username": "ann", "auth": "session", "method": "PUT",
			"resource": "routes", "resource_id": "r1", "status": float64(201), "remote_addr": "127.0.0.1"} {
			if first[k] != want {
				t.Errorf("audit entry %s = %v, want %v (%v)", k, first[k], want, first)
			}
		}
		if first["token_id"] == nil || first["time"] == nil {
			t.Errorf("audit entry lacks token_id or time: %v", first)
		}
		w.expect(e.do("GET", "/audit?method=POST", "", a), 200, `"resource_id":"`+upID+`"`)
		w.expect(e.do("GET", "/audit?resource=routes&method=DELETE", "", a), 200, `"total":1`)
		w.expect(e.do("GET", "/audit?org_id="+B, "", a), 404, "")
		// B's refused write is not in B's log: a refusal writes nothing.
		if r := e.do("GET", "/audit", "", b); strings.Contains(string(r.body), `"status":400`) || !strings.Contains(string(r.body), "/routes/rb") {
			t.Errorf("B's log: %s", r.body)
		}
		// Logins are audited under the platform.
		w.expect(w.op("GET", "/audit?org_id=-&resource=auth&user_id="+aid, "", ""), 200, `"auth":"password"`)
		// The operator sees everything, and filters.
		all := w.opOK("GET", "/audit", "", "")
		if all["total"].(float64) < 7 {
			t.Errorf("operator sees %v entries", all["total"])
		}
		w.expect(w.op("GET", "/audit?org_id=-&resource=upstreams", "", ""), 200, `"key_name":"a"`)
		w.expect(w.op("GET", "/audit?user_id="+aid+"&limit=1", "", ""), 200, `"total":4`)
		w.expect(w.op("GET", "/audit?limit=0", "", ""), 400, "")
		// Audit entries expire: they carry the retention as a store TTL.
	})
}

func TestAuditLogIsBounded(t *testing.T) {
	e := newEnvWith(t, "bolt", func(o *admin.Options) { o.Accounts.AuditMax = 10 })
	w := bare(t, e)
	for i := 0; i < 40; i++ {
		w.opOK("PUT", fmt.Sprintf("/upstreams/u%d", i), inlineUp, "")
	}
	r := w.opOK("GET", "/audit?limit=1000", "", "")
	if n := r["total"].(float64); n > 12 || n < 5 {
		t.Errorf("audit log holds %v entries with a cap of 10", n)
	}
	// The newest survive.
	w.expect(w.op("GET", "/audit?resource_id=u39", "", ""), 200, `"total":1`)
}

func TestSignup(t *testing.T) {
	e := newEnv(t)
	w := bare(t, e)
	w.expect(e.do("POST", "/auth/signup", `{"username":"sam","password":"long enough pw"}`, "-"), 403, "signup is disabled")

	e = newEnvWith(t, "bolt", func(o *admin.Options) { o.Accounts.SignupEnabled = true })
	w = bare(t, e)
	r := e.do("POST", "/auth/signup", `{"username":"sam","password":"long enough pw","email":"sam@example.org"}`, "-")
	w.expect(r, 201, `"name":"sam"`)
	w.expect(e.do("POST", "/auth/signup", `{"username":"SAM","password":"long enough pw"}`, "-"), 409, "username already taken")
	w.expect(e.do("POST", "/auth/signup", `{"username":"x y","password":"long enough pw"}`, "-"), 400, "username must be")
	tok := e.do("POST", "/auth/login", `{"username":"sam","password":"long enough pw"}`, "-").json(t)["token"].(string)
	w.expect(e.do("PUT", "/routes/mine", `{"uri":"/","host":"sam.test","upstream":`+inlineUp+`}`, tok), 201, "")
	w.expect(e.do("POST", "/orgs", `{"name":"side project"}`, tok), 201, "")
	w.expect(e.do("GET", "/routes", "", tok), 400, "choose one")
}

func TestOperatorStats(t *testing.T) {
	e := newEnv(t)
	w := bare(t, e)
	A := w.org("A", "", "")
	w.user("ann", A, "owner")
	a := w.login("ann")
	w.expect(e.do("PUT", "/routes/r", `{"uri":"/","host":"a.test","upstream":`+inlineUp+`}`, a), 201, "")
	w.expect(e.do("POST", "/dns/zones", `{"zone":"a.test"}`, a), 201, "")
	w.opOK("PUT", "/routes/op", `{"uri":"/op","upstream":`+inlineUp+`}`, "")
	st := w.opOK("GET", "/stats", "", "")
	for k, want := range map[string]float64{"users": 1, "orgs": 1, "routes": 2, "dns_zones": 1, "sessions": 1, "owned_objects": 2} {
		if st[k] != want {
			t.Errorf("stats %s = %v, want %v (%v)", k, st[k], want, st)
		}
	}
	w.expect(e.do("GET", "/stats", "", a), 403, "only the platform operator")
}
