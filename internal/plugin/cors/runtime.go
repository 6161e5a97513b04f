package cors

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// allMethods is what allow_methods "**" expands to.
const allMethods = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"

// origins is one allow_origins-style option compiled: "*", "**" (echo the
// request's Origin), one origin, or a comma list (a set, matched exactly).
type origins struct {
	value  string              // the option as configured
	set    map[string]struct{} // for a comma list
	header []string            // value as a header, shared by responses
}

func newOrigins(v string) origins {
	o := origins{value: v, header: []string{v}}
	if strings.Contains(v, ",") {
		o.set = map[string]struct{}{}
		for _, s := range strings.Split(v, ",") {
			if s != "" {
				o.set[s] = struct{}{}
			}
		}
	}
	return o
}

// resolve is APISIX's process_with_allow_origins: the value for
// Access-Control-Allow-Origin, or "" when the Origin is not in the list.
func (o origins) resolve(reqOrigin string, hasOrigin bool) string {
	v := o.value
	if v == "**" {
		if hasOrigin {
			return reqOrigin
		}
		return "*"
	}
	if o.set != nil {
		if _, ok := o.set[reqOrigin]; ok && hasOrigin {
			return reqOrigin
		}
		return ""
	}
	return v
}

// matches is APISIX's match_origins.
func matches(reqOrigin, allow string) bool {
	return allow != "" && (allow == "*" || reqOrigin == allow)
}

// cors is the cors plugin compiled. Headers values are prebuilt so the
// header filter only assigns slices.
type cors struct {
	allow       origins
	allowRegex  *regexp.Regexp // allow_origins_by_regex joined; when set, allow_origins is ignored
	byMetadata  bool
	timing      *origins
	timingRegex *regexp.Regexp
	methods     []string
	maxAge      []string
	expose      []string // nil: not sent
	headers     []string // nil with echoHeaders
	echoHeaders bool     // allow_headers "**"
	credentials bool
	varyAlways  bool // the answer depends on Origin even when it is refused
	trueValue   []string
}

var (
	_ plugin.Rewriter       = (*cors)(nil)
	_ plugin.HeaderFilterer = (*cors)(nil)
)

func joinRegex(rules []string) (*regexp.Regexp, error) {
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
	return regexp.Compile(strings.Join(parts, "|"))
}

func newCORS(conf map[string]any) (any, error) {
	str := func(k, def string) string {
		if s, ok := confcheck.String(conf, k); ok {
			return s
		}
		return def
	}
	c := &cors{
		allow:     newOrigins(str("allow_origins", "*")),
		trueValue: []string{"true"},
	}
	rules, _ := confcheck.Strings(conf, "allow_origins_by_regex")
	var err error
	if c.allowRegex, err = joinRegex(rules); err != nil {
		return nil, err
	}
	_, c.byMetadata = conf["allow_origins_by_metadata"]
	if t, ok := confcheck.String(conf, "timing_allow_origins"); ok {
		o := newOrigins(t)
		c.timing = &o
	}
	trules, _ := confcheck.Strings(conf, "timing_allow_origins_by_regex")
	if c.timingRegex, err = joinRegex(trules); err != nil {
		return nil, err
	}
	m := str("allow_methods", "*")
	if m == "**" {
		m = allMethods
	}
	c.methods = []string{m}
	maxAge := int64(5)
	if n, ok := confcheck.Number(conf["max_age"]); ok {
		maxAge = int64(n)
	}
	c.maxAge = []string{strconv.FormatInt(maxAge, 10)}
	if e, ok := confcheck.String(conf, "expose_headers"); ok && e != "" {
		c.expose = []string{e}
	}
	if h := str("allow_headers", "*"); h == "**" {
		c.echoHeaders = true
	} else {
		c.headers = []string{h}
	}
	c.credentials, _ = confcheck.Bool(conf, "allow_credential")
	c.varyAlways = c.allow.value != "*" || c.allowRegex != nil || c.byMetadata
	return c, nil
}

// Rewrite answers preflight requests at once (APISIX answers every
// OPTIONS request on the route, preflight or not, with an empty 200); the
// header filter adds the CORS headers to it as to any other answer.
func (c *cors) Rewrite(ctx *plugin.Ctx) {
	if ctx.Req.Method == http.MethodOptions {
		ctx.Exit(http.StatusOK, nil)
	}
}

// allowOrigin decides Access-Control-Allow-Origin as APISIX's
// header_filter does: allow_origins_by_regex, when configured, replaces
// allow_origins; allow_origins_by_metadata needs plugin metadata, which
// the data plane does not carry yet, so it matches nothing.
func (c *cors) allowOrigin(origin string, has bool) string {
	if c.byMetadata && c.allow.value == "*" {
		// Only the metadata origins would apply: APISIX falls back to
		// the route's own options only when allow_origins is not "*".
		return ""
	}
	if c.allowRegex != nil {
		if has && c.allowRegex.MatchString(origin) {
			return origin
		}
		return ""
	}
	a := c.allow.resolve(origin, has)
	if !matches(origin, a) {
		return ""
	}
	return a
}

func (c *cors) timingOrigin(origin string, has bool) string {
	var t string
	switch {
	case c.timingRegex != nil:
		if has && c.timingRegex.MatchString(origin) {
			t = origin
		}
	case c.timing != nil:
		t = c.timing.resolve(origin, has)
	}
	if !matches(origin, t) {
		return ""
	}
	return t
}

// HeaderFilter sets the CORS headers on every answer of the route whose
// Origin is allowed (the upstream's own CORS headers are replaced).
func (c *cors) HeaderFilter(ctx *plugin.Ctx, _ int, h http.Header) {
	origins := ctx.Req.Header["Origin"]
	origin, has := "", len(origins) > 0
	if has {
		origin = origins[0]
	}
	allow := c.allowOrigin(origin, has)
	if allow != "*" && (c.varyAlways || allow != "") {
		h["Vary"] = append(h["Vary"], "Origin")
	}
	if allow != "" {
		if allow == c.allow.value {
			h["Access-Control-Allow-Origin"] = c.allow.header
		} else {
			h["Access-Control-Allow-Origin"] = []string{allow}
		}
		h["Access-Control-Allow-Methods"] = c.methods
		h["Access-Control-Max-Age"] = c.maxAge
		if c.expose != nil {
			h["Access-Control-Expose-Headers"] = c.expose
		}
		if c.echoHeaders {
			if rh := ctx.Req.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h["Access-Control-Allow-Headers"] = []string{rh}
			} else {
				delete(h, "Access-Control-Allow-Headers")
			}
		} else {
			h["Access-Control-Allow-Headers"] = c.headers
		}
		if c.credentials {
			h["Access-Control-Allow-Credentials"] = c.trueValue
		}
	}
	if c.timing != nil || c.timingRegex != nil {
		if t := c.timingOrigin(origin, has); t != "" {
			h["Timing-Allow-Origin"] = []string{t}
		}
	}
}
