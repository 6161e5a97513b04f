package responserewrite

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/plugin/tmpl"
	"github.com/stargate-edge/stargate/internal/vars"
)

// maxHeldBody bounds the response body held for the regex filters (APISIX
// master's max_resp_body_size default). A larger body passes unfiltered.
const maxHeldBody = 64 << 20

// stateKey keys the per-request state the header filter leaves for the
// body filter (APISIX's ctx.response_rewrite_matched and
// ctx.response_encoding).
type stateKey struct{}

type state struct {
	matched bool
	enc     string // the upstream's Content-Encoding, removed
}

// varBodyRewritten is set (to "1") while the body will be rewritten, so a
// compressor running before this filter can stay out of the way.
const varBodyRewritten = "response_rewrite_matched"

type header struct {
	name string
	val  tmpl.Template
}

type filter struct {
	re     *regexp.Regexp
	tpl    []byte // Go Expand template
	global bool
}

// rewriter is response-rewrite compiled.
type rewriter struct {
	expr         *vars.Expr // nil: always
	status       int
	body         []byte
	hasBody      bool
	filters      []filter
	add, set     []header
	remove       []string
	modifiesBody bool
}

var (
	_ plugin.HeaderFilterer = (*rewriter)(nil)
	_ plugin.BodyFilterer   = (*rewriter)(nil)
)

// addRe is how APISIX splits an headers.add entry.
var addRe = regexp.MustCompile(`^([^:\s]+)\s*:\s*([^:]+)$`)

// luaString renders a header value from the config as Lua's tostring
// would: numbers with %.14g.
func luaString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if f, ok := confcheck.Number(v); ok {
		return strconv.FormatFloat(f, 'g', 14, 64)
	}
	return fmt.Sprint(v)
}

// goTemplate turns an ngx.re.sub replacement ("$0", "$1", "${1}", "$$")
// into a regexp.Expand template.
func goTemplate(s string) []byte {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '$':
			b.WriteString("$$")
			i++
		case i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		case i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			name := ""
			if end > 0 {
				name = s[i+2 : i+end]
			}
			if end > 0 && name != "" && strings.Trim(name, "0123456789") == "" {
				b.WriteString("${" + name + "}")
				i += end
			} else {
				b.WriteString("$$")
			}
		default:
			b.WriteString("$$")
		}
	}
	return b.Bytes()
}

func newRewriter(conf map[string]any) (any, error) {
	r := &rewriter{}
	if v, ok := conf["vars"]; ok && v != nil {
		e, err := vars.Compile(v)
		if err != nil {
			return nil, err
		}
		r.expr = e
	}
	if n, ok := confcheck.Number(conf["status_code"]); ok {
		r.status = int(n)
	}
	if body, ok := confcheck.String(conf, "body"); ok {
		r.hasBody = true
		r.body = []byte(body)
		if b64, _ := confcheck.Bool(conf, "body_base64"); b64 {
			d, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(body, "="))
			if err != nil {
				return nil, fmt.Errorf("invalid base64 content")
			}
			r.body = d
		}
	}
	fs, _ := confcheck.Objects(conf, "filters")
	for _, f := range fs {
		pat, _ := confcheck.String(f, "regex")
		opts, ok := confcheck.String(f, "options")
		if !ok {
			opts = "jo"
		}
		re, err := confcheck.CompileRegex(pat, opts)
		if err != nil {
			return nil, fmt.Errorf("regex %q validation failed: %w", pat, err)
		}
		repl, _ := confcheck.String(f, "replace")
		scope, _ := confcheck.String(f, "scope")
		r.filters = append(r.filters, filter{re: re, tpl: goTemplate(repl), global: scope == "global"})
	}
	r.modifiesBody = r.hasBody || len(r.filters) > 0

	if h, ok := confcheck.Object(conf, "headers"); ok {
		if isNewHeadersConf(h) {
			adds, _ := confcheck.Strings(h, "add")
			for _, a := range adds {
				m := addRe.FindStringSubmatch(a)
				if m == nil {
					return nil, fmt.Errorf("invalid header to add: %q", a)
				}
				r.add = append(r.add, header{http.CanonicalHeaderKey(m[1]), tmpl.Compile(m[2])})
			}
			if set, ok := confcheck.Object(h, "set"); ok {
				for k, v := range set {
					r.set = append(r.set, header{http.CanonicalHeaderKey(k), tmpl.Compile(luaString(v))})
				}
			}
			r.remove, _ = confcheck.Strings(h, "remove")
			for i, k := range r.remove {
				r.remove[i] = http.CanonicalHeaderKey(k)
			}
		} else {
			for k, v := range h {
				r.set = append(r.set, header{http.CanonicalHeaderKey(k), tmpl.Compile(luaString(v))})
			}
		}
	}
	return r, nil
}

// respVars adds the response's variables (status, upstream_http_*,
// sent_http_*) to the request's, as nginx exposes them in the header
// filter phase.
type respVars struct {
	plugin.Vars
	status int
	h      http.Header
}

func (v *respVars) Var(name string) (string, bool) {
	switch {
	case name == "status" || name == "upstream_status":
		return strconv.Itoa(v.status), true
	case strings.HasPrefix(name, "upstream_http_"):
		return headerVar(v.h, name[len("upstream_http_"):])
	case strings.HasPrefix(name, "sent_http_"):
		return headerVar(v.h, name[len("sent_http_"):])
	}
	return v.Vars.Var(name)
}

func headerVar(h http.Header, n string) (string, bool) {
	vals := h.Values(strings.ReplaceAll(n, "_", "-"))
	if len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}

// statusSetter is what the framework's Ctx offers when header filters may
// change the response status.
type statusSetter interface{ SetStatus(int) }

func (r *rewriter) HeaderFilter(c *plugin.Ctx, status int, h http.Header) {
	if r.expr != nil && !r.expr.Match(&respVars{Vars: c.Vars, status: status, h: h}) {
		// APISIX keeps one flag per request: the last instance to run
		// decides whether the body is rewritten.
		if st, ok := c.Value(stateKey{}).(*state); ok && st.matched {
			st.matched = false
			c.SetVar(varBodyRewritten, "")
		}
		return
	}
	if r.modifiesBody {
		c.SetValue(stateKey{}, &state{matched: true, enc: h.Get("Content-Encoding")})
		c.SetVar(varBodyRewritten, "1")
		// core.response.clear_header_as_body_modified
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		h.Del("Last-Modified")
		h.Del("Etag")
	}
	if r.status != 0 {
		if s, ok := any(c).(statusSetter); ok {
			s.SetStatus(r.status)
		}
	}
	for _, a := range r.add {
		h.Add(a.name, a.val.Render(c.Vars))
	}
	for _, s := range r.set {
		h.Set(s.name, s.val.Render(c.Vars))
	}
	for _, k := range r.remove {
		h.Del(k)
	}
}

func (r *rewriter) WrapBody(c *plugin.Ctx, _ int, h http.Header, w io.Writer) io.WriteCloser {
	if !r.modifiesBody {
		return nil
	}
	st, ok := c.Value(stateKey{}).(*state)
	if !ok || !st.matched {
		return nil
	}
	if r.hasBody {
		return &replacer{w: w, body: r.body}
	}
	enc := st.enc
	switch strings.ToLower(enc) {
	case "", "identity", "gzip", "x-gzip", "br":
	default:
		// APISIX cannot decode it either ("filters may not work as
		// expected"); pass the body through, still encoded.
		h.Set("Content-Encoding", enc)
		return nil
	}
	return &holder{w: w, r: r, enc: strings.ToLower(enc)}
}

// replacer discards the original body and writes the configured one.
type replacer struct {
	w    io.Writer
	body []byte
}

func (p *replacer) Write(b []byte) (int, error) { return len(b), nil }

func (p *replacer) Close() error {
	_, err := p.w.Write(p.body)
	return err
}

// holder collects the body, then decodes it, runs the filters and writes
// the result.
type holder struct {
	w        io.Writer
	r        *rewriter
	enc      string
	buf      bytes.Buffer
	overflow bool
}

func (p *holder) Write(b []byte) (int, error) {
	if p.overflow {
		return p.w.Write(b)
	}
	if p.buf.Len()+len(b) > maxHeldBody {
		p.overflow = true
		if _, err := p.w.Write(p.buf.Bytes()); err != nil {
			return 0, err
		}
		p.buf = bytes.Buffer{}
		return p.w.Write(b)
	}
	return p.buf.Write(b)
}

func (p *holder) Close() error {
	if p.overflow {
		return nil
	}
	body := p.buf.Bytes()
	if p.enc != "" && p.enc != "identity" && len(body) > 0 {
		// A body that does not decode is filtered as it is (APISIX logs
		// and goes on the same way).
		if d, err := decode(p.enc, body); err == nil {
			body = d
		}
	}
	for _, f := range p.r.filters {
		body = f.apply(body)
	}
	_, err := p.w.Write(body)
	return err
}

func decode(enc string, b []byte) ([]byte, error) {
	var rd io.Reader
	switch enc {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		rd = zr
	case "br":
		rd = brotli.NewReader(bytes.NewReader(b))
	default:
		return b, nil
	}
	return io.ReadAll(io.LimitReader(rd, maxHeldBody))
}

func (f filter) apply(body []byte) []byte {
	if f.global {
		return f.re.ReplaceAll(body, f.tpl)
	}
	loc := f.re.FindSubmatchIndex(body)
	if loc == nil {
		return body
	}
	out := make([]byte, 0, len(body)+len(f.tpl))
	out = append(out, body[:loc[0]]...)
	out = f.re.Expand(out, f.tpl, body, loc)
	return append(out, body[loc[1]:]...)
}
