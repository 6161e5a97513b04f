package authdns

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// Types lists the record types the API accepts, in display order.
var Types = []string{"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "CAA", "PTR"}

// reverseTypes are the only types a reverse zone takes.
var reverseTypes = map[string]bool{"PTR": true, "NS": true, "TXT": true, "CNAME": true}

// Record is one resource record as the API shows it and the store keeps it.
type Record struct {
	ID string `json:"id,omitempty"`
	// Label is the owner relative to the zone: "@" for the apex, "www",
	// "*" or "*.dev" for wildcards.
	Label string `json:"label"`
	Type  string `json:"type"`
	// TTL 0 means the zone's TTL.
	TTL   uint32 `json:"ttl"`
	Value string `json:"value"`
	// Priority is MX preference or SRV priority.
	Priority *uint16 `json:"priority,omitempty"`
	Weight   *uint16 `json:"weight,omitempty"`
	Port     *uint16 `json:"port,omitempty"`
	// Flags and Tag are CAA's.
	Flags      *uint8 `json:"flags,omitempty"`
	Tag        string `json:"tag,omitempty"`
	CreateTime int64  `json:"create_time,omitempty"`
	UpdateTime int64  `json:"update_time,omitempty"`
}

// Name is the record's fully qualified owner name in zone z.
func (r *Record) Name(zoneFqdn string) string {
	if r.Label == "@" || r.Label == "" {
		return zoneFqdn
	}
	return r.Label + "." + zoneFqdn
}

// Normalize checks a record for zone z and puts it in canonical form
// (label relative and lower case, type upper case, names fully qualified,
// addresses in their shortest form, the zone's TTL when none is given). It
// validates by building the RR the record describes and packing it. The
// error says what is wrong, for the API to show.
func (r *Record) Normalize(z *Zone) error {
	_, err := r.build(z, true)
	return err
}

// RR builds the record's RR (after Normalize); for the server and export.
func (r *Record) rr(z *Zone) (dns.RR, error) { return r.build(z, false) }

func (r *Record) build(z *Zone, normalize bool) (dns.RR, error) {
	origin := z.Fqdn()
	t := strings.ToUpper(strings.TrimSpace(r.Type))
	if t == "" {
		return nil, errors.New("type is required")
	}
	known := false
	for _, k := range Types {
		known = known || k == t
	}
	if !known {
		return nil, fmt.Errorf("type %q is not supported (supported: %s)", r.Type, strings.Join(Types, ", "))
	}
	if z.Reverse() && !reverseTypes[t] {
		return nil, fmt.Errorf("type %s is not allowed in a reverse zone (PTR, NS, TXT and CNAME only)", t)
	}
	if !z.Reverse() && t == "PTR" {
		return nil, errors.New("type PTR is only allowed in reverse zones (in-addr.arpa, ip6.arpa)")
	}
	label, err := canonicalLabel(r.Label, origin)
	if err != nil {
		return nil, err
	}
	if label == "@" {
		switch t {
		case "CNAME":
			return nil, errors.New("a CNAME is not allowed at the zone apex (it holds SOA and NS)")
		case "NS":
			return nil, errors.New("NS records at the apex are the zone's nameservers: change them with PATCH on the zone")
		}
	}
	if strings.HasPrefix(label, "*") && t == "NS" {
		return nil, errors.New("a wildcard may not own NS records")
	}
	ttl := r.TTL
	if ttl == 0 {
		ttl = z.TTL
	}
	if ttl < 1 || ttl > MaxTTL {
		return nil, fmt.Errorf("ttl %d is out of range (1 to %d)", r.TTL, MaxTTL)
	}
	// Fields that do not belong to the type are refused.
	check := func(name string, set bool, allowed ...string) error {
		if !set {
			return nil
		}
		for _, a := range allowed {
			if a == t {
				return nil
			}
		}
		return fmt.Errorf("%s is not a field of %s records", name, t)
	}
	if err := errors.Join(
		check("priority", r.Priority != nil, "MX", "SRV"),
		check("weight", r.Weight != nil, "SRV"),
		check("port", r.Port != nil, "SRV"),
		check("flags", r.Flags != nil, "CAA"),
		check("tag", r.Tag != "", "CAA"),
	); err != nil {
		return nil, err
	}
	owner := origin
	if label != "@" {
		owner = label + "." + origin
	}
	hdr := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: ttl}
	value := r.Value
	var rr dns.RR
	name := func() (string, error) {
		if strings.TrimSpace(value) == "" {
			return "", fmt.Errorf("%s value must be a domain name", t)
		}
		n, err := absName(value, origin)
		if err != nil {
			return "", fmt.Errorf("%s value: %v", t, err)
		}
		value = n
		return n, nil
	}
	need := func(field string, p *uint16) (uint16, error) {
		if p == nil {
			return 0, fmt.Errorf("%s records need %s", t, field)
		}
		return *p, nil
	}
	switch t {
	case "A", "AAAA":
		a, err := netip.ParseAddr(strings.TrimSpace(value))
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%s value %q is not an IP address", t, r.Value)
		}
		if t == "A" && !a.Is4() {
			return nil, fmt.Errorf("A value %q is not an IPv4 address", r.Value)
		}
		if t == "AAAA" && !a.Is6() {
			return nil, fmt.Errorf("AAAA value %q is not an IPv6 address", r.Value)
		}
		value = a.String()
		if t == "A" {
			hdr.Rrtype = dns.TypeA
			rr = &dns.A{Hdr: hdr, A: a.AsSlice()}
		} else {
			hdr.Rrtype = dns.TypeAAAA
			rr = &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()}
		}
	case "CNAME":
		n, err := name()
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(n, owner) {
			return nil, errors.New("a CNAME may not point to itself")
		}
		hdr.Rrtype = dns.TypeCNAME
		rr = &dns.CNAME{Hdr: hdr, Target: n}
	case "NS":
		n, err := name()
		if err != nil {
			return nil, err
		}
		hdr.Rrtype = dns.TypeNS
		rr = &dns.NS{Hdr: hdr, Ns: n}
	case "PTR":
		n, err := name()
		if err != nil {
			return nil, err
		}
		hdr.Rrtype = dns.TypePTR
		rr = &dns.PTR{Hdr: hdr, Ptr: n}
	case "MX":
		p, err := need("priority", r.Priority)
		if err != nil {
			return nil, err
		}
		n, err := name()
		if err != nil {
			return nil, err
		}
		hdr.Rrtype = dns.TypeMX
		rr = &dns.MX{Hdr: hdr, Preference: p, Mx: n}
	case "SRV":
		p, err := need("priority", r.Priority)
		if err != nil {
			return nil, err
		}
		w, err := need("weight", r.Weight)
		if err != nil {
			return nil, err
		}
		port, err := need("port", r.Port)
		if err != nil {
			return nil, err
		}
		n, err := name()
		if err != nil {
			return nil, err
		}
		hdr.Rrtype = dns.TypeSRV
		rr = &dns.SRV{Hdr: hdr, Priority: p, Weight: w, Port: port, Target: n}
	case "TXT":
		if !utf8.ValidString(value) {
			return nil, errors.New("TXT value is not valid UTF-8")
		}
		if len(value) > 16384 {
			return nil, fmt.Errorf("TXT value is %d bytes long (at most 16384)", len(value))
		}
		hdr.Rrtype = dns.TypeTXT
		rr = &dns.TXT{Hdr: hdr, Txt: txtChunks(value)}
	case "CAA":
		if r.Tag == "" {
			return nil, errors.New("CAA records need tag (issue, issuewild, iodef, ...)")
		}
		for i := 0; i < len(r.Tag); i++ {
			c := r.Tag[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return nil, fmt.Errorf("CAA tag %q may hold only letters and digits", r.Tag)
			}
		}
		if len(r.Tag) > 15 {
			return nil, fmt.Errorf("CAA tag %q is longer than 15 characters", r.Tag)
		}
		if !utf8.ValidString(value) || len(value) > 4096 {
			return nil, errors.New("CAA value must be UTF-8 text of at most 4096 bytes")
		}
		var flags uint8
		if r.Flags != nil {
			flags = *r.Flags
		}
		hdr.Rrtype = dns.TypeCAA
		rr = &dns.CAA{Hdr: hdr, Flag: flags, Tag: r.Tag, Value: escapeOctets(value)}
	}
	// Build it for real: pack to wire and parse the text form back.
	buf := make([]byte, dns.Len(rr)+64)
	if _, err := dns.PackRR(rr, buf, 0, nil, false); err != nil {
		return nil, fmt.Errorf("%s record does not build: %v", t, err)
	}
	if _, err := dns.NewRR(rr.String()); err != nil {
		return nil, fmt.Errorf("%s record does not parse back: %v", t, err)
	}
	if normalize {
		r.Label, r.Type, r.Value, r.TTL = label, t, value, ttl
	}
	return rr, nil
}

// canonicalLabel turns an owner given relative ("www", "@", "*.dev") or
// fully qualified ("www.example.com." or "www.example.com" inside the zone)
// into the relative lower-case form.
//
// A name that repeats the zone's name (www.example.com.example.com in
// example.com) is refused: its relative form, "www.example.com", reads
// as www.example.com when given again, so a stored record would move to
// another name (or to the apex) when rebuilt. Such names are nearly
// always a zone file's missing trailing dot.
func canonicalLabel(l, origin string) (string, error) {
	l = strings.ToLower(strings.TrimSpace(l))
	zone := strings.TrimSuffix(origin, ".")
	in := l
	switch {
	case l == "" || l == "@" || l == zone || l == origin:
		return "@", nil
	case strings.HasSuffix(l, "."+origin):
		l = strings.TrimSuffix(l, "."+origin)
	case strings.HasSuffix(l, "."):
		return "", fmt.Errorf("label %q is outside the zone %s", l, zone)
	case strings.HasSuffix(l, "."+zone):
		l = strings.TrimSuffix(l, "."+zone)
	}
	if l == zone || strings.HasSuffix(l, "."+zone) { // only after a cut above
		return "", fmt.Errorf("label %q names %s.%s, which repeats the zone's name: not supported (a missing trailing dot?)", in, l, origin)
	}
	if len(l)+len(origin) > 254 {
		return "", fmt.Errorf("label %q makes a name longer than 253 characters", l)
	}
	labels := strings.Split(l, ".")
	for i, p := range labels {
		if p == "" {
			return "", fmt.Errorf("label %q has an empty part", l)
		}
		if len(p) > 63 {
			return "", fmt.Errorf("label %q has a part longer than 63 characters", l)
		}
		if p == "*" {
			if i != 0 {
				return "", fmt.Errorf("label %q: a wildcard '*' must be the leftmost part", l)
			}
			continue
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/') {
				return "", fmt.Errorf("label %q may hold only letters, digits, '-', '_', '/' and a leading '*'", l)
			}
		}
	}
	return l, nil
}

// txtChunks splits text into character-strings of at most 255 bytes, in
// miekg/dns's escaped form.
func txtChunks(s string) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for len(s) > 0 {
		n := min(len(s), 255)
		out = append(out, escapeOctets(s[:n]))
		s = s[n:]
	}
	return out
}

// escapeOctets escapes the bytes miekg/dns interprets in TXT/CAA strings.
func escapeOctets(s string) string {
	if !strings.ContainsRune(s, '\\') {
		return s
	}
	return strings.ReplaceAll(s, `\`, `\\`)
}

// unescapeOctets undoes miekg/dns's escaping (\X and \DDD) of a string.
func unescapeOctets(s string) string {
	if !strings.ContainsRune(s, '\\') {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		if i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			v, _ := strconv.Atoi(s[i : i+3])
			b.WriteByte(byte(v)) //nolint:gosec // \DDD is at most 999; truncation is miekg's behaviour too
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// recordFromRR converts a parsed RR of zone z into a Record (for zone file
// import). It does not validate; Normalize does.
func recordFromRR(rr dns.RR, z *Zone) (Record, error) {
	h := rr.Header()
	if h.Class != dns.ClassINET {
		return Record{}, fmt.Errorf("class %s is not supported (IN only)", dns.ClassToString[h.Class])
	}
	owner := strings.ToLower(h.Name)
	origin := z.Fqdn()
	var label string
	switch {
	case owner == origin:
		label = "@"
	case strings.HasSuffix(owner, "."+origin):
		label = strings.TrimSuffix(owner, "."+origin)
	default:
		return Record{}, fmt.Errorf("owner %s is outside the zone %s", h.Name, z.Name)
	}
	r := Record{Label: label, Type: dns.TypeToString[h.Rrtype], TTL: h.Ttl}
	u16 := func(v uint16) *uint16 { return &v }
	switch v := rr.(type) {
	case *dns.A:
		r.Value = v.A.String()
	case *dns.AAAA:
		r.Value = v.AAAA.String()
	case *dns.CNAME:
		r.Value = v.Target
	case *dns.NS:
		r.Value = v.Ns
	case *dns.PTR:
		r.Value = v.Ptr
	case *dns.MX:
		r.Value, r.Priority = v.Mx, u16(v.Preference)
	case *dns.SRV:
		r.Value, r.Priority, r.Weight, r.Port = v.Target, u16(v.Priority), u16(v.Weight), u16(v.Port)
	case *dns.TXT:
		var b strings.Builder
		for _, s := range v.Txt {
			b.WriteString(unescapeOctets(s))
		}
		r.Value = b.String()
	case *dns.CAA:
		f := v.Flag
		r.Flags, r.Tag, r.Value = &f, v.Tag, unescapeOctets(v.Value)
	default:
		return Record{}, fmt.Errorf("type %s is not supported (supported: %s)", dns.TypeToString[h.Rrtype], strings.Join(Types, ", "))
	}
	if r.TTL == 0 {
		// TTL 0 is legal in DNS but not in the API; keep it as 1 second.
		r.TTL = 1
	}
	return r, nil
}

// Identity is what makes two records the same data (owner, type and RDATA,
// names compared without case); TTL and id do not count.
func (r *Record) Identity(z *Zone) (string, error) {
	rr, err := r.rr(z)
	if err != nil {
		return "", err
	}
	return identity(rr), nil
}

func identity(rr dns.RR) string {
	c := dns.Copy(rr)
	h := c.Header()
	h.Ttl = 0
	h.Name = strings.ToLower(h.Name)
	switch v := c.(type) {
	case *dns.CNAME:
		v.Target = strings.ToLower(v.Target)
	case *dns.NS:
		v.Ns = strings.ToLower(v.Ns)
	case *dns.PTR:
		v.Ptr = strings.ToLower(v.Ptr)
	case *dns.MX:
		v.Mx = strings.ToLower(v.Mx)
	case *dns.SRV:
		v.Target = strings.ToLower(v.Target)
	}
	return c.String()
}

// Conflict reports why rec cannot join others in zone z (records already in
// the zone, rec's own previous version excluded by id): a CNAME shares its
// name with no other data (RFC 1034 3.6.2), and the same data twice is
// refused. Both records must be normalized.
func Conflict(z *Zone, rec *Record, others []Record) error {
	id, err := rec.Identity(z)
	if err != nil {
		return err
	}
	for i := range others {
		o := &others[i]
		if o.ID != "" && o.ID == rec.ID {
			continue
		}
		if o.Label != rec.Label {
			continue
		}
		if err := cnameConflict(z, rec, o); err != nil {
			return err
		}
		if o.Type == rec.Type {
			oid, err := o.Identity(z)
			if err == nil && oid == id {
				return fmt.Errorf("record %s already holds the same data (%s %s %s)", o.ID, rec.Name(z.Fqdn()), rec.Type, rec.Value)
			}
		}
	}
	return nil
}

// cnameConflict is the CNAME rule for rec and a record o at the same name.
func cnameConflict(z *Zone, rec, o *Record) error {
	if rec.Type != "CNAME" && o.Type != "CNAME" {
		return nil
	}
	name := rec.Name(z.Fqdn())
	if rec.Type == "CNAME" && o.Type == "CNAME" {
		return fmt.Errorf("%s already has a CNAME (record %s); a name holds one CNAME at most", name, o.ID)
	}
	return fmt.Errorf("a CNAME may not share its name with other data: %s already has a %s record (%s)", name, o.Type, o.ID)
}

// Names indexes records by name for the CNAME rule in bulk inserts (a
// zone file import), where calling Conflict with every record so far
// would be quadratic. Since a name holds either one CNAME or no CNAME,
// checking against the first record at the name is enough. Duplicates are
// the caller's to find (by Identity).
type Names map[string]Record

// Add indexes r (only the first record of each name is kept).
func (n Names) Add(r *Record) {
	if _, ok := n[r.Label]; !ok {
		n[r.Label] = *r
	}
}

// CNAMEConflict reports why rec breaks the CNAME rule against the
// indexed records, with Conflict's messages.
func (n Names) CNAMEConflict(z *Zone, rec *Record) error {
	o, ok := n[rec.Label]
	if !ok {
		return nil
	}
	return cnameConflict(z, rec, &o)
}
