package jwtauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// APISIX's bounds are strict: a token is expired at exp and valid only
// after nbf; lifetime_grace_period widens both.
func TestClaimBounds(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Unix(1000, 0) }
	j := &jwtAuth{verifyExp: true, verifyNbf: true}
	for _, tc := range []struct {
		payload string
		grace   float64
		ok      bool
	}{
		{`{"exp":1001}`, 0, true},
		{`{"exp":1000}`, 0, false},
		{`{"exp":1000.5}`, 0, true},
		{`{"exp":995}`, 5, false},
		{`{"exp":996}`, 5, true},
		{`{"nbf":999}`, 0, true},
		{`{"nbf":1000}`, 0, false},
		{`{"nbf":1004}`, 5, true},
		{`{"nbf":1005}`, 5, false},
		{`{"exp":"2000"}`, 0, false},
		{`{"exp":null}`, 0, false},
		{`{"nbf":true}`, 0, false},
		{`{}`, 0, true},
	} {
		var p map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.payload), &p); err != nil {
			t.Fatal(err)
		}
		if got := j.claimsValid(p, tc.grace); got != tc.ok {
			t.Errorf("%s grace %v: %v, want %v", tc.payload, tc.grace, got, tc.ok)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw string
		ok  bool
		alg string
	}{
		{"eyJhbGciOiJIUzI1NiJ9.eyJrZXkiOiJrIn0.c2ln", true, "HS256"},
		{"eyJhbGciOiJIUzI1NiJ9=.eyJrZXkiOiJrIn0=.c2ln", true, "HS256"},
		{"eyJ0eXAiOiJKV1QifQ.eyJrZXkiOiJrIn0.", true, ""},
		{"eyJhbGciOiJIUzI1NiJ9.eyJrZXkiOiJrIn0", false, ""},
		{"eyJhbGciOiJIUzI1NiJ9.eyJrZXkiOiJrIn0.c2ln.x", false, ""},
		{"W10.eyJrZXkiOiJrIn0.c2ln", false, ""},    // header is an array
		{"bnVsbA.eyJrZXkiOiJrIn0.c2ln", false, ""}, // header is null
		{"", false, ""},
	} {
		tok, ok := parse(tc.raw)
		if ok != tc.ok || ok && tok.alg != tc.alg {
			t.Errorf("parse(%q) = %v %q, want %v %q", tc.raw, ok, tok.alg, tc.ok, tc.alg)
		}
	}
}

type fakeConsumers map[string]*plugin.Consumer

func (f fakeConsumers) ByName(string) (*plugin.Consumer, bool) { return nil, false }

func (f fakeConsumers) Lookup(p, id string) (*plugin.Consumer, bool) {
	c, ok := f[p+"/"+id]
	return c, ok
}

// BenchmarkJWTAuthHS256 measures a whole successful HS256 authentication:
// parse, lookup, signature, claims.
func BenchmarkJWTAuthHS256(b *testing.B) {
	impl, _ := newJWTAuth(map[string]any{})
	j := impl.(*jwtAuth)
	cons := fakeConsumers{"jwt-auth/k1": {Username: "jack", Auth: map[string]map[string]any{Name: {"key": "k1", "secret": "s3cret"}}}}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"key": "k1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("s3cret"))
	req := httptest.NewRequest("GET", "/x", nil)
	c := &plugin.Ctx{Req: req, Consumers: cons, RespHeader: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		req.Header["Authorization"] = []string{"Bearer " + tok}
		c.Consumer = nil
		j.Rewrite(c)
	}
	if ex, _, body := c.Exited(); ex || c.Consumer == nil {
		b.Fatalf("not authenticated: %s", body)
	}
}
