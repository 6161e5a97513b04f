package authdns

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// template is a packed answer for one name and query type, made at
// compile time by the full resolver with the name in lower case, ID 0 and
// RD clear. A query it fits is answered by copying it and patching the ID,
// RD/CD, the question's bytes (so its case is echoed, through compression
// pointers into the question, in the answer's owner names too), and an OPT
// record when the query had one.
type template struct {
	wire  []byte
	qlen  int // wire length of the question name
	rcode int
}

type typedTemplate struct {
	t uint16
	*template
}

// fastTypes get a template at CNAME nodes (whose answer depends on the
// type); other nodes get one per type they hold plus one shared NODATA.
var fastTypes = []uint16{dns.TypeA, dns.TypeAAAA}

// nxTemplate is a zone's NXDOMAIN answer without the question: the
// negative SOA whose owner and in-zone names point at the zone's suffix
// inside the question, as the resolver's packing compresses them.
type nxTemplate struct {
	fixed   []byte // type, class, TTL, RDLENGTH of the SOA
	mprefix []byte // MNAME's labels above the apex
	rprefix []byte // RNAME's labels above the apex
	nums    []byte // serial, refresh, retry, expire, minimum
}

// buildNX precompiles the NXDOMAIN answer when the SOA's names are at or
// below the apex (else NXDOMAIN takes the resolver).
func (z *zone) buildNX() {
	prefix := func(name string) ([]byte, bool) {
		w := lowerWire(name)
		if w == "" || !z.inZone(w) {
			return nil, false
		}
		// The case as configured is what the resolver packs.
		var buf [256]byte
		n, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
		if err != nil {
			return nil, false
		}
		return append([]byte(nil), buf[:n-len(z.wire)]...), true
	}
	mp, ok1 := prefix(z.soaNeg.Ns)
	rp, ok2 := prefix(z.soaNeg.Mbox)
	if !ok1 || !ok2 {
		return
	}
	rdlen := len(mp) + 2 + len(rp) + 2 + 20
	t := &nxTemplate{mprefix: mp, rprefix: rp, fixed: make([]byte, 10), nums: make([]byte, 20)}
	binary.BigEndian.PutUint16(t.fixed[0:], dns.TypeSOA)
	binary.BigEndian.PutUint16(t.fixed[2:], dns.ClassINET)
	binary.BigEndian.PutUint32(t.fixed[4:], z.soaNeg.Hdr.Ttl)
	binary.BigEndian.PutUint16(t.fixed[8:], uint16(rdlen)) //nolint:gosec // < 600
	for i, v := range []uint32{z.soaNeg.Serial, z.soaNeg.Refresh, z.soaNeg.Retry, z.soaNeg.Expire, z.soaNeg.Minttl} {
		binary.BigEndian.PutUint32(t.nums[4*i:], v)
	}
	z.nx = t
}

// fastNXDomain answers a name that does not exist in z, with no wildcard
// and no delegation above it, from the zone's NXDOMAIN template.
func (s *Server) fastNXDomain(z *zone, p, w []byte, q fastQuery, out []byte, tcp bool) ([]byte, bool) {
	if z.nx == nil || len(w)-len(z.wire)+12 > 0x3fff {
		return nil, false
	}
	// The closest encloser, and no zone cut on the way to the apex.
	var ce []byte
	for x := w[1+int(w[0]):]; len(x) > len(z.wire); x = x[1+int(x[0]):] {
		if n := z.nodes[string(x)]; n != nil {
			if n.deleg {
				return nil, false
			}
			if ce == nil {
				ce = x
			}
		}
	}
	if ce == nil {
		ce = w[len(w)-len(z.wire):]
	}
	var wc [258]byte
	wc[0], wc[1] = 1, '*'
	k := 2 + copy(wc[2:], ce)
	if z.nodes[string(wc[:k])] != nil {
		return nil, false // a wildcard answers
	}
	t := z.nx
	size := 12 + q.qlen + 4 + 2 + len(t.fixed) + len(t.mprefix) + 2 + len(t.rprefix) + 2 + len(t.nums)
	if q.edns {
		size += 11
	}
	if !tcp && size > q.size {
		return nil, false
	}
	var ar byte
	if q.edns {
		ar = 1
	}
	out = append(out[:0], p[0], p[1], 0x84|(p[2]&0x01), byte(dns.RcodeNameError)|(p[3]&0x10), 0, 1, 0, 0, 0, 1, 0, ar)
	out = append(out, p[12:12+q.qlen+4]...)
	apex := 12 + q.qlen - len(z.wire)
	ptr0, ptr1 := byte(0xc0|apex>>8), byte(apex)
	out = append(out, ptr0, ptr1)
	out = append(out, t.fixed...)
	out = append(out, t.mprefix...)
	out = append(out, ptr0, ptr1)
	out = append(out, t.rprefix...)
	out = append(out, ptr0, ptr1)
	out = append(out, t.nums...)
	if q.edns {
		var do byte
		if q.do {
			do = 0x80
		}
		out = append(out, 0, 0, byte(dns.TypeOPT), byte(ednsSize>>8), byte(ednsSize&0xff), 0, 0, do, 0, 0, 0)
	}
	z.counters.inc(q.qtype, dns.RcodeNameError)
	return out, true
}

// buildTemplates precompiles the answers of every node of z.
func (z *zone) buildTemplates() {
	z.buildNX()
	for _, n := range z.nodes {
		if n.cname != nil {
			for _, t := range append([]uint16{dns.TypeCNAME}, fastTypes...) {
				n.addTemplate(z, t)
			}
			continue
		}
		for _, s := range n.sets {
			n.addTemplate(z, s.t)
		}
		// NULL is never served, so its answer is the NODATA (or referral)
		// every absent type gets.
		n.other = z.template(n.name, dns.TypeNULL)
	}
}

func (n *node) addTemplate(z *zone, t uint16) {
	if tp := z.template(n.name, t); tp != nil {
		n.tmpl = append(n.tmpl, typedTemplate{t, tp})
	}
}

func (z *zone) template(name string, t uint16) *template {
	m := new(dns.Msg)
	m.Response = true
	m.Question = []dns.Question{{Name: name, Qtype: t, Qclass: dns.ClassINET}}
	z.resolve(m, name, t)
	m.Compress = true
	b, err := m.Pack()
	if err != nil || len(b) > dns.MaxMsgSize-11 {
		return nil
	}
	return &template{wire: b, qlen: len(lowerWire(name)), rcode: m.Rcode}
}

// lookupTemplate finds the template for qtype at n.
func (n *node) lookupTemplate(qtype uint16) *template {
	for i := range n.tmpl {
		if n.tmpl[i].t == qtype {
			return n.tmpl[i].template
		}
	}
	if n.cname != nil || (n.deleg && qtype == dns.TypeDS) {
		return nil
	}
	return n.other
}

// fastQuery is what the fast path reads from a query packet.
type fastQuery struct {
	qlen  int // wire length of the question name
	qtype uint16
	edns  bool
	do    bool
	size  int // client's UDP payload size (EDNS), else 512
}

// parseFast reads a plain query: QR=0, opcode QUERY, one question of class
// IN with an uncompressed name, nothing else but an optional EDNS0 OPT of
// version 0. The lower-case question name is written to lname. Anything
// else is for the full parser.
func parseFast(p []byte, lname *[256]byte) (fastQuery, bool) {
	var q fastQuery
	if len(p) < 17 || p[2]&0xFA != 0 || p[3]&0x0F != 0 {
		// QR, opcode, TC set, or an rcode in a query.
		return q, false
	}
	if binary.BigEndian.Uint32(p[4:8]) != 0x00010000 || p[8] != 0 || p[9] != 0 || p[10] != 0 || p[11] > 1 {
		return q, false
	}
	off := 12
	for {
		if off >= len(p) {
			return q, false
		}
		l := int(p[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 || off+1+l >= len(p) || off+1+l-12 > 254 {
			return q, false
		}
		off += 1 + l
	}
	q.qlen = off - 12
	copy(lname[:], p[12:off])
	lowerASCII(lname[:q.qlen])
	if off+4 > len(p) {
		return q, false
	}
	q.qtype = binary.BigEndian.Uint16(p[off:])
	if binary.BigEndian.Uint16(p[off+2:]) != dns.ClassINET {
		return q, false
	}
	off += 4
	q.size = dns.MinMsgSize
	if p[11] == 1 {
		// OPT: root name, type 41, class = size, ext rcode 0, version 0.
		if off+11 > len(p) || p[off] != 0 || binary.BigEndian.Uint16(p[off+1:]) != dns.TypeOPT || p[off+5] != 0 || p[off+6] != 0 {
			return q, false
		}
		rdlen := int(binary.BigEndian.Uint16(p[off+9:]))
		if off+11+rdlen != len(p) {
			return q, false
		}
		q.edns = true
		q.do = p[off+7]&0x80 != 0
		q.size = min(max(int(binary.BigEndian.Uint16(p[off+3:])), dns.MinMsgSize), maxUDP)
		off += 11 + rdlen
	}
	if off != len(p) {
		return q, false
	}
	switch {
	case q.qtype == dns.TypeANY, q.qtype >= 128 && q.qtype <= 255, q.qtype == dns.TypeOPT, q.qtype == 0:
		return q, false
	}
	return q, true
}

// fast answers p from a template into out, or reports false.
func (s *Server) fast(snap *snapshot, p []byte, out []byte, tcp bool) ([]byte, bool) {
	var lname [256]byte
	q, ok := parseFast(p, &lname)
	if !ok {
		return nil, false
	}
	w := lname[:q.qlen]
	var z *zone
	for x := w; len(x) > 0; x = x[1+int(x[0]):] {
		if z = snap.zones[string(x)]; z != nil || x[0] == 0 {
			break
		}
	}
	if z == nil {
		return nil, false
	}
	n := z.nodes[string(w)]
	if n == nil {
		return s.fastNXDomain(z, p, w, q, out, tcp)
	}
	t := n.lookupTemplate(q.qtype)
	if t == nil || t.qlen != q.qlen {
		return nil, false
	}
	size := len(t.wire)
	if q.edns {
		size += 11
	}
	limit := dns.MaxMsgSize
	if !tcp {
		limit = q.size
	}
	if size > limit {
		return nil, false
	}
	out = append(out[:0], t.wire...)
	out[0], out[1] = p[0], p[1]
	out[2] |= p[2] & 0x01 // RD
	out[3] |= p[3] & 0x10 // CD
	copy(out[12:12+q.qlen], p[12:12+q.qlen])
	out[12+q.qlen], out[13+q.qlen] = byte(q.qtype>>8), byte(q.qtype)
	if q.edns {
		ar := binary.BigEndian.Uint16(out[10:]) + 1
		binary.BigEndian.PutUint16(out[10:], ar)
		var do byte
		if q.do {
			do = 0x80
		}
		out = append(out, 0, 0, byte(dns.TypeOPT), byte(ednsSize>>8), byte(ednsSize&0xff), 0, 0, do, 0, 0, 0)
	}
	z.counters.inc(q.qtype, t.rcode)
	return out, true
}
