package admin_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// mrow is one endpoint of the authorization matrix.
type mrow struct {
	name   string
	method string
	// path and body may use {slug} (the actor), {A}, {B} and the keys
	// prep returns ({uid}, {org}).
	path, body string
	// prep makes the object a row acts on, once per actor.
	prep func(w *world, a actor) map[string]string
	// want is the status per authenticated actor; the four failing
	// credentials are always 401, 401, 401 and 403.
	want map[actor]int
	// list rows answer {"total","list"}: the total of an organization's
	// member must be what the operator sees acting for that organization.
	list bool
	// seeA and seeB must appear in a successful answer to a member of A
	// (B): the caller's own objects are there.
	seeA, seeB string
}

// exp lists the expected statuses of viewer, editor, admin, owner,
// another organization's owner and the operator.
func exp(viewer, editor, admin, owner, other, operator int) map[actor]int {
	return map[actor]int{
		aNone: 401, aBad: 401, aExpired: 401, aACL: 403,
		aViewer: viewer, aEditor: editor, aAdmin: admin, aOwner: owner, aOther: other, aOperator: operator,
	}
}

var (
	readList = exp(200, 200, 200, 200, 200, 200)
	readItem = exp(200, 200, 200, 200, 404, 200)
	anyone   = func(s int) map[actor]int { return exp(s, s, s, s, s, s) }
	editItem = func(s int) map[actor]int { return exp(403, s, s, s, 404, s) }
	create   = func(s int) map[actor]int { return exp(403, s, s, s, s, s) }
	opOnly   = func(s int) map[actor]int { return exp(403, 403, 403, 403, 403, s) }
	adminUp  = func(s int) map[actor]int { return exp(403, 403, s, s, 404, s) }
	selfOnly = func(s int) map[actor]int { return exp(s, s, s, s, s, 400) }
)

const inlineUp = `{"nodes":{"127.0.0.1:1980":1}}`

// Preparations: each makes a fresh object for one actor's request.
func prepRoute(w *world, a actor) map[string]string {
	w.opOK("PUT", "/routes/del-"+a.slug(), fmt.Sprintf(`{"uri":"/d","host":"%s.del.test","upstream":%s}`, a.slug(), inlineUp), w.orgA)
	return nil
}

func prepZone(w *world, a actor) map[string]string {
	w.opOK("POST", "/dns/zones", fmt.Sprintf(`{"zone":"%s.dz.test"}`, a.slug()), w.orgA)
	return nil
}

func prepUser(w *world, a actor) map[string]string {
	return map[string]string{"{uid}": w.user(fmt.Sprintf("fresh-%s-%d", a.slug(), w.next()), "", "")}
}

func prepMember(w *world, a actor) map[string]string {
	return map[string]string{"{uid}": w.user(fmt.Sprintf("mem-%s-%d", a.slug(), w.next()), w.orgA, "viewer")}
}

func prepChild(w *world, a actor) map[string]string {
	return map[string]string{"{org}": w.org("child of A "+a.slug(), w.orgA, "")}
}

// prepRoleOrg makes an organization in which the actor holds the role it
// holds in A (B's owner holds none), plus a member to hand ownership to.
func prepRoleOrg(w *world, a actor) map[string]string {
	owner := w.boss
	if a == aOwner {
		owner = w.uid[aOwner]
	}
	org := w.org("T "+a.slug(), "", owner)
	switch a {
	case aViewer, aEditor, aAdmin:
		w.opOK("POST", "/orgs/"+org+"/members", fmt.Sprintf(`{"user_id":%q,"role":%q}`, w.uid[a], string(a)), "")
	}
	heir := w.user(fmt.Sprintf("heir-%s-%d", a.slug(), w.next()), org, "viewer")
	return map[string]string{"{org}": org, "{uid}": heir}
}

func matrixRows() []mrow {
	return []mrow{
		// APISIX resources, scoped to the organization.
		{name: "list routes", method: "GET", path: "/routes", want: readList, list: true, seeA: "route-a", seeB: "route-b"},
		{name: "list routes paged", method: "GET", path: "/routes?page=1&page_size=10", want: readList, list: true, seeA: "route-a", seeB: "route-b"},
		{name: "get route", method: "GET", path: "/routes/route-a", want: readItem},
		{name: "put new route", method: "PUT", path: "/routes/new-{slug}", body: `{"uri":"/n","host":"{slug}.new.test","upstream":` + inlineUp + `}`, want: create(201)},
		{name: "put A's route", method: "PUT", path: "/routes/route-a", body: `{"uri":"/a","host":"a.example.com","upstream_id":"up-a","desc":"ORG-A-PRIVATE"}`, want: exp(403, 200, 200, 200, 400, 200)},
		{name: "patch route", method: "PATCH", path: "/routes/route-a", body: `{"name":"r"}`, want: editItem(200)},
		{name: "patch route sub-path", method: "PATCH", path: "/routes/route-a/methods", body: `["GET"]`, want: editItem(200)},
		{name: "delete route", method: "DELETE", path: "/routes/del-{slug}", prep: prepRoute, want: editItem(200)},
		{name: "post route", method: "POST", path: "/routes", body: `{"uri":"/p","host":"{slug}.post.test","upstream":` + inlineUp + `}`, want: create(201)},
		{name: "route naming A's upstream", method: "PUT", path: "/routes/ref-{slug}", body: `{"uri":"/r","host":"{slug}.ref.test","upstream_id":"up-a"}`, want: exp(403, 201, 201, 201, 400, 201)},
		{name: "list upstreams", method: "GET", path: "/upstreams", want: readList, list: true, seeA: "up-a", seeB: "up-b"},
		{name: "get upstream", method: "GET", path: "/upstreams/up-a", want: readItem},
		{name: "put A's upstream", method: "PUT", path: "/upstreams/up-a", body: `{"nodes":{"127.0.0.1:1980":1},"desc":"ORG-A-PRIVATE"}`, want: exp(403, 200, 200, 200, 400, 200)},
		{name: "list services", method: "GET", path: "/services", want: readList, list: true, seeA: "svc-a"},
		{name: "get service", method: "GET", path: "/services/svc-a", want: readItem},
		{name: "list consumers", method: "GET", path: "/consumers", want: readList, list: true, seeA: "cons_a", seeB: "cons_b"},
		{name: "get consumer", method: "GET", path: "/consumers/cons_a", want: readItem},
		{name: "list credentials", method: "GET", path: "/consumers/cons_a/credentials", want: readList, list: true, seeA: "cred-a"},
		{name: "put credential", method: "PUT", path: "/consumers/cons_a/credentials/cred-{slug}", body: `{"plugins":{"key-auth":{"key":"key-{slug}"}}}`, want: editItem(201)},
		{name: "list plugin configs", method: "GET", path: "/plugin_configs", want: readList, list: true, seeA: "pc-a"},
		{name: "get plugin config", method: "GET", path: "/plugin_configs/pc-a", want: readItem},
		{name: "list ssls", method: "GET", path: "/ssls", want: readList, list: true, seeA: "ssl-a"},
		{name: "get ssl", method: "GET", path: "/ssls/ssl-a", want: readItem},
		{name: "list consumer groups", method: "GET", path: "/consumer_groups", want: readList, list: true},
		{name: "list protos", method: "GET", path: "/protos", want: readList, list: true},
		// Operator-only kinds and endpoints.
		{name: "list global rules", method: "GET", path: "/global_rules", want: opOnly(200)},
		{name: "put global rule", method: "PUT", path: "/global_rules/g-{slug}", body: `{"plugins":{"request-id":{}}}`, want: opOnly(201)},
		{name: "list plugin metadata", method: "GET", path: "/plugin_metadata", want: opOnly(200)},
		{name: "list stream routes", method: "GET", path: "/stream_routes", want: opOnly(200)},
		{name: "list secrets", method: "GET", path: "/secrets", want: opOnly(200)},
		{name: "reload plugins", method: "PUT", path: "/plugins/reload", want: opOnly(200)},
		{name: "debug match", method: "GET", path: "/debug/match?uri=/a", want: exp(403, 403, 403, 403, 403, 404)},
		// Shared read-only endpoints.
		{name: "plugin list", method: "GET", path: "/plugins/list", want: anyone(200)},
		{name: "route schema", method: "GET", path: "/schema/route", want: anyone(200)},
		{name: "validate a route", method: "POST", path: "/schema/validate/routes", body: `{"uri":"/x","upstream_id":"up-a"}`, want: anyone(200)},
		// DNS zones.
		{name: "list dns zones", method: "GET", path: "/dns/zones", want: readList, seeA: "a-zone.test", seeB: "b-zone.test"},
		{name: "create dns zone", method: "POST", path: "/dns/zones", body: `{"zone":"{slug}.zones.test"}`, want: create(201)},
		{name: "get dns zone", method: "GET", path: "/dns/zones/a-zone.test", want: readItem},
		{name: "list dns records", method: "GET", path: "/dns/zones/a-zone.test/records", want: readItem},
		{name: "add dns record", method: "POST", path: "/dns/zones/a-zone.test/records", body: `{"label":"{slug}","type":"A","value":"192.0.2.1"}`, want: editItem(201)},
		{name: "delete dns zone", method: "DELETE", path: "/dns/zones/{slug}.dz.test", prep: prepZone, want: editItem(200)},
		// One's own account.
		{name: "get me", method: "GET", path: "/me", want: selfOnly(200)},
		{name: "patch me", method: "PATCH", path: "/me", body: `{"name":"Name {slug}"}`, want: selfOnly(200)},
		{name: "list my tokens", method: "GET", path: "/me/tokens", want: selfOnly(200)},
		{name: "create a token", method: "POST", path: "/me/tokens", body: `{"notes":"ci"}`, want: selfOnly(201)},
		{name: "get my acl", method: "GET", path: "/me/acl", want: selfOnly(200)},
		// Users: the operator's.
		{name: "list users", method: "GET", path: "/users", want: opOnly(200)},
		{name: "create user", method: "POST", path: "/users", body: `{"username":"made-{slug}","password":"long enough password"}`, want: opOnly(201)},
		{name: "get user", method: "GET", path: "/users/{uid}", prep: prepUser, want: opOnly(200)},
		{name: "patch user", method: "PATCH", path: "/users/{uid}", body: `{"name":"x"}`, prep: prepUser, want: opOnly(200)},
		{name: "disable user", method: "POST", path: "/users/{uid}/disable", prep: prepUser, want: opOnly(200)},
		{name: "delete user", method: "DELETE", path: "/users/{uid}", prep: prepUser, want: opOnly(200)},
		// Organizations.
		{name: "list orgs", method: "GET", path: "/orgs", want: readList, seeA: "Org A", seeB: "Org B"},
		{name: "create child org", method: "POST", path: "/orgs", body: `{"name":"kid {slug}","parent_id":"{A}"}`, want: exp(403, 403, 201, 201, 400, 201)},
		{name: "get org", method: "GET", path: "/orgs/{A}", want: readItem},
		{name: "rename org", method: "PATCH", path: "/orgs/{A}", body: `{"name":"Org A"}`, want: adminUp(200)},
		{name: "list children", method: "GET", path: "/orgs/{A}/children", want: readItem},
		{name: "delete child org", method: "DELETE", path: "/orgs/{org}", prep: prepChild, want: adminUp(200)},
		{name: "delete org", method: "DELETE", path: "/orgs/{org}", prep: prepRoleOrg, want: exp(403, 403, 403, 200, 404, 200)},
		{name: "list members", method: "GET", path: "/orgs/{A}/members", want: readItem, seeA: "viewer"},
		{name: "add member", method: "POST", path: "/orgs/{A}/members", body: `{"user_id":"{uid}","role":"viewer"}`, prep: prepUser, want: adminUp(201)},
		{name: "invite member", method: "POST", path: "/orgs/{A}/members", body: `{"email":"inv-{slug}@example.net","role":"editor"}`, want: adminUp(201)},
		{name: "change member role", method: "PATCH", path: "/orgs/{A}/members/{uid}", body: `{"role":"editor"}`, prep: prepMember, want: adminUp(200)},
		{name: "remove member", method: "DELETE", path: "/orgs/{A}/members/{uid}", prep: prepMember, want: adminUp(200)},
		{name: "transfer ownership", method: "POST", path: "/orgs/{org}/members/{uid}/transfer", prep: prepRoleOrg, want: exp(403, 403, 403, 200, 404, 200)},
		{name: "list invitations", method: "GET", path: "/orgs/{A}/invitations", want: adminUp(200)},
		{name: "list org tokens", method: "GET", path: "/orgs/{A}/tokens", want: adminUp(200)},
		// Audit, hosts, stats, owners.
		{name: "audit log", method: "GET", path: "/audit", want: exp(403, 403, 200, 200, 200, 200)},
		{name: "hostnames", method: "GET", path: "/hosts", want: readList, seeA: "a.example.com", seeB: "b.example.com"},
		{name: "stats", method: "GET", path: "/stats", want: opOnly(200)},
		{name: "get owner", method: "GET", path: "/owners?key=/apisix/routes/route-a", want: opOnly(200)},
		{name: "reassign owner", method: "PUT", path: "/owners", body: `{"key":"/apisix/routes/route-a","org_id":"{A}"}`, want: opOnly(200)},
	}
}

// TestAuthorizationMatrix runs every endpoint as every kind of caller,
// checks the status, that a refused request wrote nothing, and that no
// answer to one organization carries another's objects or counts.
func TestAuthorizationMatrix(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		w := newWorld(t, e)
		cases, checked := 0, 0
		for _, row := range matrixRows() {
			for _, a := range allActors {
				want, ok := row.want[a]
				if !ok {
					t.Fatalf("%s: no expectation for %s", row.name, a)
				}
				subst := []string{"{slug}", a.slug(), "{A}", w.orgA, "{B}", w.orgB}
				if row.prep != nil {
					for k, v := range row.prep(w, a) {
						subst = append(subst, k, v)
					}
				}
				rep := strings.NewReplacer(subst...)
				path, body := rep.Replace(row.path), rep.Replace(row.body)
				before := w.storeState()
				r := w.as(a, row.method, path, body)
				cases++
				if r.status != want {
					t.Errorf("%s as %s: %s %s: status %d, want %d: %s", row.name, a, row.method, path, r.status, want, r.body)
					continue
				}
				if r.status >= 400 {
					if d := diffState(before, w.storeState()); len(d) > 0 {
						t.Errorf("%s as %s: refused with %d but wrote %v", row.name, a, r.status, d)
					}
					checked++
				}
				if row.path == "/audit" && r.status == 200 {
					checkAuditScope(t, w, a, r)
				} else if row.method == "GET" {
					for _, s := range w.secretsOf(a) {
						if strings.Contains(string(r.body), s) {
							t.Errorf("%s as %s: answer leaks %q: %s", row.name, a, s, r.body)
						}
					}
				}
				if see := map[string]string{w.orgA: row.seeA, w.orgB: row.seeB}[w.orgOf(a)]; see != "" && r.status == 200 && !strings.Contains(string(r.body), see) {
					t.Errorf("%s as %s: the caller's own %q is missing: %s", row.name, a, see, r.body)
				}
				if row.list && r.status == 200 {
					checkListTotals(t, w, row, a, path, r)
				}
			}
		}
		t.Logf("authorization matrix: %d endpoints x %d callers = %d requests; %d refusals checked to write nothing", len(matrixRows()), len(allActors), cases, checked)
	})
}

// checkListTotals compares a list's total with its items and with what the
// operator sees acting for the caller's organization.
func checkListTotals(t *testing.T, w *world, row mrow, a actor, path string, r response) {
	t.Helper()
	var got struct {
		Total int               `json:"total"`
		List  []json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Errorf("%s as %s: not a list: %s", row.name, a, r.body)
		return
	}
	paged := strings.Contains(path, "page=")
	if !paged && got.Total != len(got.List) {
		t.Errorf("%s as %s: total %d but %d items", row.name, a, got.Total, len(got.List))
	}
	org := w.orgOf(a)
	if org == "" {
		return
	}
	var ref struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal(w.op("GET", path, "", org).body, &ref); err != nil {
		t.Fatal(err)
	}
	if got.Total != ref.Total {
		t.Errorf("%s as %s: total %d, but the organization owns %d", row.name, a, got.Total, ref.Total)
	}
}

// checkAuditScope: an organization's audit log holds only its entries
// (they may name ids the caller itself sent, which is no leak).
func checkAuditScope(t *testing.T, w *world, a actor, r response) {
	t.Helper()
	org := w.orgOf(a)
	if org == "" {
		return
	}
	var got struct {
		Total int `json:"total"`
		List  []struct {
			OrgID string `json:"org_id"`
		} `json:"list"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || got.Total == 0 {
		t.Errorf("audit log as %s: %v, %s", a, err, r.body)
		return
	}
	for _, e := range got.List {
		if e.OrgID != org {
			t.Errorf("audit log as %s shows an entry of organization %q", a, e.OrgID)
		}
	}
}

// TestMatrixEndpointsDocumented: every endpoint of the matrix is in the
// OpenAPI document with its method (DNS is documented by its own API).
func TestMatrixEndpointsDocumented(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", "", "-").body, &doc); err != nil {
		t.Fatal(err)
	}
	type tmpl struct {
		re      *regexp.Regexp
		methods map[string]any
	}
	var tmpls []tmpl
	for p, item := range doc.Paths {
		segs := strings.Split(p, "/")
		for i, sg := range segs {
			if strings.HasPrefix(sg, "{") {
				segs[i] = `[^/]+`
			} else {
				segs[i] = regexp.QuoteMeta(sg)
			}
		}
		tmpls = append(tmpls, tmpl{regexp.MustCompile("^" + strings.Join(segs, "/") + "$"), item})
	}
	for _, row := range matrixRows() {
		path, _, _ := strings.Cut(row.path, "?")
		if strings.HasPrefix(path, "/dns/") {
			continue
		}
		found := false
		for _, tp := range tmpls {
			if tp.re.MatchString(path) && tp.methods[strings.ToLower(row.method)] != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s (%s) is not in the OpenAPI document", row.method, path, row.name)
		}
	}
}
