package authdns

import (
	"net/netip"

	"github.com/miekg/dns"
)

// snapshot is every compiled zone, swapped as a whole.
type snapshot struct {
	zones map[string]*zone // by lower-case wire name
	rev   int64
}

// find returns the zone holding the lower-case wire name w (the longest
// match), or nil.
func (s *snapshot) find(w string) *zone {
	for {
		if z := s.zones[w]; z != nil {
			return z
		}
		if len(w) <= 1 {
			return nil
		}
		w = parentWire(w)
	}
}

// inZone reports whether lower-case wire name w is z's apex or below it.
func (z *zone) inZone(w string) bool {
	for len(w) > len(z.wire) {
		w = parentWire(w)
	}
	return w == z.wire
}

// maxChase bounds CNAME chasing inside a zone.
const maxChase = 8

// resolve answers qname/qtype from z into m (sections, rcode, AA). qname
// keeps the question's case; answers for it carry that case.
func (z *zone) resolve(m *dns.Msg, qname string, qtype uint16) {
	m.Authoritative = true
	z.lookup(m, qname, lowerWire(qname), qtype, 0)
}

func (z *zone) lookup(m *dns.Msg, owner, w string, qtype uint16, depth int) {
	if cut := z.cut(w, qtype); cut != nil {
		if depth == 0 {
			m.Authoritative = false
		}
		z.referral(m, cut)
		return
	}
	n := z.nodes[w]
	if n == nil {
		// RFC 4592: the closest encloser's wildcard, if any.
		ce := parentWire(w)
		for z.nodes[ce] == nil && len(ce) > len(z.wire) {
			ce = parentWire(ce)
		}
		n = z.nodes["\x01*"+ce]
		if n == nil {
			m.Rcode = dns.RcodeNameError
			m.Ns = append(m.Ns, z.soaNeg)
			return
		}
	}
	if n.cname != nil && qtype != dns.TypeCNAME {
		m.Answer = append(m.Answer, withOwner(n.cname, owner))
		t := n.cname.Target
		tw := lowerWire(t)
		if depth < maxChase && tw != "" && z.inZone(tw) {
			z.lookup(m, t, tw, qtype, depth+1)
		}
		return
	}
	if qtype == dns.TypeANY {
		// RFC 8482: one RRset is enough.
		if len(n.sets) == 0 {
			m.Ns = append(m.Ns, z.soaNeg)
			return
		}
		for _, rr := range n.sets[0].rrs {
			m.Answer = append(m.Answer, withOwner(rr, owner))
		}
		return
	}
	rrs := n.set(qtype)
	if rrs == nil {
		m.Ns = append(m.Ns, z.soaNeg)
		return
	}
	for _, rr := range rrs {
		m.Answer = append(m.Answer, withOwner(rr, owner))
	}
	z.additional(m, rrs)
}

// cut returns the topmost delegation at or above w (below the apex); a DS
// query at the cut itself is the parent's to answer.
func (z *zone) cut(w string, qtype uint16) *node {
	var found *node
	for x := w; len(x) > len(z.wire); x = parentWire(x) {
		if n := z.nodes[x]; n != nil && n.deleg && !(x == w && qtype == dns.TypeDS) {
			found = n
		}
	}
	return found
}

// referral puts the delegation's NS in authority and in-zone glue in
// additional.
func (z *zone) referral(m *dns.Msg, cut *node) {
	ns := cut.set(dns.TypeNS)
	m.Ns = append(m.Ns, ns...)
	z.glue(m, ns)
}

// additional adds in-zone addresses of MX, SRV and NS targets.
func (z *zone) additional(m *dns.Msg, rrs []dns.RR) {
	switch rrs[0].Header().Rrtype {
	case dns.TypeMX, dns.TypeSRV, dns.TypeNS:
		z.glue(m, rrs)
	}
}

func (z *zone) glue(m *dns.Msg, rrs []dns.RR) {
	for i, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *dns.MX:
			target = v.Mx
		case *dns.SRV:
			target = v.Target
		case *dns.NS:
			target = v.Ns
		default:
			continue
		}
		tw := lowerWire(target)
		dup := false
		for _, prev := range rrs[:i] {
			dup = dup || targetOf(prev) == target
		}
		if dup || tw == "" || !z.inZone(tw) {
			continue
		}
		if n := z.nodes[tw]; n != nil {
			m.Extra = append(m.Extra, n.set(dns.TypeA)...)
			m.Extra = append(m.Extra, n.set(dns.TypeAAAA)...)
		}
	}
}

func targetOf(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.MX:
		return v.Mx
	case *dns.SRV:
		return v.Target
	case *dns.NS:
		return v.Ns
	}
	return ""
}

func withOwner(rr dns.RR, owner string) dns.RR {
	if rr.Header().Name == owner {
		return rr
	}
	c := dns.Copy(rr)
	c.Header().Name = owner
	return c
}

// Sizes.
const (
	// ednsSize is the UDP payload size Stargate advertises (DNS flag day
	// 2020); it is what we accept, not a cap on answers.
	ednsSize = 1232
	// maxUDP caps the client's advertised size.
	maxUDP = 4096
)

// request is what the wire loops hand to the handler.
type request struct {
	tcp bool
	src netip.AddrPort
}

// xfrRequest is a transfer the TCP loop must stream.
type xfrRequest struct {
	z            *zone
	req          *dns.Msg
	ixfrUpToDate bool
}

// slow answers any query with the full resolver. It returns the packed
// answer (nil: send nothing) and, for AXFR/IXFR over TCP, the transfer
// to stream instead.
func (s *Server) slow(snap *snapshot, q []byte, out []byte, rq request) ([]byte, *xfrRequest) {
	req := new(dns.Msg)
	if err := req.Unpack(q); err != nil {
		if len(q) < 12 || q[2]&0x80 != 0 {
			return nil, nil // not a query: drop
		}
		// Answer FORMERR with the header only.
		out = append(out[:0], q[0], q[1], 0x80|(q[2]&0x78), byte(dns.RcodeFormatError), 0, 0, 0, 0, 0, 0, 0, 0)
		s.none.inc(0, dns.RcodeFormatError)
		return out, nil
	}
	if req.Response {
		return nil, nil
	}
	resp := new(dns.Msg)
	resp.Id = req.Id
	resp.Response = true
	resp.Opcode = req.Opcode
	resp.RecursionDesired = req.RecursionDesired
	resp.CheckingDisabled = req.CheckingDisabled
	if len(req.Question) == 1 {
		resp.Question = req.Question
	}
	var qtype uint16
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	counters := s.none
	limit := dns.MaxMsgSize
	if !rq.tcp {
		limit = dns.MinMsgSize
	}
	opts := 0
	for _, rr := range req.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			opts++
		}
	}
	opt := req.IsEdns0()
	if opt != nil && !rq.tcp {
		limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDP)
	}
	finish := func(rcode int) ([]byte, *xfrRequest) {
		resp.Rcode = rcode
		if opt != nil {
			resp.SetEdns0(ednsSize, opt.Do())
		}
		counters.inc(qtype, rcode)
		return s.pack(resp, out, limit), nil
	}
	switch {
	case opts > 1:
		opt = nil
		return finish(dns.RcodeFormatError)
	case opt != nil && opt.Version() != 0:
		return finish(dns.RcodeBadVers)
	case req.Opcode != dns.OpcodeQuery:
		return finish(dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return finish(dns.RcodeFormatError)
	}
	qn := req.Question[0]
	switch qtype {
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeMAILA, dns.TypeMAILB:
		return finish(dns.RcodeFormatError)
	}
	if qn.Qclass != dns.ClassINET {
		return finish(dns.RcodeRefused)
	}
	w := lowerWire(qn.Name)
	z := snap.find(w)
	if z == nil {
		return finish(dns.RcodeRefused)
	}
	counters = z.counters
	if qtype == dns.TypeAXFR || qtype == dns.TypeIXFR {
		if w != z.wire {
			return finish(dns.RcodeNotAuth)
		}
		if !z.transferAllowed(rq.src.Addr()) {
			s.metrics.transfers.WithLabelValues("refused").Inc()
			return finish(dns.RcodeRefused)
		}
		x := &xfrRequest{z: z, req: req}
		if qtype == dns.TypeIXFR {
			x.ixfrUpToDate = ixfrUpToDate(req, z.serial)
		}
		if !rq.tcp {
			if qtype == dns.TypeAXFR {
				return finish(dns.RcodeNotImplemented)
			}
			// IXFR over UDP: the current SOA tells the client to use TCP
			// (RFC 1995 section 2).
			resp.Authoritative = true
			resp.Answer = []dns.RR{z.soa}
			return finish(dns.RcodeSuccess)
		}
		counters.inc(qtype, dns.RcodeSuccess)
		return nil, x
	}
	z.resolve(resp, qn.Name, qtype)
	return finish(resp.Rcode)
}

// pack packs resp within limit: first whole; then without additional data
// (unless it is a referral's glue); then truncated (TC=1) to the question.
func (s *Server) pack(resp *dns.Msg, out []byte, limit int) []byte {
	resp.Compress = true
	b, err := resp.PackBuffer(out[:cap(out)])
	if err == nil && len(b) <= limit {
		return b
	}
	var opt []dns.RR
	if o := resp.IsEdns0(); o != nil {
		opt = []dns.RR{o}
	}
	referral := !resp.Authoritative && len(resp.Ns) > 0
	if err == nil && len(resp.Extra) > len(opt) && !referral {
		resp.Extra = opt
		b, err = resp.PackBuffer(out[:cap(out)])
		if err == nil && len(b) <= limit {
			return b
		}
	}
	if err != nil && limit >= dns.MaxMsgSize {
		s.log.Warn("dns: answer does not pack", "err", err)
		resp.Rcode = dns.RcodeServerFailure
	}
	resp.Truncated = limit < dns.MaxMsgSize
	resp.Answer, resp.Ns, resp.Extra = nil, nil, opt
	b, err = resp.PackBuffer(out[:cap(out)])
	if err != nil {
		return nil
	}
	return b
}
