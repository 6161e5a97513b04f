package brotli

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// matchedKey carries the header filter's decision to the body filter for
// the request (APISIX's ctx.brotli_matched).
type matchedKey struct{}

// compressor is the brotli plugin compiled.
type compressor struct {
	types     map[string]struct{} // nil: "*"
	minLength int64
	minProto  int // http_version ×10
	vary      bool
	opts      brotli.WriterOptions
	pool      sync.Pool // *brWriter with opts
}

var (
	_ plugin.HeaderFilterer = (*compressor)(nil)
	_ plugin.BodyFilterer   = (*compressor)(nil)
)

func newCompressor(conf map[string]any) (any, error) {
	c := &compressor{minLength: 20, minProto: 11, opts: brotli.WriterOptions{Quality: 6, LGWin: 19}}
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
		c.opts.Quality = int(n)
	}
	if n, ok := confcheck.Number(conf["lgwin"]); ok {
		c.opts.LGWin = int(n)
		if c.opts.LGWin < 10 {
			// The C encoder clamps a window below the minimum (0
			// included) to 10; the Go one would pick its own.
			c.opts.LGWin = 10
		}
	}
	if n, ok := confcheck.Number(conf["http_version"]); ok {
		c.minProto = int(n*10 + 0.5)
	}
	c.vary, _ = confcheck.Bool(conf, "vary")
	opts := c.opts
	c.pool.New = func() any {
		return &brWriter{bw: brotli.NewWriterOptions(io.Discard, opts)}
	}
	return c, nil
}

// acceptsBr is APISIX's check_accept_encoding: "*" or "br" alone, or a
// "br"/"*" token in `([a-z\*]+)(;q=)?([0-9.]*)?` matches whose q is not
// exactly "0".
func acceptsBr(ae string) bool {
	if ae == "*" || ae == "br" {
		return true
	}
	for i := 0; i < len(ae); {
		c := ae[i]
		if !(c >= 'a' && c <= 'z' || c == '*') {
			i++
			continue
		}
		j := i
		for j < len(ae) && (ae[j] >= 'a' && ae[j] <= 'z' || ae[j] == '*') {
			j++
		}
		tok := ae[i:j]
		hasQ := strings.HasPrefix(ae[j:], ";q=")
		q := ""
		if hasQ {
			j += 3
		}
		k := j
		for k < len(ae) && (ae[k] >= '0' && ae[k] <= '9' || ae[k] == '.') {
			k++
		}
		q = ae[j:k]
		if (tok == "br" || tok == "*") && (!hasQ || q != "0") {
			return true
		}
		i = k
	}
	return false
}

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

// HeaderFilter makes APISIX's decision, in its order: the client accepts
// br, nothing is encoded yet, the type is listed, the length (when known)
// reaches min_length, the HTTP version is high enough. Stargate also
// leaves alone answers that carry no body (HEAD, 1xx, 204, 304).
func (c *compressor) HeaderFilter(ctx *plugin.Ctx, status int, h http.Header) {
	r := ctx.Req
	ae := r.Header.Values("Accept-Encoding")
	if len(ae) == 0 || !acceptsBr(strings.Join(ae, ", ")) {
		return
	}
	if h.Get("Content-Encoding") != "" {
		return
	}
	ct := h.Get("Content-Type")
	if ct == "" || !c.typeMatches(ct) {
		return
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n < c.minLength {
			return
		}
	} else if exited, _, body := ctx.Exited(); exited && int64(len(body)) < c.minLength {
		return
	}
	if r.ProtoMajor*10+r.ProtoMinor < c.minProto {
		return
	}
	if c.vary {
		addVary(h)
	}
	if r.Method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		return
	}
	ctx.SetValue(matchedKey{}, true)
	// core.response.clear_header_as_body_modified
	h.Del("Content-Length")
	h.Del("Last-Modified")
	h.Del("Etag")
	h.Set("Content-Encoding", "br")
}

func (c *compressor) WrapBody(ctx *plugin.Ctx, _ int, h http.Header, w io.Writer) io.WriteCloser {
	if m, _ := ctx.Value(matchedKey{}).(bool); !m {
		return nil
	}
	if h.Get("Content-Encoding") != "br" {
		// A later header filter took the encoding back.
		return nil
	}
	bw := c.pool.Get().(*brWriter)
	bw.bw.Reset(w)
	bw.pool = &c.pool
	return bw
}

// brWriter is one pooled encoder; Close finishes the stream and returns it
// to the pool.
type brWriter struct {
	bw   *brotli.Writer
	pool *sync.Pool
}

func (b *brWriter) Write(p []byte) (int, error) { return b.bw.Write(p) }

func (b *brWriter) Close() error {
	err := b.bw.Close()
	b.bw.Reset(io.Discard)
	if p := b.pool; p != nil {
		b.pool = nil
		p.Put(b)
	}
	return err
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
