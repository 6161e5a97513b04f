package plugin

import (
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/http1/wire"
)

// ForwardedFields are the request fields the proxy sets itself on every
// upstream request (proxy.outbound), whatever the client sent.
var ForwardedFields = [4]string{"X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Proto", "X-Forwarded-Host"}

// ForwardedValues returns what the proxy sends upstream for each of
// ForwardedFields, in that order: X-Forwarded-For appends the client's
// address to what the client sent, X-Real-Ip is that address
// ($remote_addr, after real-ip), X-Forwarded-Proto and -Host are the
// request's scheme and Host. A plugin that reasons about the request as
// the upstream sees it (the cache, for Vary) uses these rather than the
// client's header.
func ForwardedValues(c *Ctx) [4]string {
	remote, _ := c.Vars.Var("remote_addr")
	scheme, _ := c.Vars.Var("scheme")
	return [4]string{ForwardedFor(c.Req.Header, remote), remote, scheme, c.Req.Host}
}

// ForwardedFor is the X-Forwarded-For the proxy sends: the client's own
// with remote appended, unless the client's Connection field names it
// (a hop-by-hop field then, which goes no further).
func ForwardedFor(h http.Header, remote string) string {
	prior := h["X-Forwarded-For"]
	if len(prior) == 0 || wire.NamesField(h["Connection"], "X-Forwarded-For") {
		return remote
	}
	return strings.Join(prior, ", ") + ", " + remote
}

// NamesForwarded reports whether names (canonical) include one of
// ForwardedFields.
func NamesForwarded(names []string) bool {
	for _, n := range names {
		for _, f := range ForwardedFields {
			if n == f {
				return true
			}
		}
	}
	return false
}

// WithForwarded is h with ForwardedFields set to vals: a copy when names
// include one of them, else h itself.
func WithForwarded(h http.Header, names []string, vals *[4]string) http.Header {
	if !NamesForwarded(names) {
		return h
	}
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for i, f := range ForwardedFields {
		out[f] = []string{vals[i]}
	}
	return out
}
