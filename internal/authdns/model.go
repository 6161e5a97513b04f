package authdns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"
)

// Store layout. A watch on Prefix sees every DNS change.
const (
	Prefix        = "/stargate/dns/"
	ZonesPrefix   = Prefix + "zones/"
	RecordsPrefix = Prefix + "records/"
)

// ZoneKey is the store key of a zone's settings.
func ZoneKey(zone string) string { return ZonesPrefix + zone }

// RecordPrefix is the store directory (with trailing slash) of a zone's records.
func RecordPrefix(zone string) string { return RecordsPrefix + zone + "/" }

// RecordKey is the store key of one record.
func RecordKey(zone, id string) string { return RecordPrefix(zone) + id }

// Defaults of a new zone (Knot's and BIND's usual values).
const (
	DefaultTTL     = 3600
	DefaultRefresh = 3600
	DefaultRetry   = 600
	DefaultExpire  = 1209600
	DefaultMinimum = 300
	// MaxTTL is RFC 2181's limit.
	MaxTTL = 2147483647
)

// SOA holds the zone's SOA fields other than the serial.
type SOA struct {
	MName   string `json:"mname"`
	RName   string `json:"rname"`
	Refresh uint32 `json:"refresh"`
	Retry   uint32 `json:"retry"`
	Expire  uint32 `json:"expire"`
	Minimum uint32 `json:"minimum"`
}

// Zone is a zone's settings as stored (the value of ZoneKey).
type Zone struct {
	// Name is the zone, lower case, without the trailing dot.
	Name   string `json:"zone"`
	Serial uint32 `json:"serial"`
	// TTL is the TTL of the SOA and apex NS records.
	TTL         uint32   `json:"ttl"`
	SOA         SOA      `json:"soa"`
	Nameservers []string `json:"nameservers"`
	// Secondaries get NOTIFY ("ip" or "ip:port", port 53 by default) and
	// may transfer the zone.
	Secondaries []string `json:"secondaries"`
	// AllowTransfer lists more addresses or prefixes that may AXFR.
	AllowTransfer []string `json:"allow_transfer"`
	CreateTime    int64    `json:"create_time,omitempty"`
	UpdateTime    int64    `json:"update_time,omitempty"`
}

// Fqdn is the zone name with the trailing dot.
func (z *Zone) Fqdn() string { return z.Name + "." }

// Reverse reports whether the zone is under in-addr.arpa or ip6.arpa.
func (z *Zone) Reverse() bool { return IsReverse(z.Name) }

// IsReverse reports whether a zone name is a reverse zone.
func IsReverse(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	return strings.HasSuffix(name, ".in-addr.arpa") || strings.HasSuffix(name, ".ip6.arpa")
}

// CanonicalZoneName lower-cases a zone name and drops the trailing dot,
// checking that it is an RFC 1035 name that Stargate may serve: not a
// public suffix ("com", "co.uk", "in-addr.arpa"), at least two labels,
// labels of letters, digits, '-' and '_' only.
func CanonicalZoneName(name string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if n == "" {
		return "", errors.New("zone name is empty")
	}
	if len(n) > 253 {
		return "", fmt.Errorf("zone name %q is longer than 253 characters", name)
	}
	labels := strings.Split(n, ".")
	for _, l := range labels {
		if l == "" {
			return "", fmt.Errorf("zone name %q has an empty label", name)
		}
		if len(l) > 63 {
			return "", fmt.Errorf("zone name %q has a label longer than 63 characters", name)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("zone name %q: label %q may hold only letters, digits, '-' and '_'", name, l)
			}
		}
	}
	if len(labels) < 2 {
		return "", fmt.Errorf("zone %q is a top-level domain: refused", n)
	}
	if IsPublicSuffix(n) {
		return "", fmt.Errorf("zone %q is a public suffix: refused", n)
	}
	return n, nil
}

// IsPublicSuffix reports whether name is itself on the public suffix list
// (ICANN or private section), so that no customer may claim it.
func IsPublicSuffix(name string) bool {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	suffix, _ := publicsuffix.PublicSuffix(n)
	return suffix == n
}

// Normalize fills defaults and checks the settings; the error says which
// field is wrong.
func (z *Zone) Normalize() error {
	name, err := CanonicalZoneName(z.Name)
	if err != nil {
		return err
	}
	z.Name = name
	if z.TTL == 0 {
		z.TTL = DefaultTTL
	}
	if z.TTL > MaxTTL {
		return fmt.Errorf("ttl %d is larger than %d", z.TTL, MaxTTL)
	}
	if len(z.Nameservers) == 0 {
		z.Nameservers = []string{"ns1." + z.Fqdn(), "ns2." + z.Fqdn()}
	}
	seen := map[string]bool{}
	for i, ns := range z.Nameservers {
		n, err := absName(ns, z.Fqdn())
		if err != nil {
			return fmt.Errorf("nameservers[%d]: %v", i, err)
		}
		if seen[strings.ToLower(n)] {
			return fmt.Errorf("nameservers[%d]: %s is listed twice", i, n)
		}
		seen[strings.ToLower(n)] = true
		z.Nameservers[i] = n
	}
	if z.SOA.MName == "" {
		z.SOA.MName = z.Nameservers[0]
	}
	if z.SOA.MName, err = absName(z.SOA.MName, z.Fqdn()); err != nil {
		return fmt.Errorf("soa.mname: %v", err)
	}
	if z.SOA.RName == "" {
		z.SOA.RName = "hostmaster." + z.Fqdn()
	}
	if strings.Contains(z.SOA.RName, "@") {
		local, domain, _ := strings.Cut(z.SOA.RName, "@")
		z.SOA.RName = strings.ReplaceAll(local, ".", `\.`) + "." + domain
	}
	if z.SOA.RName, err = mailboxName(z.SOA.RName, z.Fqdn()); err != nil {
		return fmt.Errorf("soa.rname: %v", err)
	}
	for _, f := range []struct {
		name string
		v    *uint32
		def  uint32
	}{{"refresh", &z.SOA.Refresh, DefaultRefresh}, {"retry", &z.SOA.Retry, DefaultRetry}, {"expire", &z.SOA.Expire, DefaultExpire}, {"minimum", &z.SOA.Minimum, DefaultMinimum}} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v > MaxTTL {
			return fmt.Errorf("soa.%s %d is larger than %d", f.name, *f.v, MaxTTL)
		}
	}
	if z.Secondaries == nil {
		z.Secondaries = []string{}
	}
	for i, s := range z.Secondaries {
		ap, err := ParseSecondary(s)
		if err != nil {
			return fmt.Errorf("secondaries[%d]: %v", i, err)
		}
		z.Secondaries[i] = ap.String()
	}
	if z.AllowTransfer == nil {
		z.AllowTransfer = []string{}
	}
	for i, s := range z.AllowTransfer {
		p, err := ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("allow_transfer[%d]: %v", i, err)
		}
		z.AllowTransfer[i] = p.String()
	}
	return nil
}

// ParseSecondary reads "ip" or "ip:port" ("[v6]:port"); the port defaults to 53.
func ParseSecondary(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("%q: port 0", s)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IP address or IP:port", s)
	}
	return netip.AddrPortFrom(a.Unmap(), 53), nil
}

// ParsePrefix reads an address ("192.0.2.1") or a prefix ("192.0.2.0/24").
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: use the IPv4 form", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// mailboxName is absName for the SOA RNAME, whose first label (the
// mailbox's local part) may hold escaped dots.
func mailboxName(s, origin string) (string, error) {
	local, rest, ok := strings.Cut(strings.TrimSpace(s), ".")
	for ok && strings.HasSuffix(local, `\`) {
		var more string
		more, rest, ok = strings.Cut(rest, ".")
		local += "." + more
	}
	if !ok || local == "" {
		return "", fmt.Errorf("%q is not a mailbox name (hostmaster.example.com. or hostmaster@example.com)", s)
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c > '~' || c == ';' || c == '"' || c == '(' || c == ')' {
			return "", fmt.Errorf("%q is not a mailbox name", s)
		}
	}
	d, err := absName(rest, origin)
	if err != nil {
		return "", err
	}
	return local + "." + d, nil
}

// absName makes a domain name absolute: "@" is the origin, a name with a
// trailing dot is kept, and any other name is taken as fully qualified too
// (API users write "mail.example.net"), with the dot added.
func absName(s, origin string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "@" {
		return origin, nil
	}
	if s == "" {
		return "", errors.New("empty name")
	}
	if _, ok := dns.IsDomainName(s); !ok || !hostLabels(s) {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	n := dns.Fqdn(s)
	if n != "." && dns.CountLabel(n) == 1 {
		return "", fmt.Errorf("%q is a single label: write the full name (%s.%s) or @ for the zone", s, strings.TrimSuffix(s, "."), origin)
	}
	if len(n) > 254 {
		return "", fmt.Errorf("%q is longer than 253 characters", s)
	}
	// Packing catches what IsDomainName lets through (label lengths).
	buf := make([]byte, 256)
	if _, err := dns.PackDomainName(n, buf, 0, nil, false); err != nil {
		return "", fmt.Errorf("%q is not a valid domain name: %v", s, err)
	}
	return n, nil
}

// NextSerial returns the serial after cur: the date form YYYYMMDD00 of now
// when that is later (RFC 1982 arithmetic), else cur+1.
func NextSerial(cur uint32, now time.Time) uint32 {
	next := cur + 1
	d := now.UTC()
	base := uint32(d.Year()*1000000 + int(d.Month())*10000 + d.Day()*100) //nolint:gosec // fits until year 42949
	if SerialGreater(base, next) {
		return base
	}
	return next
}

// SerialGreater compares serials in RFC 1982 arithmetic: a > b.
func SerialGreater(a, b uint32) bool {
	return a != b && (a-b) < 1<<31
}

// hostLabels reports whether every label of a name is letters, digits,
// '-', '_' or '/' (the root "." is fine): names in the zone's data stay
// free of characters that would need escaping in a zone file.
func hostLabels(s string) bool {
	if s == "." {
		return true
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/') {
				return false
			}
		}
	}
	return true
}
