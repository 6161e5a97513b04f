package hmacauth_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

const (
	bodyInvalid = `{"message":"client request can't be validated"}`
	www         = `hmac realm="hmac"`
)

var hashes = map[string]func() hash.Hash{"hmac-sha1": sha1.New, "hmac-sha256": sha256.New, "hmac-sha512": sha512.New}

// signed describes a request and how its client signs it.
type signed struct {
	method, path string
	body         string
	keyID        string
	secret       string
	alg          string
	headers      []string          // the signed header list, in order
	extra        map[string]string // request headers besides Date
	date         time.Time         // zero: now
	noDate       bool
	rawDate      string
	digest       string // "auto" computes it
	tamper       func(sig string) string
	sendPath     string // when set, the request goes here instead of path
	sendMethod   string // and with this method
}

// do sends s through the proxy, signing it as an APISIX hmac-auth client
// does.
func signedDo(e *edgetest.Env, t *testing.T, s signed) edgetest.Result {
	t.Helper()
	if s.method == "" {
		s.method = "GET"
	}
	host := strings.TrimPrefix(e.HTTPURL, "http://")
	hdr := map[string]string{}
	for k, v := range s.extra {
		hdr[strings.ToLower(k)] = v
	}
	if !s.noDate {
		d := s.date
		if d.IsZero() {
			d = time.Now()
		}
		hdr["date"] = d.UTC().Format(http.TimeFormat)
		if s.rawDate != "" {
			hdr["date"] = s.rawDate
		}
	}
	if s.digest == "auto" {
		sum := sha256.Sum256([]byte(s.body))
		hdr["digest"] = "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	} else if s.digest != "" {
		hdr["digest"] = s.digest
	}
	var b strings.Builder
	b.WriteString(s.keyID + "\n")
	for _, h := range s.headers {
		switch {
		case h == "@request-target":
			b.WriteString(s.method + " " + s.path + "\n")
		case strings.EqualFold(h, "host"):
			b.WriteString(h + ": " + host + "\n")
		default:
			if v, ok := hdr[strings.ToLower(h)]; ok {
				b.WriteString(h + ": " + v + "\n")
			}
		}
	}
	mac := hmac.New(hashes[s.alg], []byte(s.secret))
	mac.Write([]byte(b.String()))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if s.tamper != nil {
		sig = s.tamper(sig)
	}
	auth := fmt.Sprintf(`Signature keyId="%s",algorithm="%s",headers="%s",signature="%s"`, s.keyID, s.alg, strings.Join(s.headers, " "), sig)
	pairs := []string{"Authorization", auth}
	for k, v := range hdr {
		pairs = append(pairs, k, v)
	}
	if s.sendPath != "" {
		s.path = s.sendPath
	}
	if s.sendMethod != "" {
		s.method = s.sendMethod
	}
	return e.Do(s.method, s.path, s.body, pairs...)
}

func TestHMACAuthSigns(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","labels":{"custom_id":"J7"},"plugins":{"hmac-auth":{"key_id":"jack-key","secret_key":"jack-secret"}}}`)
	e.Put("/consumers/rose", `{"username":"rose"}`)
	e.Put("/consumers/rose/credentials/ci", `{"plugins":{"hmac-auth":{"key_id":"rose-ci","secret_key":"rose-secret"}}}`)
	e.Route("r", "/r*", up, `{"hmac-auth":{}}`)
	e.Route("hide", "/hide", up, `{"hmac-auth":{"hide_credentials":true}}`)
	e.Route("body", "/body", up, `{"hmac-auth":{"validate_request_body":true}}`)
	e.Route("strict", "/strict", up, `{"hmac-auth":{"signed_headers":["x-tenant","@request-target"],"allowed_algorithms":["hmac-sha512"],"clock_skew":60}}`)

	jack := signed{keyID: "jack-key", secret: "jack-secret", alg: "hmac-sha256", headers: []string{"@request-target", "date"}}
	with := func(s signed, f func(*signed)) signed { f(&s); return s }
	for _, tc := range []struct {
		name       string
		s          signed
		user, cred string
		authSeen   bool
		body       string
	}{
		{name: "hmac-sha256", s: with(jack, func(s *signed) { s.path = "/r" }), user: "jack", authSeen: true},
		{name: "hmac-sha1", s: with(jack, func(s *signed) { s.path = "/r"; s.alg = "hmac-sha1" }), user: "jack", authSeen: true},
		{name: "hmac-sha512", s: with(jack, func(s *signed) { s.path = "/r"; s.alg = "hmac-sha512" }), user: "jack", authSeen: true},
		{name: "query in the request target", s: with(jack, func(s *signed) { s.path = "/r/x?b=2&a=1" }), user: "jack", authSeen: true},
		{name: "host and custom headers", s: with(jack, func(s *signed) {
			s.path = "/r"
			s.headers = []string{"@request-target", "host", "date", "x-custom-a"}
			s.extra = map[string]string{"X-Custom-A": "v a"}
		}), user: "jack", authSeen: true},
		{name: "unsent signed header is skipped", s: with(jack, func(s *signed) { s.path = "/r"; s.headers = []string{"date", "x-absent"} }), user: "jack", authSeen: true},
		{name: "no headers signed", s: with(jack, func(s *signed) { s.path = "/r"; s.headers = nil }), user: "jack", authSeen: true},
		{name: "date within the default skew", s: with(jack, func(s *signed) { s.path = "/r"; s.date = time.Now().Add(-250 * time.Second) }), user: "jack", authSeen: true},
		{name: "date ahead within the default skew", s: with(jack, func(s *signed) { s.path = "/r"; s.date = time.Now().Add(250 * time.Second) }), user: "jack", authSeen: true},
		{name: "credential", s: signed{path: "/r", keyID: "rose-ci", secret: "rose-secret", alg: "hmac-sha256", headers: []string{"@request-target", "date"}}, user: "rose", cred: "ci", authSeen: true},
		{name: "hidden", s: with(jack, func(s *signed) { s.path = "/hide" }), user: "jack"},
		{name: "body digest", s: with(jack, func(s *signed) {
			s.method, s.path, s.body, s.digest = "POST", "/body", `{"amount":10}`, "auto"
			s.headers = []string{"@request-target", "date", "digest"}
		}), user: "jack", authSeen: true, body: `{"amount":10}`},
		{name: "empty body digest", s: with(jack, func(s *signed) { s.path, s.digest = "/body", "auto" }), user: "jack", authSeen: true},
		{name: "strict", s: with(jack, func(s *signed) {
			s.path, s.alg = "/strict", "hmac-sha512"
			s.headers = []string{"@request-target", "date", "x-tenant"}
			s.extra = map[string]string{"X-Tenant": "t1"}
		}), user: "jack", authSeen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signedDo(e, t, tc.s)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			s := r.Seen(t)
			if got := s.Header("X-Consumer-Username"); got != tc.user {
				t.Errorf("X-Consumer-Username = %q, want %q", got, tc.user)
			}
			if got := s.Header("X-Credential-Identifier"); got != tc.cred {
				t.Errorf("X-Credential-Identifier = %q, want %q", got, tc.cred)
			}
			if _, seen := s.Headers["Authorization"]; seen != tc.authSeen {
				t.Errorf("upstream sees Authorization: %v, want %v", seen, tc.authSeen)
			}
			if s.Body != tc.body {
				t.Errorf("upstream body %q, want %q", s.Body, tc.body)
			}
		})
	}
}

func TestHMACAuthRejections(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"hmac-auth":{"key_id":"jack-key","secret_key":"jack-secret"}}}`)
	e.Route("r", "/r", up, `{"hmac-auth":{}}`)
	e.Route("realm", "/realm", up, `{"hmac-auth":{"realm":"signed"}}`)
	e.Route("body", "/body", up, `{"hmac-auth":{"validate_request_body":true}}`)
	e.Route("strict", "/strict", up, `{"hmac-auth":{"signed_headers":["x-tenant"],"allowed_algorithms":["hmac-sha512"],"clock_skew":60}}`)
	e.Route("anon", "/anon", up, `{"hmac-auth":{"anonymous_consumer":"nobody"}}`)

	jack := signed{path: "/r", keyID: "jack-key", secret: "jack-secret", alg: "hmac-sha256", headers: []string{"@request-target", "date"}}
	with := func(s signed, f func(*signed)) signed { f(&s); return s }
	t.Run("no authorization", func(t *testing.T) {
		edgetest.Rejected(t, e.Get("/r"), 401, `{"message":"client request can't be validated: missing Authorization header"}`, "WWW-Authenticate", www)
	})
	t.Run("not a signature", func(t *testing.T) {
		edgetest.Rejected(t, e.Get("/r", "Authorization", "Basic amFjazpwdw=="), 401,
			`{"message":"client request can't be validated: Authorization header does not start with 'Signature'"}`, "WWW-Authenticate", www)
	})
	t.Run("custom realm", func(t *testing.T) {
		edgetest.Rejected(t, e.Get("/realm"), 401, `{"message":"client request can't be validated: missing Authorization header"}`, "WWW-Authenticate", `hmac realm="signed"`)
	})
	for _, tc := range []struct {
		name string
		auth string
	}{
		{"no keyId", `Signature algorithm="hmac-sha256",headers="date",signature="abc="`},
		{"no signature", `Signature keyId="jack-key",algorithm="hmac-sha256",headers="date"`},
		{"no algorithm", `Signature keyId="jack-key",headers="date",signature="abc="`},
		{"unquoted fields", `Signature keyId=jack-key,algorithm=hmac-sha256,signature=abc`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edgetest.Rejected(t, e.Get("/r", "Authorization", tc.auth, "Date", time.Now().UTC().Format(http.TimeFormat)), 401, bodyInvalid, "WWW-Authenticate", www)
		})
	}
	for _, tc := range []struct {
		name string
		s    signed
	}{
		{"unknown keyId", with(jack, func(s *signed) { s.keyID = "rose-key" })},
		{"wrong secret", with(jack, func(s *signed) { s.secret = "guess" })},
		{"tampered signature", with(jack, func(s *signed) {
			s.tamper = func(sig string) string {
				// Change the first character (to one it is not).
				if sig[0] == 'A' {
					return "B" + sig[1:]
				}
				return "A" + sig[1:]
			}
		})},
		{"signature not base64", with(jack, func(s *signed) { s.tamper = func(string) string { return "!!!" } })},
		{"no date", with(jack, func(s *signed) { s.noDate = true; s.headers = []string{"@request-target"} })},
		{"date not an HTTP date", with(jack, func(s *signed) { s.rawDate = "2024-01-02T03:04:05Z" })},
		{"date too old", with(jack, func(s *signed) { s.date = time.Now().Add(-400 * time.Second) })},
		{"date too far ahead", with(jack, func(s *signed) { s.date = time.Now().Add(400 * time.Second) })},
		{"date skew beyond the route's clock_skew", with(jack, func(s *signed) {
			s.path, s.alg, s.date = "/strict", "hmac-sha512", time.Now().Add(-90*time.Second)
			s.headers, s.extra = []string{"date", "x-tenant"}, map[string]string{"X-Tenant": "t"}
		})},
		{"algorithm not allowed on the route", with(jack, func(s *signed) {
			s.path = "/strict"
			s.headers, s.extra = []string{"date", "x-tenant"}, map[string]string{"X-Tenant": "t"}
		})},
		{"required header not signed", with(jack, func(s *signed) {
			s.path, s.alg = "/strict", "hmac-sha512"
			s.extra = map[string]string{"X-Tenant": "t"}
		})},
		{"signed for another query", with(jack, func(s *signed) { s.path, s.sendPath = "/r?x=1", "/r?x=2" })},
		{"signed for another method", with(jack, func(s *signed) { s.sendMethod = "DELETE" })},
		{"body without digest", with(jack, func(s *signed) { s.method, s.path, s.body = "POST", "/body", "x=1" })},
		{"body with a wrong digest", with(jack, func(s *signed) {
			s.method, s.path, s.body = "POST", "/body", "x=1"
			sum := sha256.Sum256([]byte("x=2"))
			s.digest = "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		})},
		{"body digest not SHA-256", with(jack, func(s *signed) { s.method, s.path, s.body, s.digest = "POST", "/body", "x=1", "MD5=abc" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edgetest.Rejected(t, signedDo(e, t, tc.s), 401, bodyInvalid, "WWW-Authenticate", www)
		})
	}
	t.Run("unsupported algorithm", func(t *testing.T) {
		r := e.Get("/r", "Authorization", `Signature keyId="jack-key",algorithm="hmac-md5",headers="date",signature="abc="`,
			"Date", time.Now().UTC().Format(http.TimeFormat))
		edgetest.Rejected(t, r, 401, bodyInvalid, "WWW-Authenticate", www)
	})
	t.Run("anonymous consumer that does not exist", func(t *testing.T) {
		edgetest.Rejected(t, e.Get("/anon"), 401, `{"message":"Invalid user authorization"}`, "WWW-Authenticate", www)
	})
}

func TestHMACAuthConsumerPlugins(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"hmac-auth":{"key_id":"jack","secret_key":"s"},"proxy-rewrite":{"headers":{"set":{"X-Signed-By":"jack"}}}}}`)
	e.Put("/consumers/eve", `{"username":"eve","plugins":{"hmac-auth":{"key_id":"eve","secret_key":"s"},"ip-restriction":{"blacklist":["127.0.0.1"],"response_code":404,"message":"nope"}}}`)
	e.Route("r", "/r", up, `{"hmac-auth":{}}`)
	s := signedDo(e, t, signed{path: "/r", keyID: "jack", secret: "s", alg: "hmac-sha256", headers: []string{"@request-target", "date"}}).Seen(t)
	if s.Header("X-Signed-By") != "jack" {
		t.Errorf("consumer proxy-rewrite: %v", s.Headers)
	}
	edgetest.Rejected(t, signedDo(e, t, signed{path: "/r", keyID: "eve", secret: "s", alg: "hmac-sha256", headers: []string{"date"}}), 404, `{"message":"nope"}`)
}

func TestHMACAuthAnonymousConsumer(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/guest", `{"username":"guest"}`)
	e.Route("r", "/r", up, `{"hmac-auth":{"anonymous_consumer":"guest"}}`)
	r := e.Get("/r")
	if r.Status != 200 || r.Seen(t).Header("X-Consumer-Username") != "guest" {
		t.Fatalf("anonymous: %d %s", r.Status, r.Body)
	}
}
