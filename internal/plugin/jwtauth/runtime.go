package jwtauth

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/plugin/keyauth"
)

// jwtAuth is jwt-auth compiled. It runs in the rewrite phase (APISIX
// priority 2510): it takes a JWT from a header, query argument or cookie,
// finds the consumer by the token's key claim, verifies the signature with
// that consumer's secret or public key (the token's alg must be the
// consumer's algorithm) and the exp/nbf claims.
type jwtAuth struct {
	header    string // canonical header name
	query     string
	cookie    string
	hide      bool
	keyClaim  string
	verifyExp bool
	verifyNbf bool
	anonymous string
	challenge string
}

var _ plugin.Rewriter = (*jwtAuth)(nil)

func message(s string) []byte {
	b, _ := json.Marshal(map[string]string{"message": s})
	return append(b, '\n')
}

var (
	bodyMissing     = message("Missing JWT token in request")
	bodyInvalid     = message("JWT token invalid")
	bodyNoKey       = message("missing user key in JWT token")
	bodyUnknownKey  = message("Invalid user key in JWT token")
	bodyVerify      = message("failed to verify jwt")
	bodyInvalidUser = message("Invalid user authorization")
)

// now is the clock claims are checked against (tests move it).
var now = time.Now

func newJWTAuth(conf map[string]any) (any, error) {
	j := &jwtAuth{header: "Authorization", query: "jwt", cookie: "jwt", keyClaim: "key",
		verifyExp: true, verifyNbf: true}
	realm := "jwt"
	if s, ok := conf["header"].(string); ok {
		j.header = http.CanonicalHeaderKey(s)
	}
	if s, ok := conf["query"].(string); ok {
		j.query = s
	}
	if s, ok := conf["cookie"].(string); ok {
		j.cookie = s
	}
	if s, ok := conf["key_claim_name"].(string); ok {
		j.keyClaim = s
	}
	if s, ok := conf["realm"].(string); ok {
		realm = s
	}
	if claims, ok := confcheck.Strings(conf, "claims_to_verify"); ok {
		j.verifyExp, j.verifyNbf = false, false
		for _, c := range claims {
			switch c {
			case "exp":
				j.verifyExp = true
			case "nbf":
				j.verifyNbf = true
			}
		}
	}
	j.hide, _ = conf["hide_credentials"].(bool)
	j.anonymous, _ = conf["anonymous_consumer"].(string)
	j.challenge = `Bearer realm="` + realm + `"`
	return j, nil
}

func (j *jwtAuth) Rewrite(c *plugin.Ctx) {
	cons, body := j.find(c)
	if cons == nil {
		if j.anonymous == "" {
			c.RespHeader.Set("WWW-Authenticate", j.challenge)
			c.Exit(http.StatusUnauthorized, body)
			return
		}
		var ok bool
		if cons, ok = keyauth.ConsumerByName(c, j.anonymous); !ok {
			c.RespHeader.Set("WWW-Authenticate", j.challenge)
			c.Exit(http.StatusUnauthorized, bodyInvalidUser)
			return
		}
	}
	keyauth.Attach(c, cons)
}

// token returns the raw JWT, removing it from what the upstream sees when
// hide_credentials is set. Like APISIX, the header wins over the query
// argument, which wins over the cookie.
func (j *jwtAuth) token(r *http.Request) (string, bool) {
	if vals := r.Header[j.header]; len(vals) > 0 {
		t := vals[0]
		if j.hide {
			delete(r.Header, j.header)
		}
		if len(t) >= 7 && (t[:7] == "Bearer " || t[:7] == "bearer ") {
			t = t[7:]
		}
		return t, true
	}
	if t, n := keyauth.QueryValue(r.URL.RawQuery, j.query); n > 0 {
		if j.hide {
			r.URL.RawQuery = keyauth.RemoveQuery(r.URL.RawQuery, j.query)
		}
		return t, true
	}
	for _, line := range r.Header["Cookie"] {
		if t, ok := cookieValue(line, j.cookie); ok {
			if j.hide {
				removeCookie(r, j.cookie)
			}
			return t, true
		}
	}
	return "", false
}

func (j *jwtAuth) find(c *plugin.Ctx) (*plugin.Consumer, []byte) {
	raw, ok := j.token(c.Req)
	if !ok {
		return nil, bodyMissing
	}
	tok, ok := parse(raw)
	if !ok {
		return nil, bodyInvalid
	}
	rawKey, ok := tok.payload[j.keyClaim]
	if !ok {
		return nil, bodyNoKey
	}
	var key string
	if json.Unmarshal(rawKey, &key) != nil || c.Consumers == nil {
		return nil, bodyUnknownKey // a non-string never names a consumer
	}
	cons, ok := c.Consumers.Lookup(Name, key)
	if !ok {
		return nil, bodyUnknownKey
	}
	v := verifierFor(cons)
	// The algorithm is the consumer's, never the token's choice: an RS256
	// consumer's public key must not verify an HS256 token.
	if v.err != nil || tok.alg != v.alg {
		return nil, bodyVerify
	}
	if v.method.Verify(tok.signed, tok.sig, v.key) != nil {
		return nil, bodyVerify
	}
	if !j.claimsValid(tok.payload, v.grace) {
		return nil, bodyVerify
	}
	return cons, nil
}

// claimsValid checks exp and nbf as APISIX's jwt-auth parser does: a claim
// that is absent is not checked, one that is not a number fails, and
// lifetime_grace_period widens both bounds.
func (j *jwtAuth) claimsValid(payload map[string]json.RawMessage, grace float64) bool {
	t := float64(now().Unix())
	if raw, ok := payload["exp"]; ok && j.verifyExp {
		exp, ok := number(raw)
		if !ok || !(exp > t-grace) {
			return false
		}
	}
	if raw, ok := payload["nbf"]; ok && j.verifyNbf {
		nbf, ok := number(raw)
		if !ok || !(nbf < t+grace) {
			return false
		}
	}
	return true
}

// number decodes a JSON number; null, strings and the rest are not one.
func number(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

type token struct {
	alg     string
	payload map[string]json.RawMessage
	signed  string // header.payload
	sig     []byte
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// parse splits and decodes a compact JWS; ok is false for anything
// APISIX's load_jwt would not take.
func parse(raw string) (token, bool) {
	var t token
	h, rest, ok1 := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return t, false
	}
	hb, err := decodeSegment(h)
	if err != nil {
		return t, false
	}
	pb, err := decodeSegment(p)
	if err != nil {
		return t, false
	}
	if t.sig, err = decodeSegment(s); err != nil {
		return t, false
	}
	// Both must be JSON objects; a missing or non-string alg matches no
	// consumer.
	var hdr struct{ Alg any }
	if !isObject(hb) || json.Unmarshal(hb, &hdr) != nil {
		return t, false
	}
	t.alg, _ = hdr.Alg.(string)
	if !isObject(pb) || json.Unmarshal(pb, &t.payload) != nil {
		return t, false
	}
	t.signed = raw[:len(h)+1+len(p)]
	return t, true
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// verifier is a consumer's jwt-auth credential compiled: the signing
// method and the key it verifies with.
type verifier struct {
	alg    string
	method jwt.SigningMethod
	key    any
	grace  float64
	err    error
}

// Consumers are rebuilt whenever any consumer changes, so their compiled
// credentials are cached by consumer object; the cache is dropped when it
// grows past maxVerifiers (old snapshots' consumers are never looked up
// again).
const maxVerifiers = 4096

var (
	verifiers sync.Map // *plugin.Consumer -> *verifier
	nVerifier atomic.Int64
)

func verifierFor(cons *plugin.Consumer) *verifier {
	if v, ok := verifiers.Load(cons); ok {
		return v.(*verifier)
	}
	v := compile(cons.Auth[Name])
	if nVerifier.Add(1) > maxVerifiers {
		verifiers.Clear()
		nVerifier.Store(1)
	}
	verifiers.Store(cons, v)
	return v
}

var errNoKey = errors.New("jwt-auth: consumer has no usable secret or public key")

func compile(conf map[string]any) *verifier {
	v := &verifier{alg: "HS256"}
	if s, ok := conf["algorithm"].(string); ok {
		v.alg = s
	}
	if g, ok := confcheck.Number(conf["lifetime_grace_period"]); ok {
		v.grace = g
	}
	v.method = jwt.GetSigningMethod(v.alg)
	if v.method == nil {
		v.err = errNoKey
		return v
	}
	if strings.HasPrefix(v.alg, "HS") {
		secret, _ := conf["secret"].(string)
		if secret == "" {
			v.err = errNoKey
			return v
		}
		if b64, _ := conf["base64_secret"].(bool); b64 {
			key, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(secret, "="))
			if err != nil {
				v.err = err
				return v
			}
			v.key = key
		} else {
			v.key = []byte(secret)
		}
		return v
	}
	pub, _ := conf["public_key"].(string)
	v.key, v.err = publicKey(v.alg, []byte(pub))
	return v
}

// publicKey parses a PEM public key (PKIX, PKCS#1 RSA, or a certificate)
// of the kind alg needs.
func publicKey(alg string, data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errNoKey
	}
	var key any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	// The library checks the key type against the method when verifying.
	return key, nil
}

// cookieValue finds name in one Cookie header line.
func cookieValue(line, name string) (string, bool) {
	for line != "" {
		var part string
		part, line, _ = strings.Cut(line, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// removeCookie drops name from the Cookie header(s), keeping the rest.
func removeCookie(r *http.Request, name string) {
	var kept bytes.Buffer
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if k, _, _ := strings.Cut(part, "="); k == name || part == "" {
				continue
			}
			if kept.Len() > 0 {
				kept.WriteString("; ")
			}
			kept.WriteString(part)
		}
	}
	if kept.Len() == 0 {
		delete(r.Header, "Cookie")
		return
	}
	r.Header["Cookie"] = []string{kept.String()}
}
