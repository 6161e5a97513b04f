package uarestriction

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// restriction is ua-restriction compiled: the allowlist or denylist joined
// into one regexp, checked in the access phase.
type restriction struct {
	// allow is set for an allowlist, deny for a denylist (the schema's
	// oneOf keeps exactly one).
	allow, deny   *regexp.Regexp
	bypassMissing bool
	body          []byte
}

var _ plugin.Accessor = (*restriction)(nil)

// union compiles rules (PCRE with OpenResty's "jo") as one alternation;
// each rule keeps its own inline flags inside its group.
func union(rules []string) (*regexp.Regexp, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		re, err := confcheck.CompileRegex(r, "jo")
		if err != nil {
			return nil, err
		}
		parts[i] = "(?:" + re.String() + ")"
	}
	re, err := regexp.Compile(strings.Join(parts, "|"))
	if err != nil {
		return nil, fmt.Errorf("ua-restriction: %w", err)
	}
	return re, nil
}

func newRestriction(conf map[string]any) (any, error) {
	r := &restriction{}
	allow, _ := confcheck.Strings(conf, "allowlist")
	deny, _ := confcheck.Strings(conf, "denylist")
	var err error
	if r.allow, err = union(allow); err != nil {
		return nil, err
	}
	if r.allow == nil {
		if r.deny, err = union(deny); err != nil {
			return nil, err
		}
	}
	r.bypassMissing, _ = confcheck.Bool(conf, "bypass_missing")
	msg := "Not allowed"
	if m, ok := confcheck.String(conf, "message"); ok {
		msg = m
	}
	r.body, _ = json.Marshal(map[string]string{"message": msg})
	r.body = append(r.body, '\n')
	return r, nil
}

// Access follows APISIX: a missing User-Agent is rejected unless
// bypass_missing; with an allowlist one matching value lets the request
// through; with a denylist any matching value rejects it. (APISIX 3.x's
// denylist loop over repeated User-Agent headers is inverted — it passes
// only when every value is denied; Stargate rejects when any is.)
func (r *restriction) Access(c *plugin.Ctx) {
	uas, ok := c.Req.Header["User-Agent"]
	if !ok || len(uas) == 0 {
		if !r.bypassMissing {
			c.Exit(403, r.body)
		}
		return
	}
	if r.allow != nil {
		for _, ua := range uas {
			if r.allow.MatchString(strings.TrimSpace(ua)) {
				return
			}
		}
		c.Exit(403, r.body)
		return
	}
	if r.deny != nil {
		for _, ua := range uas {
			if r.deny.MatchString(strings.TrimSpace(ua)) {
				c.Exit(403, r.body)
				return
			}
		}
	}
}
