package hmacauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/plugin/keyauth"
)

// hmacAuth is hmac-auth compiled (the APISIX 3.x scheme). It runs in the
// rewrite phase (APISIX priority 2530) and checks
//
//	Authorization: Signature keyId="...",algorithm="hmac-sha256",headers="@request-target date",signature="..."
//
// against the consumer whose hmac-auth key_id is keyId: the algorithm must
// be allowed, the Date header within clock_skew, every signed_headers entry
// signed, the signature the HMAC of the signing string with the consumer's
// secret_key and, with validate_request_body, the Digest header the
// SHA-256 of the body.
type hmacAuth struct {
	allowed      map[string]func() hash.Hash
	clockSkew    int64
	signed       []string
	validateBody bool
	hide         bool
	anonymous    string
	challenge    string
}

var _ plugin.Rewriter = (*hmacAuth)(nil)

func message(s string) []byte {
	b, _ := json.Marshal(map[string]string{"message": s})
	return append(b, '\n')
}

const prefix = "client request can't be validated"

var (
	bodyNoHeader    = message(prefix + ": missing Authorization header")
	bodyNotSig      = message(prefix + ": Authorization header does not start with 'Signature'")
	bodyInvalid     = message(prefix)
	bodyInvalidUser = message("Invalid user authorization")
)

// maxBody bounds the request body read to check its digest.
const maxBody = 32 << 20

// now is the clock Date is checked against (tests move it).
var now = time.Now

var algorithms = map[string]func() hash.Hash{
	"hmac-sha1":   sha1.New,
	"hmac-sha256": sha256.New,
	"hmac-sha512": sha512.New,
}

func newHMACAuth(conf map[string]any) (any, error) {
	h := &hmacAuth{allowed: algorithms, clockSkew: 300}
	if list, ok := confcheck.Strings(conf, "allowed_algorithms"); ok {
		h.allowed = map[string]func() hash.Hash{}
		for _, a := range list {
			if f, ok := algorithms[a]; ok {
				h.allowed[a] = f
			}
		}
	}
	if n, ok := confcheck.Number(conf["clock_skew"]); ok {
		h.clockSkew = int64(n)
	}
	h.signed, _ = confcheck.Strings(conf, "signed_headers")
	h.validateBody, _ = conf["validate_request_body"].(bool)
	h.hide, _ = conf["hide_credentials"].(bool)
	h.anonymous, _ = conf["anonymous_consumer"].(string)
	realm := "hmac"
	if s, ok := conf["realm"].(string); ok {
		realm = s
	}
	h.challenge = `hmac realm="` + realm + `"`
	return h, nil
}

func (h *hmacAuth) Rewrite(c *plugin.Ctx) {
	cons, body := h.find(c)
	if cons == nil {
		if h.anonymous == "" {
			c.RespHeader.Set("WWW-Authenticate", h.challenge)
			c.Exit(http.StatusUnauthorized, body)
			return
		}
		var ok bool
		if cons, ok = keyauth.ConsumerByName(c, h.anonymous); !ok {
			c.RespHeader.Set("WWW-Authenticate", h.challenge)
			c.Exit(http.StatusUnauthorized, bodyInvalidUser)
			return
		}
	}
	if h.hide {
		delete(c.Req.Header, "Authorization")
	}
	keyauth.Attach(c, cons)
}

// params are the fields of the Signature authorization.
type params struct {
	keyID, algorithm, signature string
	headers                     []string
	hasHeaders                  bool
}

// parseAuthorization reads `Signature k="v",k="v"` as APISIX does: the
// first 9 characters ("Signature") are dropped, the rest is split at
// commas, and each piece contributes its first word="value".
func parseAuthorization(s string) params {
	var p params
	s = s[len("Signature"):]
	for s != "" {
		var field string
		field, s, _ = strings.Cut(s, ",")
		k, v, ok := keyValue(field)
		if !ok {
			continue
		}
		switch k {
		case "keyId":
			p.keyID = v
		case "algorithm":
			p.algorithm = v
		case "signature":
			p.signature = v
		case "headers":
			p.headers, p.hasHeaders = strings.Split(v, " "), true
		}
	}
	return p
}

// keyValue is Lua's field:match('%s*(%w+)="(.-)"').
func keyValue(field string) (string, string, bool) {
	for from := 0; ; {
		i := strings.Index(field[from:], `="`)
		if i < 0 {
			return "", "", false
		}
		i += from
		start := i
		for start > 0 && isWord(field[start-1]) {
			start--
		}
		if start == i {
			from = i + 1
			continue
		}
		end := strings.IndexByte(field[i+2:], '"')
		if end < 0 {
			return "", "", false
		}
		return field[start:i], field[i+2 : i+2+end], true
	}
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var errBodyTooLarge = errors.New("request body too large")

func (h *hmacAuth) find(c *plugin.Ctx) (*plugin.Consumer, []byte) {
	r := c.Req
	vals := r.Header["Authorization"]
	if len(vals) == 0 {
		return nil, bodyNoHeader
	}
	if !strings.HasPrefix(vals[0], "Signature") {
		return nil, bodyNotSig
	}
	if cons := h.validate(c, parseAuthorization(vals[0])); cons != nil {
		return cons, nil
	}
	return nil, bodyInvalid
}

func (h *hmacAuth) validate(c *plugin.Ctx, p params) *plugin.Consumer {
	r := c.Req
	if p.keyID == "" || p.signature == "" || p.algorithm == "" || c.Consumers == nil {
		return nil
	}
	cons, ok := c.Consumers.Lookup(Name, p.keyID)
	if !ok {
		return nil
	}
	newHash, ok := h.allowed[p.algorithm]
	if !ok {
		return nil
	}
	// clock_skew is at least 1 (schema), so Date is always required.
	if h.clockSkew > 0 {
		date := r.Header.Get("Date")
		if date == "" {
			return nil
		}
		t, err := http.ParseTime(date)
		if err != nil {
			return nil
		}
		diff := now().Unix() - t.Unix()
		if diff < 0 {
			diff = -diff
		}
		if diff > h.clockSkew {
			return nil
		}
	}
	if len(h.signed) > 0 {
		if !p.hasHeaders {
			return nil
		}
		for _, want := range h.signed {
			found := false
			for _, got := range p.headers {
				if got == want {
					found = true
					break
				}
			}
			if !found {
				return nil
			}
		}
	}
	secret, _ := cons.Auth[Name]["secret_key"].(string)
	got, err := decodeBase64(p.signature)
	if err != nil {
		return nil
	}
	mac := hmac.New(newHash, []byte(secret))
	writeSigningString(mac, r, p)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil
	}
	if h.validateBody && !bodyDigestValid(r) {
		return nil
	}
	return cons
}

// writeSigningString writes the string APISIX signs: the keyId, then for
// each signed header "name: value" (or "METHOD request-uri" for
// @request-target; unknown headers are skipped), each line ending in \n.
func writeSigningString(w io.Writer, r *http.Request, p params) {
	io.WriteString(w, p.keyID)
	io.WriteString(w, "\n")
	for _, name := range p.headers {
		if v, ok := headerValue(r, name); ok {
			io.WriteString(w, name)
			io.WriteString(w, ": ")
			io.WriteString(w, v)
			io.WriteString(w, "\n")
			continue
		}
		if name == "@request-target" {
			uri := r.RequestURI
			if uri == "" {
				uri = r.URL.RequestURI()
			}
			io.WriteString(w, r.Method)
			io.WriteString(w, " ")
			io.WriteString(w, uri)
			io.WriteString(w, "\n")
		}
	}
}

// headerValue is the first value of a request header, Host included (Go
// keeps it out of Header).
func headerValue(r *http.Request, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if strings.EqualFold(name, "host") {
		return r.Host, r.Host != ""
	}
	vals := r.Header.Values(name)
	if len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}

// decodeBase64 accepts standard base64 with or without padding, as nginx's
// decoder does.
func decodeBase64(s string) ([]byte, error) {
	// Strict: a signature differing only in ignored padding bits is not
	// the same signature.
	return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// bodyDigestValid reads the body (putting it back for the upstream) and
// compares its SHA-256 with the Digest header, "SHA-256=<base64>".
func bodyDigestValid(r *http.Request) bool {
	digest := r.Header.Get("Digest")
	if digest == "" {
		return false
	}
	body, err := readBody(r)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(body)
	want := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	return hmac.Equal([]byte(want), []byte(digest))
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > maxBody {
		return nil, errBodyTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body.Close()
	if err != nil {
		r.Body = http.NoBody
		return nil, err
	}
	if len(b) > maxBody {
		r.Body = http.NoBody
		return nil, errBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return b, nil
}
