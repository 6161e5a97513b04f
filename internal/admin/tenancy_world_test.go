package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// actor is one kind of caller of the authorization matrix.
type actor string

const (
	aNone     actor = "no token"
	aBad      actor = "bad token"
	aExpired  actor = "expired token"
	aACL      actor = "disallowed address"
	aViewer   actor = "viewer"
	aEditor   actor = "editor"
	aAdmin    actor = "admin"
	aOwner    actor = "owner"
	aOther    actor = "other org"
	aOperator actor = "operator"
)

var allActors = []actor{aNone, aBad, aExpired, aACL, aViewer, aEditor, aAdmin, aOwner, aOther, aOperator}

// slug is an actor's name in ids and hostnames.
func (a actor) slug() string {
	return map[actor]string{aNone: "none", aBad: "bad", aExpired: "expired", aACL: "acl", aViewer: "viewer", aEditor: "editor",
		aAdmin: "admin", aOwner: "owner", aOther: "other", aOperator: "operator"}[a]
}

// orgOf is the organization an actor acts in ("" for the operator).
func (w *world) orgOf(a actor) string {
	switch a {
	case aViewer, aEditor, aAdmin, aOwner:
		return w.orgA
	case aOther:
		return w.orgB
	}
	return ""
}

// world is the matrix's fixture: organization A with an owner, an admin,
// an editor and a viewer; organization B with its own owner ("other");
// an expired token; a user whose IP ACL excludes loopback; objects of A
// and of B.
type world struct {
	t          *testing.T
	e          *env
	orgA, orgB string
	uid        map[actor]string
	token      map[actor]string
	boss       string // a user owning helper organizations
	seq        int
}

const testPassword = "correct horse battery"

func (w *world) mustJSON(r response, want int, what string) map[string]any {
	w.t.Helper()
	if r.status != want {
		w.t.Fatalf("%s: status %d, want %d: %s", what, r.status, want, r.body)
	}
	return r.json(w.t)
}

// op is the operator, acting for org when it is set.
func (w *world) op(method, path, body, org string) response {
	w.t.Helper()
	var h map[string]string
	if org != "" {
		h = map[string]string{"X-Stargate-Org": org}
	}
	return w.e.doWith(method, path, body, "", h)
}

// opOK is op that must succeed.
func (w *world) opOK(method, path, body, org string) map[string]any {
	w.t.Helper()
	r := w.op(method, path, body, org)
	if r.status >= 300 {
		w.t.Fatalf("setup %s %s: %d %s", method, path, r.status, r.body)
	}
	return r.json(w.t)
}

// as sends a request with an actor's credential.
func (w *world) as(a actor, method, path, body string) response {
	w.t.Helper()
	switch a {
	case aOperator:
		return w.e.do(method, path, body, "")
	case aNone:
		return w.e.do(method, path, body, "-")
	}
	// Users of several organizations name the one they act in.
	var h map[string]string
	if org := w.orgOf(a); org != "" {
		h = map[string]string{"X-Stargate-Org": org}
	}
	return w.e.doWith(method, path, body, w.token[a], h)
}

// user creates a user (in org with role when org is set) and returns its id.
func (w *world) user(name, org, role string) string {
	w.t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q,"email":"%s@example.org"}`, name, testPassword, name)
	if org != "" {
		body = fmt.Sprintf(`{"username":%q,"password":%q,"email":"%s@example.org","org_id":%q,"role":%q}`, name, testPassword, name, org, role)
	}
	m := w.opOK("POST", "/users", body, "")
	return m["user"].(map[string]any)["id"].(string)
}

// login returns a session token.
func (w *world) login(name string) string {
	w.t.Helper()
	r := w.e.do("POST", "/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, name, testPassword), "-")
	m := w.mustJSON(r, 200, "login "+name)
	return m["token"].(string)
}

func (w *world) org(name, parent, owner string) string {
	w.t.Helper()
	body := fmt.Sprintf(`{"name":%q`, name)
	if parent != "" {
		body += fmt.Sprintf(`,"parent_id":%q`, parent)
	}
	if owner != "" {
		body += fmt.Sprintf(`,"owner_id":%q`, owner)
	}
	m := w.opOK("POST", "/orgs", body+"}", "")
	return m["org"].(map[string]any)["id"].(string)
}

func (w *world) next() int { w.seq++; return w.seq }

func newWorld(t *testing.T, e *env) *world {
	t.Helper()
	w := &world{t: t, e: e, uid: map[actor]string{}, token: map[actor]string{}}
	w.orgA = w.org("Org A", "", "")
	w.orgB = w.org("Org B", "", "")
	for _, a := range []actor{aOwner, aAdmin, aEditor, aViewer} {
		w.uid[a] = w.user(a.slug(), w.orgA, string(a))
	}
	w.uid[aOther] = w.user("other", w.orgB, "owner")
	w.uid[aExpired] = w.user("late", w.orgA, "editor")
	w.uid[aACL] = w.user("walled", w.orgA, "editor")
	w.boss = w.user("boss", "", "")
	for _, a := range []actor{aOwner, aAdmin, aEditor, aViewer, aOther} {
		w.token[a] = w.login(a.slug())
	}
	// A personal access token that expires in a second.
	late := w.login("late")
	r := w.e.do("POST", "/me/tokens", `{"notes":"short","expires_in":1}`, late)
	m := w.mustJSON(r, 201, "expiring token")
	w.token[aExpired] = m["token"].(string)
	expiresAt := time.Unix(int64(m["expires_at"].(float64)), 0).Add(50 * time.Millisecond)
	// A user whose ACL keeps out loopback (the test's address).
	w.token[aACL] = w.login("walled")
	w.opOK("PATCH", "/users/"+w.uid[aACL], `{"acl":["10.0.0.0/8"]}`, "")
	w.token[aBad] = "sgt_" + strings.Repeat("x", 43)

	// A's objects, created by A's owner; B's by B's owner.
	seed := func(a actor, method, path, body string) {
		t.Helper()
		if r := w.as(a, method, path, body); r.status >= 300 {
			t.Fatalf("seed %s %s: %d %s", method, path, r.status, r.body)
		}
	}
	cert, key, _ := selfSigned(t, "secure-a.example.com")
	sslA, _ := json.Marshal(map[string]any{"cert": cert, "key": key, "desc": "ORG-A-PRIVATE"})
	seed(aOwner, "PUT", "/upstreams/up-a", `{"nodes":{"127.0.0.1:1980":1},"desc":"ORG-A-PRIVATE"}`)
	seed(aOwner, "PUT", "/routes/route-a", `{"uri":"/a","host":"a.example.com","upstream_id":"up-a","desc":"ORG-A-PRIVATE"}`)
	seed(aOwner, "PUT", "/services/svc-a", `{"upstream_id":"up-a","desc":"ORG-A-PRIVATE"}`)
	seed(aOwner, "PUT", "/consumers", `{"username":"cons_a","desc":"ORG-A-PRIVATE"}`)
	seed(aOwner, "PUT", "/consumers/cons_a/credentials/cred-a", `{"plugins":{"key-auth":{"key":"key-of-a"}}}`)
	seed(aOwner, "PUT", "/plugin_configs/pc-a", `{"plugins":{"request-id":{}},"desc":"ORG-A-PRIVATE"}`)
	seed(aOwner, "PUT", "/ssls/ssl-a", string(sslA))
	seed(aOwner, "POST", "/dns/zones", `{"zone":"a-zone.test"}`)
	seed(aOther, "PUT", "/upstreams/up-b", `{"nodes":{"127.0.0.1:1981":1},"desc":"ORG-B-PRIVATE"}`)
	seed(aOther, "PUT", "/routes/route-b", `{"uri":"/b","host":"b.example.com","upstream_id":"up-b","desc":"ORG-B-PRIVATE"}`)
	seed(aOther, "PUT", "/consumers", `{"username":"cons_b","desc":"ORG-B-PRIVATE"}`)
	seed(aOther, "POST", "/dns/zones", `{"zone":"b-zone.test"}`)
	time.Sleep(time.Until(expiresAt))
	return w
}

// secretsOf are strings that must never appear in an answer to an actor
// of the other organization.
func (w *world) secretsOf(a actor) []string {
	if a == aOther {
		s := []string{"ORG-A-PRIVATE", w.orgA, "route-a", "up-a", "svc-a", "cons_a", "cred-a", "pc-a", "ssl-a", "a-zone.test", "a.example.com", "key-of-a"}
		for _, r := range []actor{aOwner, aAdmin, aEditor, aViewer} {
			s = append(s, w.uid[r])
		}
		return s
	}
	if w.orgOf(a) == w.orgA {
		return []string{"ORG-B-PRIVATE", w.orgB, "route-b", "up-b", "cons_b", "b-zone.test", "b.example.com", w.uid[aOther]}
	}
	return nil
}

// storeState is every key and its revision, audit log included (a
// refused request writes nothing at all).
func (w *world) storeState() map[string]int64 {
	w.t.Helper()
	w.e.srv.Sync(context.Background()) // audit entries of earlier writes land first
	kvs, _, err := w.e.st.List(context.Background(), "/")
	if err != nil {
		w.t.Fatal(err)
	}
	out := make(map[string]int64, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = kv.ModRevision
	}
	return out
}

func diffState(before, after map[string]int64) []string {
	var out []string
	for k, r := range after {
		if b, ok := before[k]; !ok {
			out = append(out, "added "+k)
		} else if b != r {
			out = append(out, "changed "+k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "deleted "+k)
		}
	}
	return out
}
