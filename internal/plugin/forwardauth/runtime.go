package forwardauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// forwardAuth is forward-auth compiled: it asks an authorization service
// about each request (APISIX forward-auth.lua, access phase).
type forwardAuth struct {
	uri             string
	method          string
	requestHeaders  []string
	upstreamHeaders []string
	clientHeaders   []string
	extra           []extraHeader
	allowDegrade    bool
	statusOnError   int
	client          *http.Client
}

type extraHeader struct {
	name  string
	value template
}

var _ plugin.Accessor = (*forwardAuth)(nil)

// maxAuthBody bounds what is read of the authorization service's answer.
const maxAuthBody = 4 << 20

func newForwardAuth(conf map[string]any) (any, error) {
	f := &forwardAuth{method: "GET", statusOnError: 403}
	f.uri, _ = conf["uri"].(string)
	if m, ok := conf["request_method"].(string); ok {
		f.method = m
	}
	f.requestHeaders = strList(conf["request_headers"])
	f.upstreamHeaders = strList(conf["upstream_headers"])
	f.clientHeaders = strList(conf["client_headers"])
	if x, ok := conf["extra_headers"].(map[string]any); ok {
		for k, v := range x {
			s, _ := v.(string)
			f.extra = append(f.extra, extraHeader{http.CanonicalHeaderKey(k), parseTemplate(s)})
		}
	}
	f.allowDegrade, _ = conf["allow_degradation"].(bool)
	if n, ok := intOf(conf["status_on_error"]); ok {
		f.statusOnError = n
	}
	timeout := 3000
	if n, ok := intOf(conf["timeout"]); ok {
		timeout = n
	}
	tk := transportKey{verify: true, keepalive: true, pool: 5, idle: 60000}
	if b, ok := conf["ssl_verify"].(bool); ok {
		tk.verify = b
	}
	if b, ok := conf["keepalive"].(bool); ok {
		tk.keepalive = b
	}
	if tk.keepalive {
		if n, ok := intOf(conf["keepalive_pool"]); ok {
			tk.pool = n
		}
		if n, ok := intOf(conf["keepalive_timeout"]); ok {
			tk.idle = n
		}
	} else {
		tk.pool, tk.idle = 0, 0
	}
	f.client = &http.Client{
		Transport: transportFor(tk),
		Timeout:   time.Duration(timeout) * time.Millisecond,
		// The service's redirects are its answer, as lua-resty-http
		// does not follow them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f, nil
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func intOf(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return int(i), err == nil
}

// Transports are shared by every instance with the same connection
// settings, so config swaps do not leave idle pools behind. The key space
// is small; past maxTransports new settings share one unpooled transport.
type transportKey struct {
	verify, keepalive bool
	pool, idle        int
}

const maxTransports = 64

var (
	transportsMu sync.Mutex
	transports   = map[transportKey]*http.Transport{}
)

func transportFor(k transportKey) *http.Transport {
	transportsMu.Lock()
	defer transportsMu.Unlock()
	if t, ok := transports[k]; ok {
		return t
	}
	if len(transports) >= maxTransports {
		k = transportKey{verify: k.verify}
		if t, ok := transports[k]; ok {
			return t
		}
	}
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: !k.verify}, //nolint:gosec // ssl_verify: false
		DisableKeepAlives:   !k.keepalive,
		MaxIdleConnsPerHost: k.pool,
		IdleConnTimeout:     time.Duration(k.idle) * time.Millisecond,
		DisableCompression:  true,
	}
	transports[k] = t
	return t
}

// Access implements plugin.Accessor.
func (f *forwardAuth) Access(c *plugin.Ctx) {
	r := c.Req
	var body []byte
	if f.method == "POST" && r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			c.Exit(http.StatusBadRequest, nil)
			return
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	ctx := r.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, f.method, f.uri, rd)
	if err != nil {
		f.fail(c)
		return
	}
	h := req.Header
	h.Set("X-Forwarded-Proto", vr(c, "scheme"))
	h.Set("X-Forwarded-Method", r.Method)
	h.Set("X-Forwarded-Host", vr(c, "host"))
	h.Set("X-Forwarded-Uri", vr(c, "request_uri"))
	h.Set("X-Forwarded-For", vr(c, "remote_addr"))
	if f.method == "POST" {
		for _, n := range [...]string{"Expect", "Content-Encoding"} {
			if v := r.Header.Values(n); len(v) > 0 {
				h[n] = v
			}
		}
	}
	for _, x := range f.extra {
		h.Set(x.name, x.value.resolve(c))
	}
	for _, n := range f.requestHeaders {
		if _, set := h[http.CanonicalHeaderKey(n)]; set {
			continue
		}
		if v := r.Header.Values(n); len(v) > 0 {
			h[http.CanonicalHeaderKey(n)] = v
		}
	}
	res, err := f.client.Do(req)
	if err != nil {
		f.fail(c)
		return
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, err := io.ReadAll(io.LimitReader(res.Body, maxAuthBody))
		if err != nil {
			f.fail(c)
			return
		}
		if c.RespHeader == nil && len(f.clientHeaders) > 0 {
			c.RespHeader = http.Header{}
		}
		for _, n := range f.clientHeaders {
			if v := res.Header.Values(n); len(v) > 0 {
				c.RespHeader[http.CanonicalHeaderKey(n)] = v
			}
		}
		if b == nil {
			b = []byte{}
		}
		c.Exit(res.StatusCode, b)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxAuthBody))
	for _, n := range f.upstreamHeaders {
		if v := res.Header.Values(n); len(v) > 0 {
			r.Header[http.CanonicalHeaderKey(n)] = v
		}
	}
}

// fail: the service could not be asked (or did not answer in time).
func (f *forwardAuth) fail(c *plugin.Ctx) {
	if f.allowDegrade {
		return
	}
	c.Exit(f.statusOnError, nil)
}

func vr(c *plugin.Ctx, name string) string {
	if c.Vars == nil {
		return ""
	}
	v, _ := c.Vars.Var(name)
	return v
}

// template is an extra_headers value: literal text and $var / ${var}
// references, resolved per request (core.utils.resolve_var).
type template struct {
	parts []part
}

type part struct {
	lit   string
	isVar bool
}

func parseTemplate(s string) template {
	var t template
	for s != "" {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			t.parts = append(t.parts, part{lit: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: s[:i]})
		}
		s = s[i+1:]
		if strings.HasPrefix(s, "{") {
			if j := strings.IndexByte(s, '}'); j > 0 {
				t.parts = append(t.parts, part{lit: s[1:j], isVar: true})
				s = s[j+1:]
				continue
			}
		}
		j := 0
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == 0 {
			t.parts = append(t.parts, part{lit: "$"})
			continue
		}
		t.parts = append(t.parts, part{lit: s[:j], isVar: true})
		s = s[j:]
	}
	return t
}

func (t template) resolve(c *plugin.Ctx) string {
	if len(t.parts) == 1 {
		if !t.parts[0].isVar {
			return t.parts[0].lit
		}
		return vr(c, t.parts[0].lit)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.isVar {
			b.WriteString(vr(c, p.lit))
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}
