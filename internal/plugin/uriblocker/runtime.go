package uriblocker

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// blocker is uri-blocker compiled: the rules joined into one regexp (as
// APISIX joins them with "|"), checked in the rewrite phase.
type blocker struct {
	re     *regexp.Regexp
	status int
	body   []byte // nil: nginx's error page
}

var _ plugin.Rewriter = (*blocker)(nil)

func newBlocker(conf map[string]any) (any, error) {
	rules, _ := confcheck.Strings(conf, "block_rules")
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		re, err := confcheck.CompileRegex(r, "jo")
		if err != nil {
			return nil, err
		}
		parts = append(parts, "(?:"+re.String()+")")
	}
	expr := strings.Join(parts, "|")
	if len(parts) == 0 {
		expr = `[^\s\S]` // no rules: match nothing
	}
	if ci, _ := confcheck.Bool(conf, "case_insensitive"); ci {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("block_rules: %w", err)
	}
	b := &blocker{re: re, status: 403}
	if n, ok := confcheck.Number(conf["rejected_code"]); ok {
		b.status = int(n)
	}
	if msg, ok := confcheck.String(conf, "rejected_msg"); ok {
		b.body, _ = json.Marshal(map[string]string{"error_msg": msg})
		b.body = append(b.body, '\n')
	}
	return b, nil
}

// normalized returns the request's path as nginx's $uri holds it (decoded,
// slashes merged, dot segments resolved) with the raw query, and whether
// it differs from what the client sent.
func normalized(rawURI, p, query string) (string, bool) {
	rawPath, _, _ := strings.Cut(rawURI, "?")
	if p == rawPath && !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return "", false
	}
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if query != "" {
		clean += "?" + query
	}
	return clean, clean != rawURI
}

func (b *blocker) Rewrite(c *plugin.Ctx) {
	uri := c.Req.RequestURI
	if uri == "" {
		uri, _ = c.Vars.Var("request_uri")
	}
	hit := b.re.MatchString(uri)
	if !hit {
		if n, differs := normalized(uri, c.Req.URL.Path, c.Req.URL.RawQuery); differs {
			hit = b.re.MatchString(n)
		}
	}
	if !hit {
		return
	}
	if b.body != nil {
		c.Exit(b.status, b.body)
		return
	}
	c.Exit(b.status, nil)
}
