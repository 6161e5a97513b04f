package keyauth_test

import (
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"

	"github.com/stargate-edge/stargate/internal/plugin/keyauth"
)

const (
	missing = `{"message":"Missing API key in request"}`
	invalid = `{"message":"Invalid API key in request"}`
)

func TestKeyAuthRejections(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"key-auth":{"key":"jack-key"}}}`)
	e.Route("plain", "/plain", up, `{"key-auth":{}}`)
	e.Route("realm", "/realm", up, `{"key-auth":{"realm":"my realm"}}`)
	e.Route("custom", "/custom", up, `{"key-auth":{"header":"X-Key","query":"k"}}`)
	e.Route("bearer", "/bearer", up, `{"key-auth":{"bearer_token":true}}`)
	e.Route("anon", "/anon", up, `{"key-auth":{"anonymous_consumer":"nobody"}}`)

	for _, tc := range []struct {
		name, path string
		hdr        []string
		status     int
		body, www  string
	}{
		{"no key", "/plain", nil, 401, missing, `apikey realm="key"`},
		{"unknown header key", "/plain", []string{"apikey", "nope"}, 401, invalid, `apikey realm="key"`},
		{"empty header key", "/plain", []string{"apikey", ""}, 401, invalid, `apikey realm="key"`},
		{"unknown query key", "/plain?apikey=nope", nil, 401, invalid, `apikey realm="key"`},
		{"repeated query key", "/plain?apikey=jack-key&apikey=jack-key", nil, 401, invalid, `apikey realm="key"`},
		{"key in the default header on a custom route", "/custom", []string{"apikey", "jack-key"}, 401, missing, `apikey realm="key"`},
		{"key in the default query on a custom route", "/custom?apikey=jack-key", nil, 401, missing, `apikey realm="key"`},
		{"custom realm", "/realm", nil, 401, missing, `apikey realm="my realm"`},
		{"bearer without the scheme", "/bearer", []string{"Authorization", "jack-key"}, 401, `{"message":"Invalid Bearer token format"}`, `Bearer realm="key"`},
		{"bearer missing", "/bearer", nil, 401, missing, `Bearer realm="key"`},
		{"bearer unknown", "/bearer", []string{"Authorization", "Bearer nope"}, 401, invalid, `Bearer realm="key"`},
		{"anonymous consumer that does not exist", "/anon", nil, 401, `{"message":"Invalid user authorization"}`, `apikey realm="key"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.path, tc.hdr...)
			edgetest.Rejected(t, r, tc.status, tc.body, "WWW-Authenticate", tc.www)
		})
	}
}

func TestKeyAuthIdentifiesConsumer(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","labels":{"custom_id":"c-42"},"plugins":{"key-auth":{"key":"jack-key"}}}`)
	e.Put("/consumers/rose", `{"username":"rose"}`)
	e.Put("/consumers/rose/credentials/cred-1", `{"plugins":{"key-auth":{"key":"rose-key-1"}}}`)
	e.Put("/consumers/rose/credentials/cred-2", `{"plugins":{"key-auth":{"key":"rose-key-2"}}}`)
	e.Route("plain", "/plain", up, `{"key-auth":{}}`)
	e.Route("hide", "/hide", up, `{"key-auth":{"hide_credentials":true}}`)
	e.Route("custom", "/custom", up, `{"key-auth":{"header":"X-Key","query":"k","hide_credentials":true}}`)
	e.Route("bearer", "/bearer", up, `{"key-auth":{"bearer_token":true,"hide_credentials":true}}`)

	for _, tc := range []struct {
		name, path string
		hdr        []string
		user, cred string
		custom     string
		query      string
		keyHeader  string // the credential header the upstream must (not) see
		keyVisible bool
	}{
		{name: "header", path: "/plain", hdr: []string{"apikey", "jack-key"}, user: "jack", custom: "c-42", keyHeader: "Apikey", keyVisible: true},
		{name: "query", path: "/plain?a=1&apikey=jack-key", user: "jack", custom: "c-42", query: "a=1&apikey=jack-key"},
		{name: "header wins over query", path: "/plain?apikey=nope", hdr: []string{"apikey", "jack-key"}, user: "jack", custom: "c-42", query: "apikey=nope", keyHeader: "Apikey", keyVisible: true},
		{name: "credential", path: "/plain", hdr: []string{"apikey", "rose-key-2"}, user: "rose", cred: "cred-2", keyHeader: "Apikey", keyVisible: true},
		{name: "other credential", path: "/plain", hdr: []string{"apikey", "rose-key-1"}, user: "rose", cred: "cred-1", keyHeader: "Apikey", keyVisible: true},
		{name: "forged identity headers are replaced", path: "/plain", hdr: []string{"apikey", "rose-key-1", "X-Consumer-Username", "admin", "X-Consumer-Custom-Id", "forged"}, user: "rose", cred: "cred-1", keyHeader: "Apikey", keyVisible: true},
		{name: "forged credential header removed", path: "/plain", hdr: []string{"apikey", "jack-key", "X-Credential-Identifier", "forged"}, user: "jack", custom: "c-42", keyHeader: "Apikey", keyVisible: true},
		{name: "hidden header", path: "/hide?x=1", hdr: []string{"apikey", "jack-key"}, user: "jack", custom: "c-42", query: "x=1", keyHeader: "Apikey"},
		{name: "hidden query", path: "/hide?a=1&apikey=jack-key&b=%20two", user: "jack", custom: "c-42", query: "a=1&b=%20two"},
		{name: "custom header hidden", path: "/custom", hdr: []string{"X-Key", "jack-key"}, user: "jack", custom: "c-42", keyHeader: "X-Key"},
		{name: "custom query hidden", path: "/custom?k=jack-key", user: "jack", custom: "c-42"},
		{name: "escaped query", path: "/custom?%6B=jack%2Dkey&z=1", user: "jack", custom: "c-42", query: "z=1"},
		{name: "bearer", path: "/bearer", hdr: []string{"Authorization", "Bearer jack-key"}, user: "jack", custom: "c-42", keyHeader: "Authorization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.path, tc.hdr...)
			if r.Status != 200 {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			s := r.Seen(t)
			if got := s.Header("X-Consumer-Username"); got != tc.user {
				t.Errorf("X-Consumer-Username = %q, want %q", got, tc.user)
			}
			if got, ok := s.Headers["X-Credential-Identifier"]; tc.cred == "" && ok || tc.cred != "" && (len(got) != 1 || got[0] != tc.cred) {
				t.Errorf("X-Credential-Identifier = %q, want %q", got, tc.cred)
			}
			if got, ok := s.Headers["X-Consumer-Custom-Id"]; tc.custom == "" && ok || tc.custom != "" && (len(got) != 1 || got[0] != tc.custom) {
				t.Errorf("X-Consumer-Custom-Id = %q, want %q", got, tc.custom)
			}
			if s.Query != tc.query {
				t.Errorf("upstream query %q, want %q", s.Query, tc.query)
			}
			if tc.keyHeader != "" {
				if _, seen := s.Headers[tc.keyHeader]; seen != tc.keyVisible {
					t.Errorf("upstream sees %s: %v, want %v", tc.keyHeader, seen, tc.keyVisible)
				}
			}
		})
	}
}

// The consumer's plugins (and its group's) run after authentication and
// win over the route's.
func TestKeyAuthConsumerPlugins(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumer_groups/gold", `{"plugins":{"proxy-rewrite":{"headers":{"set":{"X-Tier":"gold","X-From":"group"}}}}}`)
	e.Put("/consumers/jack", `{"username":"jack","group_id":"gold","plugins":{"key-auth":{"key":"jack-key"},"proxy-rewrite":{"headers":{"set":{"X-From":"consumer"}}}}}`)
	e.Put("/consumers/mallory", `{"username":"mallory","plugins":{"key-auth":{"key":"mallory-key"},"ip-restriction":{"blacklist":["127.0.0.0/8"],"message":"go away"}}}`)
	e.Put("/consumers/rose", `{"username":"rose","group_id":"gold"}`)
	e.Put("/consumers/rose/credentials/c", `{"plugins":{"key-auth":{"key":"rose-key"}}}`)
	e.Route("r", "/r", up, `{"key-auth":{},"proxy-rewrite":{"headers":{"set":{"X-From":"route","X-Route":"yes"}}}}`)

	s := e.Get("/r", "apikey", "jack-key").Seen(t)
	if got := s.Header("X-From"); got != "consumer" {
		t.Errorf("consumer's proxy-rewrite should win: X-From = %q", got)
	}
	// As in APISIX, the route's rewrite already ran before the consumer
	// was known; the consumer's runs after it.
	if s.Header("X-Route") != "yes" {
		t.Errorf("route rewrite: %v", s.Headers)
	}
	s = e.Get("/r", "apikey", "rose-key").Seen(t)
	if s.Header("X-Tier") != "gold" || s.Header("X-From") != "group" {
		t.Errorf("group plugins apply to a consumer found by credential: %v", s.Headers)
	}
	r := e.Get("/r", "apikey", "mallory-key")
	edgetest.Rejected(t, r, 403, `{"message":"go away"}`)
	// Without a key the route's own chain answers.
	edgetest.Rejected(t, e.Get("/r"), 401, missing)
}

func TestKeyAuthAnonymousConsumer(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"key-auth":{"key":"jack-key"}}}`)
	e.Put("/consumers/guest", `{"username":"guest","plugins":{"proxy-rewrite":{"headers":{"set":{"X-Guest":"1"}}}}}`)
	e.Route("r", "/r", up, `{"key-auth":{"anonymous_consumer":"guest","hide_credentials":true}}`)
	for _, tc := range []struct {
		name string
		hdr  []string
		user string
	}{
		{"no key", nil, "guest"},
		{"bad key", []string{"apikey", "nope"}, "guest"},
		{"good key", []string{"apikey", "jack-key"}, "jack"},
	} {
		r := e.Get("/r", tc.hdr...)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
		s := r.Seen(t)
		if got := s.Header("X-Consumer-Username"); got != tc.user {
			t.Errorf("%s: consumer %q, want %q", tc.name, got, tc.user)
		}
		if (tc.user == "guest") != (s.Header("X-Guest") == "1") {
			t.Errorf("%s: the anonymous consumer's plugins: %v", tc.name, s.Headers)
		}
	}
}

func TestQueryHelpers(t *testing.T) {
	for _, tc := range []struct {
		raw, name, val string
		n              int
		removed        string
	}{
		{"", "apikey", "", 0, ""},
		{"apikey=a", "apikey", "a", 1, ""},
		{"x=1&apikey=a%20b&y=2", "apikey", "a b", 1, "x=1&y=2"},
		{"apikey&x=1", "apikey", "", 1, "x=1"},
		{"api%6Bey=v&apikey=w", "apikey", "v", 2, ""},
		{"apikeyx=1&xapikey=2", "apikey", "", 0, "apikeyx=1&xapikey=2"},
	} {
		val, n := keyauth.QueryValue(tc.raw, tc.name)
		if val != tc.val || n != tc.n {
			t.Errorf("QueryValue(%q) = %q, %d; want %q, %d", tc.raw, val, n, tc.val, tc.n)
		}
		if got := keyauth.RemoveQuery(tc.raw, tc.name); got != tc.removed {
			t.Errorf("RemoveQuery(%q) = %q, want %q", tc.raw, got, tc.removed)
		}
	}
}
