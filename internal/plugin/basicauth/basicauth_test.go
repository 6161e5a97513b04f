package basicauth_test

import (
	"encoding/base64"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

const (
	missing     = `{"message":"Missing authorization in request"}`
	invalidAuth = `{"message":"Invalid authorization in request"}`
	invalidUser = `{"message":"Invalid user authorization"}`
)

func TestBasicAuthRejections(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"basic-auth":{"username":"jack-user","password":"s3cret"}}}`)
	e.Route("plain", "/plain", up, `{"basic-auth":{}}`)
	e.Route("realm", "/realm", up, `{"basic-auth":{"realm":"staff only"}}`)
	e.Route("anon", "/anon", up, `{"basic-auth":{"anonymous_consumer":"nobody"}}`)

	for _, tc := range []struct {
		name, path string
		hdr        []string
		body, www  string
	}{
		{"no authorization", "/plain", nil, missing, `Basic realm="basic"`},
		{"not basic", "/plain", []string{"Authorization", "Bearer abc"}, invalidAuth, `Basic realm="basic"`},
		{"scheme without credentials", "/plain", []string{"Authorization", "Basic "}, invalidAuth, `Basic realm="basic"`},
		{"not base64", "/plain", []string{"Authorization", "Basic !!!"}, invalidAuth, `Basic realm="basic"`},
		{"no colon", "/plain", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("jack-user"))}, invalidAuth, `Basic realm="basic"`},
		{"unknown user", "/plain", []string{"Authorization", basic("rose", "s3cret")}, invalidUser, `Basic realm="basic"`},
		{"consumer name is not the username", "/plain", []string{"Authorization", basic("jack", "s3cret")}, invalidUser, `Basic realm="basic"`},
		{"wrong password", "/plain", []string{"Authorization", basic("jack-user", "guess")}, invalidUser, `Basic realm="basic"`},
		{"password prefix", "/plain", []string{"Authorization", basic("jack-user", "s3cret:more")}, invalidUser, `Basic realm="basic"`},
		{"custom realm", "/realm", nil, missing, `Basic realm="staff only"`},
		{"anonymous consumer that does not exist", "/anon", nil, invalidUser, `Basic realm="basic"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.path, tc.hdr...)
			edgetest.Rejected(t, r, 401, tc.body, "WWW-Authenticate", tc.www)
		})
	}
}

func TestBasicAuthIdentifiesConsumer(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","labels":{"custom_id":"j-1"},"plugins":{"basic-auth":{"username":"jack-user","password":"s3cret"}}}`)
	e.Put("/consumers/rose", `{"username":"rose","plugins":{"basic-auth":{"username":"rose-user","password":"pa:ssword"}}}`)
	e.Put("/consumers/tom", `{"username":"tom"}`)
	e.Put("/consumers/tom/credentials/laptop", `{"plugins":{"basic-auth":{"username":"tom-laptop","password":"pw1"}}}`)
	e.Route("plain", "/plain", up, `{"basic-auth":{}}`)
	e.Route("hide", "/hide", up, `{"basic-auth":{"hide_credentials":true}}`)

	for _, tc := range []struct {
		name, path, auth string
		user, cred       string
		custom           string
		authVisible      bool
	}{
		{"consumer", "/plain", basic("jack-user", "s3cret"), "jack", "", "j-1", true},
		{"lower-case scheme", "/plain", "basic " + base64.StdEncoding.EncodeToString([]byte("jack-user:s3cret")), "jack", "", "j-1", true},
		{"unpadded base64", "/plain", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("tom-laptop:pw1")), "tom", "laptop", "", true},
		// APISIX removes whitespace from both halves.
		{"whitespace stripped", "/plain", basic(" jack-user", "s3 cret "), "jack", "", "j-1", true},
		{"colon in password", "/plain", basic("rose-user", "pa:ssword"), "rose", "", "", true},
		{"credential", "/plain", basic("tom-laptop", "pw1"), "tom", "laptop", "", true},
		{"hidden", "/hide", basic("jack-user", "s3cret"), "jack", "", "j-1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.path, "Authorization", tc.auth, "X-Consumer-Custom-Id", "forged")
			if r.Status != 200 {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			s := r.Seen(t)
			if got := s.Header("X-Consumer-Username"); got != tc.user {
				t.Errorf("X-Consumer-Username = %q, want %q", got, tc.user)
			}
			if got := s.Header("X-Credential-Identifier"); got != tc.cred {
				t.Errorf("X-Credential-Identifier = %q, want %q", got, tc.cred)
			}
			if got := s.Header("X-Consumer-Custom-Id"); got != tc.custom {
				t.Errorf("X-Consumer-Custom-Id = %q, want %q", got, tc.custom)
			}
			if _, seen := s.Headers["Authorization"]; seen != tc.authVisible {
				t.Errorf("upstream sees Authorization: %v, want %v", seen, tc.authVisible)
			}
		})
	}
}

func TestBasicAuthConsumerPlugins(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"basic-auth":{"username":"jack","password":"pw"},"proxy-rewrite":{"headers":{"set":{"X-Who":"jack"}}}}}`)
	e.Put("/consumers/eve", `{"username":"eve","plugins":{"basic-auth":{"username":"eve","password":"pw"},"ip-restriction":{"whitelist":["10.0.0.0/8"]}}}`)
	e.Route("r", "/r", up, `{"basic-auth":{},"proxy-rewrite":{"headers":{"set":{"X-Who":"route"}}}}`)
	if got := e.Get("/r", "Authorization", basic("jack", "pw")).Seen(t).Header("X-Who"); got != "jack" {
		t.Errorf("consumer proxy-rewrite: X-Who = %q", got)
	}
	edgetest.Rejected(t, e.Get("/r", "Authorization", basic("eve", "pw")), 403, `{"message":"Your IP address is not allowed"}`)
}

func TestBasicAuthAnonymousConsumer(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/guest", `{"username":"guest"}`)
	e.Route("r", "/r", up, `{"basic-auth":{"anonymous_consumer":"guest"}}`)
	r := e.Get("/r", "Authorization", basic("who", "knows"))
	if r.Status != 200 || r.Seen(t).Header("X-Consumer-Username") != "guest" {
		t.Fatalf("anonymous: %d %s", r.Status, r.Body)
	}
}
