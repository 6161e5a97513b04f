package jwtauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"

	"github.com/golang-jwt/jwt/v5"
)

const (
	bodyMissing = `{"message":"Missing JWT token in request"}`
	bodyInvalid = `{"message":"JWT token invalid"}`
	bodyNoKey   = `{"message":"missing user key in JWT token"}`
	bodyUnknown = `{"message":"Invalid user key in JWT token"}`
	bodyVerify  = `{"message":"failed to verify jwt"}`
)

// keys are the signing keys of every algorithm family, made once.
type keys struct {
	rsa  *rsa.PrivateKey
	p256 *ecdsa.PrivateKey
	p384 *ecdsa.PrivateKey
	ed   ed25519.PrivateKey

	// The PEM public keys.
	rsaPK, p256PK, p384PK, edPK string
}

func pemPublic(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func newKeys(t *testing.T) *keys {
	t.Helper()
	k := &keys{}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	k.p256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.p384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	k.rsaPK = pemPublic(t, k.rsa.Public())
	k.p256PK = pemPublic(t, k.p256.Public())
	k.p384PK = pemPublic(t, k.p384.Public())
	k.edPK = pemPublic(t, k.ed.Public())
	return k
}

// forAlg returns the signing key for alg and the consumer's verifying
// config fields.
func (k *keys) forAlg(alg string) (sign any, conf map[string]any) {
	switch alg {
	case "HS256", "HS384", "HS512":
		return []byte("secret-" + alg), map[string]any{"secret": "secret-" + alg}
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return k.rsa, map[string]any{"public_key": k.rsaPK}
	case "ES256":
		return k.p256, map[string]any{"public_key": k.p256PK}
	case "ES384":
		return k.p384, map[string]any{"public_key": k.p384PK}
	case "EdDSA":
		return k.ed, map[string]any{"public_key": k.edPK}
	}
	panic(alg)
}

func sign(t *testing.T, alg string, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return s
}

func consumerJSON(t *testing.T, user string, auth map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"username": user, "plugins": map[string]any{"jwt-auth": auth}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var algorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "ES256", "ES384", "EdDSA"}

func TestJWTAuthEveryAlgorithm(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	k := newKeys(t)
	e.Route("r", "/r", up, `{"jwt-auth":{}}`)
	exp := time.Now().Add(time.Hour).Unix()
	for _, alg := range algorithms {
		_, conf := k.forAlg(alg)
		conf["key"] = "key-" + alg
		conf["algorithm"] = alg
		e.Put("/consumers/user_"+alg, consumerJSON(t, "user_"+alg, conf))
	}
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			signKey, _ := k.forAlg(alg)
			tok := sign(t, alg, signKey, jwt.MapClaims{"key": "key-" + alg, "exp": exp})
			r := e.Get("/r", "Authorization", "Bearer "+tok)
			if r.Status != 200 {
				t.Fatalf("valid %s token: %d %s", alg, r.Status, r.Body)
			}
			if got := r.Seen(t).Header("X-Consumer-Username"); got != "user_"+alg {
				t.Errorf("consumer %q", got)
			}
			// A flipped signature bit fails.
			parts := strings.Split(tok, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[len(sig)/2] ^= 1
			bad := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
			edgetest.Rejected(t, e.Get("/r", "Authorization", bad), 401, bodyVerify, "WWW-Authenticate", `Bearer realm="jwt"`)
			// So does a payload changed under the signature.
			forged := sign(t, alg, signKey, jwt.MapClaims{"key": "key-" + alg, "exp": exp, "admin": true})
			fp := strings.Split(forged, ".")
			edgetest.Rejected(t, e.Get("/r", "Authorization", parts[0]+"."+fp[1]+"."+parts[2]), 401, bodyVerify)
		})
	}
}

// The token cannot choose the algorithm: a consumer's algorithm is pinned.
func TestJWTAuthAlgorithmPinned(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	k := newKeys(t)
	e.Route("r", "/r", up, `{"jwt-auth":{}}`)
	e.Put("/consumers/rs", consumerJSON(t, "rs", map[string]any{"key": "rs", "algorithm": "RS256", "public_key": k.rsaPK}))
	e.Put("/consumers/hs", consumerJSON(t, "hs", map[string]any{"key": "hs", "secret": "hs-secret"}))
	exp := time.Now().Add(time.Hour).Unix()

	for _, tc := range []struct {
		name string
		tok  string
	}{
		// The classic confusion: HMAC keyed with the RSA public key.
		{"HS256 signed with the RS256 public key", sign(t, "HS256", []byte(k.rsaPK), jwt.MapClaims{"key": "rs", "exp": exp})},
		{"RS384 for an RS256 consumer", sign(t, "RS384", k.rsa, jwt.MapClaims{"key": "rs", "exp": exp})},
		{"PS256 for an RS256 consumer", sign(t, "PS256", k.rsa, jwt.MapClaims{"key": "rs", "exp": exp})},
		{"HS512 for an HS256 consumer", sign(t, "HS512", []byte("hs-secret"), jwt.MapClaims{"key": "hs", "exp": exp})},
		{"alg none", sign(t, "none", jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"key": "hs", "exp": exp})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edgetest.Rejected(t, e.Get("/r", "Authorization", tc.tok), 401, bodyVerify, "WWW-Authenticate", `Bearer realm="jwt"`)
		})
	}
}

func TestJWTAuthClaims(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", consumerJSON(t, "jack", map[string]any{"key": "jack", "secret": "jack-secret"}))
	e.Put("/consumers/lenient", consumerJSON(t, "lenient", map[string]any{"key": "lenient", "secret": "l-secret", "lifetime_grace_period": 120}))
	e.Route("all", "/all", up, `{"jwt-auth":{}}`)
	e.Route("exp", "/exp", up, `{"jwt-auth":{"claims_to_verify":["exp"]}}`)
	e.Route("nbf", "/nbf", up, `{"jwt-auth":{"claims_to_verify":["nbf"]}}`)
	now := time.Now().Unix()
	past, future := now-60, now+60
	j := func(claims jwt.MapClaims) string { return sign(t, "HS256", []byte("jack-secret"), claims) }
	l := func(claims jwt.MapClaims) string { return sign(t, "HS256", []byte("l-secret"), claims) }

	for _, tc := range []struct {
		name, path, tok string
		ok              bool
	}{
		{"valid", "/all", j(jwt.MapClaims{"key": "jack", "exp": future, "nbf": past}), true},
		{"no exp or nbf", "/all", j(jwt.MapClaims{"key": "jack"}), true},
		{"expired", "/all", j(jwt.MapClaims{"key": "jack", "exp": past}), false},
		{"not yet valid", "/all", j(jwt.MapClaims{"key": "jack", "exp": future, "nbf": future}), false},
		{"exp not a number", "/all", j(jwt.MapClaims{"key": "jack", "exp": fmt.Sprint(future)}), false},
		{"nbf null", "/all", j(jwt.MapClaims{"key": "jack", "nbf": nil}), false},
		{"expired within the grace period", "/all", l(jwt.MapClaims{"key": "lenient", "exp": now - 60}), true},
		{"expired past the grace period", "/all", l(jwt.MapClaims{"key": "lenient", "exp": now - 600}), false},
		{"nbf within the grace period", "/all", l(jwt.MapClaims{"key": "lenient", "nbf": now + 60}), true},
		{"nbf past the grace period", "/all", l(jwt.MapClaims{"key": "lenient", "nbf": now + 600}), false},
		{"only exp verified: future nbf passes", "/exp", j(jwt.MapClaims{"key": "jack", "nbf": future}), true},
		{"only exp verified: expired fails", "/exp", j(jwt.MapClaims{"key": "jack", "exp": past}), false},
		{"only nbf verified: expired passes", "/nbf", j(jwt.MapClaims{"key": "jack", "exp": past}), true},
		{"only nbf verified: future nbf fails", "/nbf", j(jwt.MapClaims{"key": "jack", "nbf": future}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.path, "Authorization", tc.tok)
			if tc.ok {
				if r.Status != 200 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				return
			}
			edgetest.Rejected(t, r, 401, bodyVerify, "WWW-Authenticate", `Bearer realm="jwt"`)
		})
	}
}

func TestJWTAuthRejections(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", consumerJSON(t, "jack", map[string]any{"key": "jack", "secret": "jack-secret"}))
	e.Route("r", "/r", up, `{"jwt-auth":{}}`)
	e.Route("realm", "/realm", up, `{"jwt-auth":{"realm":"api"}}`)
	e.Route("anon", "/anon", up, `{"jwt-auth":{"anonymous_consumer":"ghost"}}`)
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hdr := seg(`{"alg":"HS256","typ":"JWT"}`)
	exp := time.Now().Add(time.Hour).Unix()

	for _, tc := range []struct {
		name, path string
		hdr        []string
		body, www  string
	}{
		{"no token", "/r", nil, bodyMissing, `Bearer realm="jwt"`},
		{"cookie of another name", "/r", []string{"Cookie", "session=1; jwtx=2"}, bodyMissing, `Bearer realm="jwt"`},
		{"custom realm", "/realm", nil, bodyMissing, `Bearer realm="api"`},
		{"garbage", "/r", []string{"Authorization", "Bearer not-a-jwt"}, bodyInvalid, `Bearer realm="jwt"`},
		{"empty query token", "/r?jwt=", nil, bodyInvalid, `Bearer realm="jwt"`},
		{"four segments", "/r", []string{"Authorization", hdr + "." + seg(`{"key":"jack"}`) + ".a.b"}, bodyInvalid, `Bearer realm="jwt"`},
		{"payload not base64", "/r", []string{"Authorization", hdr + ".%%%.abc"}, bodyInvalid, `Bearer realm="jwt"`},
		{"payload not JSON", "/r", []string{"Authorization", hdr + "." + seg("key=jack") + ".abc"}, bodyInvalid, `Bearer realm="jwt"`},
		{"header not JSON", "/r", []string{"Authorization", seg("HS256") + "." + seg(`{"key":"jack"}`) + ".abc"}, bodyInvalid, `Bearer realm="jwt"`},
		{"no key claim", "/r", []string{"Authorization", sign(t, "HS256", []byte("jack-secret"), jwt.MapClaims{"sub": "jack", "exp": exp})}, bodyNoKey, `Bearer realm="jwt"`},
		{"unknown key", "/r", []string{"Authorization", sign(t, "HS256", []byte("jack-secret"), jwt.MapClaims{"key": "rose", "exp": exp})}, bodyUnknown, `Bearer realm="jwt"`},
		{"key claim not a string", "/r", []string{"Authorization", sign(t, "HS256", []byte("jack-secret"), jwt.MapClaims{"key": 7, "exp": exp})}, bodyUnknown, `Bearer realm="jwt"`},
		{"wrong secret", "/r", []string{"Authorization", sign(t, "HS256", []byte("guess"), jwt.MapClaims{"key": "jack", "exp": exp})}, bodyVerify, `Bearer realm="jwt"`},
		{"anonymous consumer that does not exist", "/anon", nil, `{"message":"Invalid user authorization"}`, `Bearer realm="jwt"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edgetest.Rejected(t, e.Get(tc.path, tc.hdr...), 401, tc.body, "WWW-Authenticate", tc.www)
		})
	}
}

func TestJWTAuthTokenSources(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","labels":{"custom_id":"J"},"plugins":{"jwt-auth":{"key":"jack","secret":"jack-secret"}}}`)
	e.Put("/consumers/b64", consumerJSON(t, "b64", map[string]any{"key": "b64", "secret": base64.StdEncoding.EncodeToString([]byte("raw \x00 secret")), "base64_secret": true, "algorithm": "HS512"}))
	e.Put("/consumers/rose", `{"username":"rose"}`)
	e.Put("/consumers/rose/credentials/phone", `{"plugins":{"jwt-auth":{"key":"rose-phone","secret":"rose-secret"}}}`)
	e.Route("r", "/r", up, `{"jwt-auth":{}}`)
	e.Route("hide", "/hide", up, `{"jwt-auth":{"hide_credentials":true}}`)
	e.Route("custom", "/custom", up, `{"jwt-auth":{"header":"X-Token","query":"token","cookie":"tok","hide_credentials":true}}`)
	e.Route("iss", "/iss", up, `{"jwt-auth":{"key_claim_name":"iss"}}`)
	exp := time.Now().Add(time.Hour).Unix()
	tok := sign(t, "HS256", []byte("jack-secret"), jwt.MapClaims{"key": "jack", "exp": exp})
	b64 := sign(t, "HS512", []byte("raw \x00 secret"), jwt.MapClaims{"key": "b64", "exp": exp})
	rose := sign(t, "HS256", []byte("rose-secret"), jwt.MapClaims{"key": "rose-phone", "exp": exp})
	iss := sign(t, "HS256", []byte("jack-secret"), jwt.MapClaims{"iss": "jack", "exp": exp})

	for _, tc := range []struct {
		name, path string
		hdr        []string
		user, cred string
		query      string
		cookie     string // the Cookie header the upstream sees
		hidden     string // a header the upstream must not see
	}{
		{name: "bearer header", path: "/r", hdr: []string{"Authorization", "Bearer " + tok}, user: "jack"},
		{name: "lower-case bearer", path: "/r", hdr: []string{"Authorization", "bearer " + tok}, user: "jack"},
		{name: "bare header", path: "/r", hdr: []string{"Authorization", tok}, user: "jack"},
		{name: "query", path: "/r?jwt=" + tok + "&x=1", user: "jack", query: "jwt=" + tok + "&x=1"},
		{name: "cookie", path: "/r", hdr: []string{"Cookie", "a=1; jwt=" + tok}, user: "jack", cookie: "a=1; jwt=" + tok},
		{name: "header wins over query", path: "/r?jwt=garbage", hdr: []string{"Authorization", tok}, user: "jack", query: "jwt=garbage"},
		{name: "base64 secret", path: "/r", hdr: []string{"Authorization", b64}, user: "b64"},
		{name: "credential", path: "/r", hdr: []string{"Authorization", rose}, user: "rose", cred: "phone"},
		{name: "key claim name", path: "/iss", hdr: []string{"Authorization", iss}, user: "jack"},
		{name: "hidden header", path: "/hide", hdr: []string{"Authorization", "Bearer " + tok}, user: "jack", hidden: "Authorization"},
		{name: "hidden query", path: "/hide?a=1&jwt=" + tok + "&b=2", user: "jack", query: "a=1&b=2"},
		{name: "hidden cookie", path: "/hide", hdr: []string{"Cookie", "a=1; jwt=" + tok + "; b=2"}, user: "jack", cookie: "a=1; b=2"},
		{name: "only cookie hidden", path: "/hide", hdr: []string{"Cookie", "jwt=" + tok}, user: "jack", hidden: "Cookie"},
		{name: "custom header", path: "/custom", hdr: []string{"X-Token", tok}, user: "jack", hidden: "X-Token"},
		{name: "custom query", path: "/custom?token=" + tok, user: "jack"},
		{name: "custom cookie", path: "/custom", hdr: []string{"Cookie", "tok=" + tok}, user: "jack", hidden: "Cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.path, tc.hdr...)
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
			if s.Query != tc.query {
				t.Errorf("query %q, want %q", s.Query, tc.query)
			}
			if got := s.Header("Cookie"); got != tc.cookie {
				t.Errorf("Cookie %q, want %q", got, tc.cookie)
			}
			if tc.hidden != "" && s.Header(tc.hidden) != "" {
				t.Errorf("%s reached the upstream", tc.hidden)
			}
		})
	}
}

func TestJWTAuthConsumerPlugins(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/jack", `{"username":"jack","plugins":{"jwt-auth":{"key":"jack","secret":"s"},"proxy-rewrite":{"uri":"/rewritten"}}}`)
	e.Put("/consumers/eve", `{"username":"eve","plugins":{"jwt-auth":{"key":"eve","secret":"s"},"ip-restriction":{"blacklist":["127.0.0.1"]}}}`)
	e.Route("r", "/r", up, `{"jwt-auth":{}}`)
	exp := time.Now().Add(time.Hour).Unix()
	s := e.Get("/r", "Authorization", sign(t, "HS256", []byte("s"), jwt.MapClaims{"key": "jack", "exp": exp})).Seen(t)
	if s.Path != "/rewritten" {
		t.Errorf("consumer's proxy-rewrite: path %q", s.Path)
	}
	edgetest.Rejected(t, e.Get("/r", "Authorization", sign(t, "HS256", []byte("s"), jwt.MapClaims{"key": "eve", "exp": exp})),
		403, `{"message":"Your IP address is not allowed"}`)
}

func TestJWTAuthAnonymousConsumer(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumers/guest", `{"username":"guest"}`)
	e.Route("r", "/r", up, `{"jwt-auth":{"anonymous_consumer":"guest"}}`)
	r := e.Get("/r", "Authorization", "garbage")
	if r.Status != 200 || r.Seen(t).Header("X-Consumer-Username") != "guest" {
		t.Fatalf("anonymous: %d %s", r.Status, r.Body)
	}
}
