package iprestriction

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// restriction is ip-restriction compiled: CIDRs parsed once, checked in
// the access phase.
type restriction struct {
	allow, deny []netip.Prefix
	status      int
	body        []byte
}

var _ plugin.Accessor = (*restriction)(nil)

func prefixes(v any) ([]netip.Prefix, error) {
	arr, _ := v.([]any)
	var out []netip.Prefix
	for _, x := range arr {
		s, _ := x.(string)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("invalid ip address: %s", s)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("invalid ip address: %s", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func newRestriction(conf map[string]any) (any, error) {
	r := &restriction{status: 403}
	var err error
	if r.allow, err = prefixes(conf["whitelist"]); err != nil {
		return nil, err
	}
	if r.deny, err = prefixes(conf["blacklist"]); err != nil {
		return nil, err
	}
	if n, ok := conf["response_code"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			r.status = int(v)
		}
	}
	msg := "Your IP address is not allowed"
	if m, ok := conf["message"].(string); ok {
		msg = m
	}
	r.body, _ = json.Marshal(map[string]string{"message": msg})
	r.body = append(r.body, '\n')
	return r, nil
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (r *restriction) Access(c *plugin.Ctx) {
	s, _ := c.Vars.Var("remote_addr")
	addr, err := netip.ParseAddr(s)
	if err != nil {
		c.Exit(r.status, r.body)
		return
	}
	if (len(r.allow) > 0 && !contains(r.allow, addr)) || (len(r.deny) > 0 && contains(r.deny, addr)) {
		c.Exit(r.status, r.body)
	}
}
