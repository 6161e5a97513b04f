package authdns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// zone is one compiled, immutable zone.
type zone struct {
	name   string // "example.com.", lower case
	wire   string // lower-case wire form of name
	serial uint32
	soa    *dns.SOA
	// soaNeg is the SOA for negative answers: TTL min(SOA TTL, minimum)
	// (RFC 2308 section 3).
	soaNeg *dns.SOA
	nodes  map[string]*node // by lower-case wire name
	// xfr is the zone in transfer order: SOA, apex NS, the rest (the
	// closing SOA is added by the sender).
	xfr      []dns.RR
	allow    []netip.Prefix
	notify   []netip.AddrPort
	counters *zoneCounters
	// nx is the precompiled NXDOMAIN answer (fast.go), nil if none.
	nx *nxTemplate
	// records is how many records made it in.
	records int
}

// node is one owner name of a zone (possibly an empty non-terminal).
type node struct {
	name  string // presentation form, lower case
	wire  string
	sets  []rrset // sorted by type
	cname *dns.CNAME
	// deleg: NS below the apex (a zone cut).
	deleg bool
	// Precompiled answers (fast.go).
	tmpl  []typedTemplate
	other *template
}

type rrset struct {
	t   uint16
	rrs []dns.RR
}

func (n *node) set(t uint16) []dns.RR {
	for i := range n.sets {
		if n.sets[i].t == t {
			return n.sets[i].rrs
		}
	}
	return nil
}

func (n *node) add(rr dns.RR) {
	t := rr.Header().Rrtype
	for i := range n.sets {
		if n.sets[i].t == t {
			n.sets[i].rrs = append(n.sets[i].rrs, rr)
			return
		}
	}
	n.sets = append(n.sets, rrset{t: t, rrs: []dns.RR{rr}})
}

// lowerWire is the lower-case wire form of a presentation name, or ""
// if the name does not pack.
func lowerWire(name string) string {
	var buf [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
	if err != nil {
		return ""
	}
	b := buf[:n]
	lowerASCII(b)
	return string(b)
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
}

// parentWire drops the first label of a wire name ("" for the root).
func parentWire(w string) string {
	if len(w) <= 1 {
		return ""
	}
	return w[1+int(w[0]):]
}

// recordError is a record left out of a compiled zone.
type recordError struct {
	id  string
	err error
}

// compileZone builds the immutable zone from its settings and records
// (in id order). Records that fail are left out and reported.
func compileZone(zs *Zone, records []Record, counters *zoneCounters) (*zone, []recordError) {
	z := &zone{
		name:     zs.Fqdn(),
		wire:     lowerWire(zs.Fqdn()),
		serial:   zs.Serial,
		nodes:    map[string]*node{},
		counters: counters,
	}
	z.soa = soaRR(zs)
	neg := *z.soa
	neg.Hdr.Ttl = min(z.soa.Hdr.Ttl, z.soa.Minttl)
	z.soaNeg = &neg
	for _, s := range zs.AllowTransfer {
		if p, err := ParsePrefix(s); err == nil {
			z.allow = append(z.allow, p)
		}
	}
	for _, s := range zs.Secondaries {
		if ap, err := ParseSecondary(s); err == nil {
			z.notify = append(z.notify, ap)
		}
	}
	apex := z.node(z.name, z.wire)
	apex.add(z.soa)
	seenNS := map[string]bool{}
	for _, ns := range apexNS(zs) {
		seenNS[strings.ToLower(ns.(*dns.NS).Ns)] = true
		apex.add(ns)
	}
	var errs []recordError
	seen := map[string]bool{}
	for i := range records {
		r := &records[i]
		rr, err := r.rr(zs)
		if err != nil {
			errs = append(errs, recordError{r.ID, err})
			continue
		}
		h := rr.Header()
		h.Name = strings.ToLower(h.Name)
		w := lowerWire(h.Name)
		if w == "" || !strings.HasSuffix(w, z.wire) {
			errs = append(errs, recordError{r.ID, fmt.Errorf("owner %s is outside the zone", h.Name)})
			continue
		}
		id := identity(rr)
		if seen[id] {
			continue // the same data twice: one RR
		}
		n := z.nodes[w]
		if n == nil {
			n = z.node(h.Name, w)
		}
		if w == z.wire && h.Rrtype == dns.TypeNS {
			if seenNS[strings.ToLower(rr.(*dns.NS).Ns)] {
				continue
			}
			seenNS[strings.ToLower(rr.(*dns.NS).Ns)] = true
		}
		switch {
		case h.Rrtype == dns.TypeCNAME && (len(n.sets) > 0):
			errs = append(errs, recordError{r.ID, fmt.Errorf("CNAME at %s shares its name with other data", h.Name)})
			continue
		case h.Rrtype != dns.TypeCNAME && n.cname != nil:
			errs = append(errs, recordError{r.ID, fmt.Errorf("%s has a CNAME; other data is left out", h.Name)})
			continue
		}
		seen[id] = true
		if c, ok := rr.(*dns.CNAME); ok {
			n.cname = c
		}
		if h.Rrtype == dns.TypeNS && w != z.wire {
			n.deleg = true
		}
		n.add(rr)
		z.records++
	}
	// Empty non-terminals: every ancestor of an owner exists (RFC 8020).
	owners := make([]*node, 0, len(z.nodes))
	for _, n := range z.nodes {
		owners = append(owners, n)
	}
	for _, n := range owners {
		name := n.name
		for p := parentWire(n.wire); len(p) > len(z.wire); p = parentWire(p) {
			name = name[strings.IndexByte(name, '.')+1:]
			if z.nodes[p] != nil {
				break
			}
			z.node(name, p)
		}
	}
	// RRsets: one TTL (the smallest, RFC 2181 5.2), types in order.
	for _, n := range z.nodes {
		slices.SortFunc(n.sets, func(a, b rrset) int { return int(a.t) - int(b.t) })
		for _, s := range n.sets {
			ttl := s.rrs[0].Header().Ttl
			for _, rr := range s.rrs {
				ttl = min(ttl, rr.Header().Ttl)
			}
			for _, rr := range s.rrs {
				rr.Header().Ttl = ttl
			}
		}
	}
	z.xfr = z.transferList()
	return z, errs
}

func (z *zone) node(name, w string) *node {
	n := &node{name: name, wire: w}
	z.nodes[w] = n
	return n
}

// transferList is the zone for AXFR: SOA, apex NS, then the other RRsets
// in canonical name order.
func (z *zone) transferList() []dns.RR {
	apex := z.nodes[z.wire]
	out := []dns.RR{z.soa}
	out = append(out, apex.set(dns.TypeNS)...)
	names := make([]*node, 0, len(z.nodes))
	for _, n := range z.nodes {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b *node) int {
		return slices.Compare(reversedLabels(a.name), reversedLabels(b.name))
	})
	for _, n := range names {
		for _, s := range n.sets {
			if n == apex && (s.t == dns.TypeSOA || s.t == dns.TypeNS) {
				continue
			}
			out = append(out, s.rrs...)
		}
	}
	return out
}
