package basicauth

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/keyauth"
)

// basicAuth is basic-auth compiled. It runs in the rewrite phase (APISIX
// priority 2520): it decodes `Authorization: Basic base64(user:pass)`, finds
// the consumer whose basic-auth credential has that username and checks
// the password.
type basicAuth struct {
	hide      bool
	anonymous string
	challenge string
}

var _ plugin.Rewriter = (*basicAuth)(nil)

func message(s string) []byte {
	b, _ := json.Marshal(map[string]string{"message": s})
	return append(b, '\n')
}

var (
	bodyMissing     = message("Missing authorization in request")
	bodyInvalidAuth = message("Invalid authorization in request")
	bodyInvalidUser = message("Invalid user authorization")
)

func newBasicAuth(conf map[string]any) (any, error) {
	b := &basicAuth{}
	realm := "basic"
	if s, ok := conf["realm"].(string); ok {
		realm = s
	}
	b.hide, _ = conf["hide_credentials"].(bool)
	b.anonymous, _ = conf["anonymous_consumer"].(string)
	b.challenge = `Basic realm="` + realm + `"`
	return b, nil
}

func (b *basicAuth) find(c *plugin.Ctx) (*plugin.Consumer, []byte) {
	vals := c.Req.Header["Authorization"]
	if len(vals) == 0 {
		return nil, bodyMissing
	}
	user, pass, ok := parseBasic(vals[0])
	if !ok {
		return nil, bodyInvalidAuth
	}
	if c.Consumers == nil {
		return nil, bodyInvalidUser
	}
	cons, ok := c.Consumers.Lookup(Name, user)
	if !ok {
		return nil, bodyInvalidUser
	}
	want, _ := cons.Auth[Name]["password"].(string)
	if subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		return nil, bodyInvalidUser
	}
	return cons, nil
}

func (b *basicAuth) Rewrite(c *plugin.Ctx) {
	cons, body := b.find(c)
	if cons == nil {
		if b.anonymous == "" {
			c.RespHeader.Set("WWW-Authenticate", b.challenge)
			c.Exit(http.StatusUnauthorized, body)
			return
		}
		var ok bool
		if cons, ok = keyauth.ConsumerByName(c, b.anonymous); !ok {
			c.RespHeader.Set("WWW-Authenticate", b.challenge)
			c.Exit(http.StatusUnauthorized, bodyInvalidUser)
			return
		}
	}
	if b.hide {
		delete(c.Req.Header, "Authorization")
	}
	keyauth.Attach(c, cons)
}

// parseBasic extracts the username and password as APISIX does: the
// credentials follow the first "basic" (any case) that is followed by a
// whitespace character, are standard base64 (padding optional), and every
// whitespace character is removed from both halves.
func parseBasic(h string) (user, pass string, ok bool) {
	rest := ""
	for i := 0; i+6 < len(h); i++ {
		if isSpace(h[i+5]) && h[i+6] != '\n' && strings.EqualFold(h[i:i+5], "basic") {
			rest = h[i+6:]
			break
		}
	}
	// PCRE's `.` stops at a newline.
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	if rest == "" {
		return "", "", false
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(rest, "="))
	if err != nil {
		return "", "", false
	}
	// RFC 7617: the user-id ends at the first colon; the password may
	// contain colons.
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	return stripSpace(u), stripSpace(p), true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func stripSpace(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
