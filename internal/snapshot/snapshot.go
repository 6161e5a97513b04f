package snapshot

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy/router"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
)

// Snapshot is one immutable, compiled configuration.
type Snapshot struct {
	// Revision is the store revision this snapshot reflects.
	Revision int64
	Router   *router.Router
	// Global is the combined chain of every global rule.
	Global *plugin.Chain
	Certs  *Certs
	// Consumers indexes consumers for auth plugins.
	Consumers *Consumers
	// Errors counts the objects left out of this snapshot; Problems says
	// why, by object ("routes/1" -> "plugin x ...").
	Errors   int
	Problems map[string]string

	upstreams map[string]*upstream.Upstream // by upstream id; never mutated
}

// Upstream returns an upstream object by id (traffic-split targets).
func (s *Snapshot) Upstream(id string) (*upstream.Upstream, bool) {
	u, ok := s.upstreams[id]
	return u, ok
}

// Route is a route merged with its service and plugin_config, ready to
// serve.
type Route struct {
	ID          string
	Name        string
	ServiceID   string
	ServiceName string
	// Org owns the route ("" for the platform operator).
	Org string
	// Upstream is an inline upstream (the route's or its service's);
	// otherwise UpstreamID names the upstream object, resolved per request
	// by UpstreamIn so that an upstream change does not recompile routes.
	UpstreamID      string
	Upstream        *upstream.Upstream
	Timeout         *upstream.Timeouts // route-level override
	EnableWebsocket bool
	Plugins         *plugin.Chain
	// raw and svcRaw are the stored JSON of the route and its service,
	// shared with the loader (not copied): Config decodes them on demand,
	// so a snapshot does not keep a decoded tree per route (at 100k
	// routes that was tens of megabytes for a debug endpoint).
	raw, svcRaw []byte
}

// UpstreamIn is the upstream the route proxies to in snapshot s: its
// inline upstream, or the upstream object it names; nil when it has none
// (the proxy answers 502).
func (r *Route) UpstreamIn(s *Snapshot) *upstream.Upstream {
	if r.Upstream != nil || r.UpstreamID == "" {
		return r.Upstream
	}
	return s.upstreams[r.UpstreamID]
}

// Config is the route's effective configuration, its service's fields
// overlaid by its own (for /debug/match).
func (r *Route) Config() map[string]any {
	out := map[string]any{}
	for _, b := range [][]byte{r.svcRaw, r.raw} {
		if len(b) == 0 {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			for k, v := range m {
				out[k] = v
			}
		}
	}
	return out
}

// Certs chooses a server certificate by SNI: an exact name beats a
// wildcard; a wildcard covers one label.
type Certs struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // ".foo.com"
	Default  *tls.Certificate
}

// Lookup returns the certificate for a server name, or nil.
func (c *Certs) Lookup(name string) *tls.Certificate {
	if c == nil {
		return nil
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if cert, ok := c.exact[name]; ok {
		return cert
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if cert, ok := c.wildcard[name[i:]]; ok {
			return cert
		}
	}
	return c.Default
}

// Len is the number of names with a certificate.
func (c *Certs) Len() int {
	if c == nil {
		return 0
	}
	return len(c.exact) + len(c.wildcard)
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}
