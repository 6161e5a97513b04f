package refererrestriction

import (
	"encoding/json"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// matcher holds host patterns: exact hosts, and suffixes from "*.x"
// entries (the "*" dropped, so "*.example.com" matches "a.example.com"
// but not "example.com"; a lone "*" is the empty suffix and matches all).
type matcher struct {
	exact    map[string]struct{}
	suffixes []string
}

func newMatcher(hosts []string) *matcher {
	if len(hosts) == 0 {
		return nil
	}
	m := &matcher{exact: make(map[string]struct{}, len(hosts))}
	for _, h := range hosts {
		if strings.HasPrefix(h, "*") {
			m.suffixes = append(m.suffixes, h[1:])
		} else {
			m.exact[h] = struct{}{}
		}
	}
	return m
}

func (m *matcher) match(host string) bool {
	if _, ok := m.exact[host]; ok {
		return true
	}
	for _, s := range m.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// restriction is referer-restriction compiled.
type restriction struct {
	white, black  *matcher
	bypassMissing bool
	body          []byte
}

var _ plugin.Accessor = (*restriction)(nil)

func newRestriction(conf map[string]any) (any, error) {
	r := &restriction{}
	w, _ := confcheck.Strings(conf, "whitelist")
	b, _ := confcheck.Strings(conf, "blacklist")
	r.white, r.black = newMatcher(w), newMatcher(b)
	r.bypassMissing, _ = confcheck.Bool(conf, "bypass_missing")
	msg := "Your referer host is not allowed"
	if m, ok := confcheck.String(conf, "message"); ok {
		msg = m
	}
	r.body, _ = json.Marshal(map[string]string{"message": msg})
	r.body = append(r.body, '\n')
	return r, nil
}

// refererHost extracts the host as lua-resty-http's parse_uri does:
// `^(?:(http[s]?):)?//((?:[^\[\]:/\?]+)|(?:\[.+\]))(?::(\d+))?...`. A
// Referer that does not parse counts as missing. Case is kept (APISIX
// compares hosts case-sensitively).
func refererHost(ref string) (string, bool) {
	s := ref
	if strings.HasPrefix(s, "https:") {
		s = s[6:]
	} else if strings.HasPrefix(s, "http:") {
		s = s[5:]
	}
	if !strings.HasPrefix(s, "//") {
		return "", false
	}
	s = s[2:]
	if strings.HasPrefix(s, "[") {
		// An IPv6 literal: up to the last ']' (the pattern's greedy .+).
		end := strings.LastIndexByte(s, ']')
		if end < 2 {
			return "", false
		}
		return s[:end+1], true
	}
	end := strings.IndexAny(s, "[]:/?")
	if end < 0 {
		end = len(s)
	}
	if end == 0 {
		return "", false
	}
	return s[:end], true
}

func (r *restriction) Access(c *plugin.Ctx) {
	ref, ok := c.Vars.Var("http_referer")
	host := ""
	if ok {
		host, ok = refererHost(ref)
	}
	block := false
	switch {
	case !ok:
		block = !r.bypassMissing
	case r.white != nil:
		block = !r.white.match(host)
	case r.black != nil:
		block = r.black.match(host)
	}
	if block {
		c.Exit(403, r.body)
	}
}
