package proxyrewrite

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// rewriter is proxy-rewrite compiled: it changes the request sent upstream
// in the rewrite phase.
type rewriter struct {
	uri      string
	re       *regexp.Regexp
	reTpl    string
	host     string
	method   string
	add, set [][2]string
	remove   []string
}

var _ plugin.Rewriter = (*rewriter)(nil)

func newRewriter(conf map[string]any) (any, error) {
	r := &rewriter{}
	r.uri, _ = conf["uri"].(string)
	r.host, _ = conf["host"].(string)
	r.method, _ = conf["method"].(string)
	if ru, ok := conf["regex_uri"].([]any); ok && len(ru) >= 2 {
		pat, _ := ru[0].(string)
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, fmt.Errorf("regex_uri: %w", err)
		}
		r.re = re
		r.reTpl, _ = ru[1].(string)
		// nginx captures are $1; Go's are ${1}.
		r.reTpl = regexp.MustCompile(`\$(\d+)`).ReplaceAllString(r.reTpl, "$${$1}")
	}
	pairs := func(v any) [][2]string {
		m, _ := v.(map[string]any)
		var out [][2]string
		for k, val := range m {
			out = append(out, [2]string{http.CanonicalHeaderKey(k), fmt.Sprint(val)})
		}
		return out
	}
	if h, ok := conf["headers"].(map[string]any); ok {
		_, hasAdd := h["add"]
		_, hasSet := h["set"]
		_, hasRemove := h["remove"]
		if hasAdd || hasSet || hasRemove {
			r.add, r.set = pairs(h["add"]), pairs(h["set"])
			if rm, ok := h["remove"].([]any); ok {
				for _, x := range rm {
					if s, ok := x.(string); ok {
						r.remove = append(r.remove, s)
					}
				}
			}
		} else {
			// The older flat form: every entry sets a header; an empty
			// value removes it.
			for _, p := range pairs(h) {
				if p[1] == "" {
					r.remove = append(r.remove, p[0])
				} else {
					r.set = append(r.set, p)
				}
			}
		}
	}
	return r, nil
}

func (r *rewriter) Rewrite(c *plugin.Ctx) {
	req := c.Req
	switch {
	case r.uri != "":
		path, query, _ := strings.Cut(r.uri, "?")
		req.URL.Path, req.URL.RawPath = path, ""
		if query != "" {
			req.URL.RawQuery = query
		}
	case r.re != nil:
		if r.re.MatchString(req.URL.Path) {
			req.URL.Path = r.re.ReplaceAllString(req.URL.Path, r.reTpl)
			req.URL.RawPath = ""
		}
	}
	if r.host != "" {
		req.Host = r.host
	}
	if r.method != "" {
		req.Method = r.method
	}
	for _, k := range r.remove {
		req.Header.Del(k)
	}
	for _, p := range r.set {
		req.Header.Set(p[0], p[1])
	}
	for _, p := range r.add {
		req.Header.Add(p[0], p[1])
	}
}
