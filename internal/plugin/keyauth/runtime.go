package keyauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// keyAuth is key-auth compiled. It runs in the rewrite phase (APISIX
// priority 2500): it finds the key in a header or query argument, maps it
// to the consumer whose key-auth credential holds it and attaches that
// consumer to the request.
type keyAuth struct {
	header    string // canonical header name
	query     string
	hide      bool
	bearer    bool
	anonymous string
	challenge string // WWW-Authenticate value
}

var _ plugin.Rewriter = (*keyAuth)(nil)

func message(s string) []byte {
	b, _ := json.Marshal(map[string]string{"message": s})
	return append(b, '\n')
}

var (
	bodyMissing       = message("Missing API key in request")
	bodyInvalid       = message("Invalid API key in request")
	bodyBearerFormat  = message("Invalid Bearer token format")
	bodyInvalidAnonym = message("Invalid user authorization")
)

func newKeyAuth(conf map[string]any) (any, error) {
	k := &keyAuth{header: "Apikey", query: "apikey"}
	realm := "key"
	if s, ok := conf["header"].(string); ok {
		k.header = http.CanonicalHeaderKey(s)
	}
	if s, ok := conf["query"].(string); ok {
		k.query = s
	}
	if s, ok := conf["realm"].(string); ok {
		realm = s
	}
	k.hide, _ = conf["hide_credentials"].(bool)
	k.bearer, _ = conf["bearer_token"].(bool)
	k.anonymous, _ = conf["anonymous_consumer"].(string)
	scheme := "apikey"
	if k.bearer {
		// The key travels as an RFC 6750 bearer token.
		k.header = "Authorization"
		scheme = "Bearer"
	}
	k.challenge = scheme + ` realm="` + realm + `"`
	return k, nil
}

// find returns the consumer owning the request's key, or the rejection
// body.
func (k *keyAuth) find(c *plugin.Ctx) (*plugin.Consumer, []byte) {
	r := c.Req
	key, fromHeader := "", true
	if vals := r.Header[k.header]; len(vals) > 0 {
		key = vals[0]
	} else {
		v, n := QueryValue(r.URL.RawQuery, k.query)
		if n == 0 {
			return nil, bodyMissing
		}
		if n > 1 {
			// nginx hands a repeated argument over as a table, which no
			// consumer key equals.
			return nil, bodyInvalid
		}
		key, fromHeader = v, false
	}
	if k.bearer && fromHeader {
		rest, ok := strings.CutPrefix(key, "Bearer ")
		if !ok {
			return nil, bodyBearerFormat
		}
		key = rest
	}
	if c.Consumers == nil {
		return nil, bodyInvalid
	}
	cons, ok := c.Consumers.Lookup(Name, key)
	if !ok {
		return nil, bodyInvalid
	}
	if k.hide {
		if fromHeader {
			delete(r.Header, k.header)
		} else {
			r.URL.RawQuery = RemoveQuery(r.URL.RawQuery, k.query)
			r.URL.ForceQuery = false
		}
	}
	return cons, nil
}

func (k *keyAuth) Rewrite(c *plugin.Ctx) {
	cons, body := k.find(c)
	if cons == nil {
		if k.anonymous == "" {
			c.RespHeader.Set("WWW-Authenticate", k.challenge)
			c.Exit(http.StatusUnauthorized, body)
			return
		}
		var ok bool
		if cons, ok = ConsumerByName(c, k.anonymous); !ok {
			c.RespHeader.Set("WWW-Authenticate", k.challenge)
			c.Exit(http.StatusUnauthorized, bodyInvalidAnonym)
			return
		}
	}
	Attach(c, cons)
}

// ByNamer is implemented by a snapshot's consumer index that can also find
// a consumer by its username (APISIX's anonymous_consumer).
type ByNamer interface {
	ByName(username string) (*plugin.Consumer, bool)
}

// ConsumerByName finds a consumer by username, for anonymous_consumer.
func ConsumerByName(c *plugin.Ctx, username string) (*plugin.Consumer, bool) {
	if bn, ok := c.Consumers.(ByNamer); ok {
		return bn.ByName(username)
	}
	return nil, false
}

// Attach makes cons the request's consumer and tells the upstream who it
// is, as APISIX's consumer.attach_consumer does: X-Consumer-Username,
// X-Credential-Identifier and X-Consumer-Custom-ID (the consumer's
// custom_id label) are set, or removed when the value is unknown so a
// client cannot forge them.
func Attach(c *plugin.Ctx, cons *plugin.Consumer) {
	c.Consumer = cons
	h := c.Req.Header
	setOrDel(h, "X-Consumer-Username", cons.Username)
	setOrDel(h, "X-Credential-Identifier", cons.CredentialID)
	setOrDel(h, "X-Consumer-Custom-Id", cons.Labels["custom_id"])
}

func setOrDel(h http.Header, k, v string) {
	if v == "" {
		delete(h, k)
		return
	}
	h[k] = []string{v}
}

// QueryValue returns the (decoded) value of the first query argument
// named name in raw and how many arguments carry that name. It does not
// allocate unless a name or value is escaped.
func QueryValue(raw, name string) (string, int) {
	val, n := "", 0
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(seg, "=")
		if !argNameIs(k, name) {
			continue
		}
		if n == 0 {
			val = unescape(v)
		}
		n++
	}
	return val, n
}

// RemoveQuery drops every argument named name from raw, keeping the
// others as they were sent.
func RemoveQuery(raw, name string) string {
	var b strings.Builder
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(seg, "=")
		if argNameIs(k, name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func argNameIs(k, name string) bool {
	if k == name {
		return true
	}
	return strings.ContainsAny(k, "%+") && unescape(k) == name
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}
