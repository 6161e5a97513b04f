package gzip

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// compressor is the gzip plugin compiled: it decides per response, like
// APISIX's header filter followed by nginx's gzip module, and compresses
// the body as it streams through.
type compressor struct {
	types     map[string]struct{} // nil: "*"
	minLength int64
	level     int
	// minProto is http_version ×10 (11 for 1.1).
	minProto int
	vary     bool
	pool     sync.Pool // *gzWriter at this level
}

var _ plugin.BodyFilterer = (*compressor)(nil)

func newCompressor(conf map[string]any) (any, error) {
	c := &compressor{minLength: 20, level: 1, minProto: 11}
	switch t := conf["types"].(type) {
	case []any:
		c.types = map[string]struct{}{}
		for _, x := range t {
			if s, ok := x.(string); ok {
				c.types[s] = struct{}{}
			}
		}
	case string: // "*"
	default:
		c.types = map[string]struct{}{"text/html": {}}
	}
	if n, ok := confcheck.Number(conf["min_length"]); ok {
		c.minLength = int64(n)
	}
	if n, ok := confcheck.Number(conf["comp_level"]); ok {
		c.level = int(n)
	}
	if n, ok := confcheck.Number(conf["http_version"]); ok {
		c.minProto = int(n*10 + 0.5)
	}
	c.vary, _ = confcheck.Bool(conf, "vary")
	// buffers (nginx's gzip_buffers) has no equivalent: the Go encoder
	// manages its own window.
	level := c.level
	c.pool.New = func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, level)
		return &gzWriter{zw: zw}
	}
	return c, nil
}

// typeMatches compares the media type (before any ';') exactly, as APISIX
// does.
func (c *compressor) typeMatches(ct string) bool {
	if c.types == nil {
		return true
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	_, ok := c.types[ct]
	return ok
}

// WrapBody runs once the header filters are done, so it sees the final
// headers, as nginx's gzip filter does after APISIX's Lua header filters.
func (c *compressor) WrapBody(ctx *plugin.Ctx, status int, h http.Header, w io.Writer) io.WriteCloser {
	// APISIX's header filter: Content-Type present and listed, length
	// (when known) at least min_length, HTTP version high enough.
	ct := h.Get("Content-Type")
	if ct == "" || !c.typeMatches(ct) {
		return nil
	}
	length := int64(-1)
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			length = n
		}
	} else if exited, _, body := ctx.Exited(); exited {
		length = int64(len(body))
	}
	if length >= 0 && length < c.minLength {
		return nil
	}
	r := ctx.Req
	if r.ProtoMajor*10+r.ProtoMinor < c.minProto {
		return nil
	}
	if c.vary {
		addVary(h)
	}
	// nginx's gzip module: only 200, 403 and 404, nothing already
	// encoded, a body to send, and a client that accepts gzip.
	if status != http.StatusOK && status != http.StatusForbidden && status != http.StatusNotFound {
		return nil
	}
	if h.Get("Content-Encoding") != "" || r.Method == http.MethodHead {
		return nil
	}
	if !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		return nil
	}
	// A response-rewrite body filter runs after this one in Stargate's
	// chain (lower priority) and would be handed compressed bytes; until
	// compressors are ordered last, leave such responses uncompressed.
	if m, _ := ctx.Vars.Var("response_rewrite_matched"); m == "1" {
		return nil
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	h.Del("Accept-Ranges")
	weakETag(h)
	gw := c.pool.Get().(*gzWriter)
	gw.zw.Reset(w)
	gw.pool = &c.pool
	return gw
}

// weakETag is ngx_http_weak_etag: a strong ETag becomes weak, anything
// else that is not already weak is dropped.
func weakETag(h http.Header) {
	e := h.Get("Etag")
	switch {
	case e == "" || strings.HasPrefix(e, "W/"):
	case strings.HasPrefix(e, `"`):
		h.Set("Etag", "W/"+e)
	default:
		h.Del("Etag")
	}
}

// gzWriter is one pooled encoder; Close finishes the stream and returns it
// to the pool.
type gzWriter struct {
	zw   *gzip.Writer
	pool *sync.Pool
}

func (g *gzWriter) Write(p []byte) (int, error) { return g.zw.Write(p) }

func (g *gzWriter) Close() error {
	err := g.zw.Close()
	g.zw.Reset(io.Discard)
	if p := g.pool; p != nil {
		g.pool = nil
		p.Put(g)
	}
	return err
}

// acceptsGzip is nginx's ngx_http_gzip_accept_encoding: a "gzip" token
// (any case) not given q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		if gzipAccepted(v) {
			return true
		}
	}
	return false
}

func gzipAccepted(ae string) bool {
	start := 0
	p := -1
	for {
		i := indexFold(ae[start:], "gzip")
		if i < 0 {
			return false
		}
		i += start
		if i == 0 || ae[i-1] == ',' || ae[i-1] == ' ' {
			p = i + 4
			break
		}
		start = i + 4
	}
	for p < len(ae) {
		c := ae[p]
		p++
		switch c {
		case ',':
			return true
		case ';':
			goto quantity
		case ' ':
			continue
		default:
			return false
		}
	}
	return true
quantity:
	for p < len(ae) {
		c := ae[p]
		p++
		switch c {
		case 'q', 'Q':
			goto equal
		case ' ':
			continue
		default:
			return false
		}
	}
	return true
equal:
	if p+2 > len(ae) || ae[p] != '=' {
		return false
	}
	return quantity(ae[p+1:]) != 0
}

// quantity is ngx_http_gzip_quantity.
func quantity(s string) int {
	if s == "" {
		return 0
	}
	c := s[0]
	if c != '0' && c != '1' {
		return 0
	}
	q := int(c-'0') * 100
	if len(s) == 1 {
		return q
	}
	c = s[1]
	if c == ',' || c == ' ' {
		return q
	}
	if c != '.' {
		return 0
	}
	n := 0
	for _, c := range []byte(s[2:]) {
		if c == ',' || c == ' ' {
			break
		}
		if c >= '0' && c <= '9' {
			q += int(c - '0')
			n++
			continue
		}
		return 0
	}
	if q > 100 || n > 3 {
		return 0
	}
	return q
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// addVary adds "Vary: Accept-Encoding" unless a Vary header already names
// it (APISIX would repeat it when both gzip and brotli are configured).
func addVary(h http.Header) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return
			}
		}
	}
	h.Add("Vary", "Accept-Encoding")
}
