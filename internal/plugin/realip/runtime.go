package realip

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// realIP is real-ip compiled. It replaces remote_addr (and remote_port
// when the source carries one) in the rewrite phase, so every later plugin,
// the X-Forwarded-For / X-Real-IP sent upstream and the log see the client
// the trusted proxy reported.
type realIP struct {
	source    string
	xff       bool // source is http_x_forwarded_for: take the last hop
	trusted   []netip.Prefix
	recursive bool
}

var _ plugin.Rewriter = (*realIP)(nil)

func newRealIP(conf map[string]any) (any, error) {
	r := &realIP{}
	r.source, _ = confcheck.String(conf, "source")
	r.xff = r.source == "http_x_forwarded_for"
	addrs, _ := confcheck.Strings(conf, "trusted_addresses")
	for _, a := range addrs {
		if strings.Contains(a, "/") {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, err
			}
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, err
		}
		r.trusted = append(r.trusted, netip.PrefixFrom(ip, ip.BitLen()))
	}
	r.recursive, _ = confcheck.Bool(conf, "recursive")
	return r, nil
}

func (r *realIP) isTrusted(s string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addr picks the client address from the source, as APISIX's get_addr:
// for X-Forwarded-For the last address of the last header (or, with
// recursive, the rightmost one that is not a trusted proxy).
func (r *realIP) addr(c *plugin.Ctx) (string, bool) {
	if !r.xff {
		return c.Vars.Var(r.source)
	}
	vals := c.Req.Header["X-Forwarded-For"]
	if len(vals) == 0 {
		return "", false
	}
	list := vals[len(vals)-1]
	idx := strings.LastIndexByte(list, ',')
	if idx < 0 {
		return list, true
	}
	if r.recursive && len(r.trusted) > 0 {
		parts := strings.Split(list, ",")
		for i := len(parts) - 1; i >= 1; i-- {
			p := strings.TrimLeft(parts[i], " \t")
			if !r.isTrusted(p) {
				return p, true
			}
		}
		return parts[0], true
	}
	return strings.TrimLeft(list[idx+1:], " "), true
}

// parseAddr splits "ip", "ip:port", "[v6]" or "[v6]:port" as APISIX's
// core.utils.parse_addr, and validates the address.
func parseAddr(s string) (ip string, port int, ok bool) {
	port = -1
	host := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			p, err := strconv.Atoi(strings.TrimPrefix(rest, ":"))
			if !strings.HasPrefix(rest, ":") || err != nil {
				return "", 0, false
			}
			port = p
		}
	} else if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", 0, false
		}
		host, port = h, n
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return "", 0, false
	}
	return host, port, true
}

func (r *realIP) Rewrite(c *plugin.Ctx) {
	if len(r.trusted) > 0 {
		remote, _ := c.Vars.Var("remote_addr")
		if !r.isTrusted(remote) {
			return
		}
	}
	raw, ok := r.addr(c)
	if !ok {
		return
	}
	ip, port, ok := parseAddr(raw)
	if !ok {
		return
	}
	if port != -1 && (port < 1 || port > 65535) {
		return
	}
	c.SetVar("remote_addr", ip)
	if port != -1 {
		c.SetVar("remote_port", strconv.Itoa(port))
	}
}
