package redirect

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// seg is one piece of a uri template: a literal, or a variable name.
type seg struct {
	lit   string
	name  string
	isVar bool
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parseURI splits a template as APISIX's redirect does with
// `(\\\$[0-9a-zA-Z_]+)|\$\{([0-9a-zA-Z_]+)\}|\$([0-9a-zA-Z_]+)|(\$|[^$\\]+)`
// (gmatch): "\$name" stays literal (backslash included), "${name}" and
// "$name" are variables, a lone "$" is literal, and a backslash that
// starts none of these is dropped.
func parseURI(s string) []seg {
	var out []seg
	lit := func(x string) {
		if n := len(out); n > 0 && !out[n-1].isVar {
			out[n-1].lit += x
			return
		}
		out = append(out, seg{lit: x})
	}
	name := func(i int) int { // end of the name starting at i
		j := i
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		return j
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && s[i+1] == '$' {
				if j := name(i + 2); j > i+2 {
					lit(s[i:j])
					i = j
					continue
				}
			}
			i++ // matched by no alternative: skipped
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				if j := name(i + 2); j > i+2 && j < len(s) && s[j] == '}' {
					out = append(out, seg{name: s[i+2 : j], isVar: true})
					i = j + 1
					continue
				}
			}
			if j := name(i + 1); j > i+1 {
				out = append(out, seg{name: s[i+1 : j], isVar: true})
				i = j
				continue
			}
			lit("$")
			i++
		default:
			j := i
			for j < len(s) && s[j] != '$' && s[j] != '\\' {
				j++
			}
			lit(s[i:j])
			i = j
		}
	}
	return out
}

func render(segs []seg, c *plugin.Ctx) string {
	var b strings.Builder
	for _, s := range segs {
		if !s.isVar {
			b.WriteString(s.lit)
			continue
		}
		if s.name == "request_uri" && c.Req.RequestURI != "" {
			// nginx's $request_uri is the target as the client sent it.
			b.WriteString(c.Req.RequestURI)
		} else if v, ok := c.Vars.Var(s.name); ok {
			b.WriteString(v)
		}
	}
	return b.String()
}

// httpsTemplate is what http_to_https redirects to. APISIX adds the port
// of plugin_attr.redirect.https_port (or one of apisix.ssl.listen) when it
// is not 443; Stargate's plugins do not see the listener configuration, so
// the port is always the default one.
var httpsTemplate = parseURI("https://$host$request_uri")

type redirect struct {
	status      int
	uri         []seg
	re          *regexp.Regexp
	reTpl       []byte
	toHTTPS     bool
	encode      bool
	appendQuery bool
}

var _ plugin.Rewriter = (*redirect)(nil)

func newRedirect(conf map[string]any) (any, error) {
	r := &redirect{status: 302}
	if n, ok := confcheck.Number(conf["ret_code"]); ok {
		r.status = int(n)
	}
	if u, ok := confcheck.String(conf, "uri"); ok {
		r.uri = parseURI(u)
	}
	if ru, ok := confcheck.Strings(conf, "regex_uri"); ok && len(ru) == 2 {
		re, err := confcheck.CompileRegex(ru[0], "jo")
		if err != nil {
			return nil, err
		}
		r.re, r.reTpl = re, goTemplate(ru[1])
	}
	r.toHTTPS, _ = confcheck.Bool(conf, "http_to_https")
	r.encode, _ = confcheck.Bool(conf, "encode_uri")
	r.appendQuery, _ = confcheck.Bool(conf, "append_query_string")
	return r, nil
}

func (r *redirect) Rewrite(c *plugin.Ctx) {
	status := r.status
	uri := r.uri
	if r.toHTTPS {
		scheme := c.Req.Header.Get("X-Forwarded-Proto")
		if scheme == "" {
			scheme, _ = c.Vars.Var("scheme")
		}
		if scheme == "http" {
			uri = httpsTemplate
			if m := c.Req.Method; m == http.MethodGet || m == http.MethodHead {
				status = http.StatusMovedPermanently
			} else {
				status = http.StatusPermanentRedirect
			}
		}
	}
	var loc string
	switch {
	case uri != nil:
		loc = render(uri, c)
	case r.re != nil:
		p := c.Req.URL.Path
		m := r.re.FindStringSubmatchIndex(p)
		if m == nil {
			return
		}
		loc = p[:m[0]] + string(r.re.ExpandString(nil, string(r.reTpl), p, m)) + p[m[1]:]
	default:
		return
	}
	q := strings.IndexByte(loc, '?')
	if r.encode {
		if q >= 0 {
			loc = escapeURI(loc[:q]) + loc[q:]
		} else {
			loc = escapeURI(loc)
		}
	}
	if args := c.Req.URL.RawQuery; r.appendQuery && args != "" {
		if q >= 0 {
			loc += "&" + args
		} else {
			loc += "?" + args
		}
	}
	c.RespHeader.Set("Location", loc)
	c.Exit(status, nil)
}

// escapeURI is nginx's ngx_escape_uri(NGX_ESCAPE_URI), which APISIX's
// uri_safe_encode calls: it escapes controls, space, '#', '%', '?', DEL and
// bytes >= 0x80.
func escapeURI(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func mustEscape(c byte) bool {
	return c <= 0x20 || c == '#' || c == '%' || c == '?' || c >= 0x7f
}

// goTemplate turns an ngx.re.sub replacement ("$0", "$1", "${1}", "$$")
// into a regexp.Expand template.
func goTemplate(s string) []byte {
	var b strings.Builder
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
			if end > 2 && strings.Trim(s[i+2:i+end], "0123456789") == "" {
				b.WriteString("${" + s[i+2:i+end] + "}")
				i += end
			} else {
				b.WriteString("$$")
			}
		default:
			b.WriteString("$$")
		}
	}
	return []byte(b.String())
}
