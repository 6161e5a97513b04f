package proxy

import (
	"net"
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/snapshot"
)

// reqVars resolves APISIX/nginx variables for one request, lazily.
type reqVars struct {
	pipe   *pipeState // the request's pipeline state; nil for background fetches
	r      *http.Request
	host   string
	remote string
	scheme string
	params map[string]string
	query  map[string][]string
	rawQ   string // the RawQuery query was parsed from
	pc     *plugin.Ctx
	route  *snapshot.Route
	// set holds variables plugins replaced (real-ip's remote_addr).
	set map[string]string
	// origin is the upstream handed to a Responder (the cache).
	origin origin
	// cw counts the bytes sent (send).
	cw countWriter
	// ub watches the upstream's body for a failure mid-way (respond).
	ub upstreamBody
	// hash is what the balancer hashes on (roundTrip), here so that
	// handing it over as an interface allocates nothing.
	hash hashInput
}

// SetVar implements plugin.VarSetter.
func (v *reqVars) SetVar(name, value string) {
	if name == "remote_addr" {
		v.remote = value
		return
	}
	if v.set == nil {
		v.set = map[string]string{}
	}
	v.set[name] = value
}

func (v *reqVars) Var(name string) (string, bool) {
	if v.set != nil {
		if s, ok := v.set[name]; ok {
			return s, true
		}
	}
	switch name {
	case "uri":
		return v.r.URL.Path, true
	case "request_uri":
		return v.r.URL.RequestURI(), true
	case "host", "http_host":
		return v.host, true
	case "remote_addr":
		return v.remote, true
	case "request_method":
		return v.r.Method, true
	case "scheme":
		return v.scheme, true
	case "query_string", "args":
		return v.r.URL.RawQuery, v.r.URL.RawQuery != ""
	case "server_port":
		if _, p, err := net.SplitHostPort(v.r.Host); err == nil {
			return p, true
		}
		return "", false
	case "route_id":
		if v.route != nil {
			return v.route.ID, true
		}
		return "", false
	case "route_name":
		if v.route != nil && v.route.Name != "" {
			return v.route.Name, true
		}
		return "", false
	case "service_id":
		if v.route != nil && v.route.ServiceID != "" {
			return v.route.ServiceID, true
		}
		return "", false
	case "service_name":
		if v.route != nil && v.route.ServiceName != "" {
			return v.route.ServiceName, true
		}
		return "", false
	case "consumer_name":
		if v.pc != nil && v.pc.Consumer != nil {
			return v.pc.Consumer.Username, true
		}
		return "", false
	case "consumer_group_id":
		if v.pc != nil && v.pc.Consumer != nil && v.pc.Consumer.GroupID != "" {
			return v.pc.Consumer.GroupID, true
		}
		return "", false
	case "content_type":
		return v.r.Header.Get("Content-Type"), v.r.Header.Get("Content-Type") != ""
	}
	switch {
	case strings.HasPrefix(name, "arg_"):
		// Re-parse when a plugin rewrote the query (hide_credentials).
		if v.query == nil || v.rawQ != v.r.URL.RawQuery {
			v.query, v.rawQ = v.r.URL.Query(), v.r.URL.RawQuery
		}
		vals, ok := v.query[name[4:]]
		if !ok || len(vals) == 0 {
			return "", false
		}
		return vals[0], true
	case strings.HasPrefix(name, "http_"):
		h := strings.ReplaceAll(name[5:], "_", "-")
		vals := v.r.Header.Values(h)
		if len(vals) == 0 {
			return "", false
		}
		return vals[0], true
	case strings.HasPrefix(name, "cookie_"):
		c, err := v.r.Cookie(name[7:])
		if err != nil {
			return "", false
		}
		return c.Value, true
	}
	if v.params != nil {
		if p, ok := v.params[name]; ok {
			return p, true
		}
	}
	return "", false
}

// hashInput adapts a request to upstream.HashInput.
type hashInput struct {
	*reqVars
	consumer string
}

func (h hashInput) Header(name string) string { return h.r.Header.Get(name) }

func (h hashInput) Cookie(name string) string {
	c, err := h.r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (h hashInput) Consumer() string { return h.consumer }

// MatchVars resolves variables for a request described by its parts (the
// admin API's /debug/match), without an http.Request.
type MatchVars struct {
	Method, Host, Path, Remote string
	Query                      map[string][]string
	Header                     map[string]string
}

// Var implements vars.Vars.
func (m *MatchVars) Var(name string) (string, bool) {
	switch name {
	case "uri":
		return m.Path, true
	case "host":
		return m.Host, true
	case "request_method":
		return m.Method, true
	case "remote_addr":
		return m.Remote, m.Remote != ""
	}
	if k, ok := strings.CutPrefix(name, "arg_"); ok {
		if v := m.Query[k]; len(v) > 0 {
			return v[0], true
		}
	}
	if k, ok := strings.CutPrefix(name, "http_"); ok {
		v, ok := m.Header[k]
		return v, ok
	}
	return "", false
}
