package tenant

import (
	"net/netip"
	"strings"
)

// ParseACL normalises a list of CIDRs or single addresses ("10.0.0.0/8",
// "2001:db8::/32", "192.0.2.7"). An empty list allows every address.
func ParseACL(in []string) ([]string, error) {
	if len(in) > 64 {
		return nil, invalid("acl holds at most 64 entries")
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		p, err := parsePrefix(s)
		if err != nil {
			return nil, invalid("acl entry %q is not an address or CIDR", s)
		}
		out = append(out, p.String())
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ACLAllows reports whether addr (an IP, with or without port) is inside
// acl; an empty acl allows everything. IPv4-mapped IPv6 addresses count
// as IPv4.
func ACLAllows(acl []string, addr string) bool {
	if len(acl) == 0 {
		return true
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, perr := netip.ParseAddrPort(addr)
		if perr != nil {
			return false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	for _, s := range acl {
		p, err := parsePrefix(s)
		if err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}
