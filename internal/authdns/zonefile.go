package authdns

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// MaxImportRecords bounds one zone file import ($GENERATE included).
const MaxImportRecords = 50000

// ZoneFileError is an import error with the line it was found on.
type ZoneFileError struct {
	Line int
	Err  error
}

func (e *ZoneFileError) Error() string {
	if e.Line <= 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *ZoneFileError) Unwrap() error { return e.Err }

// ZoneFile is a parsed RFC 1035 zone file for one zone.
type ZoneFile struct {
	// SOA is set when the file has the apex SOA; Serial and TTL come with it.
	SOA    *SOA
	Serial uint32
	TTL    uint32
	// Nameservers are the apex NS targets (fully qualified).
	Nameservers []string
	// Records are the other records, normalized, without duplicates.
	Records []Record
	// Lines[i] is the line Records[i] came from.
	Lines []int
}

var parseErrRE = regexp.MustCompile(`^(?:.*?: )?dns: (.*) at line: (\d+):\d+$`)

// ParseZoneFile reads zone file text for zone z (the origin is the zone;
// $ORIGIN, $TTL and $GENERATE work, $INCLUDE is refused). Every record is
// validated as the API validates it; the first problem is returned as a
// *ZoneFileError with its line.
func ParseZoneFile(z *Zone, text []byte) (*ZoneFile, error) {
	entries := splitEntries(text)
	total := 0
	for _, e := range entries {
		total += e.count
		if total > MaxImportRecords {
			return nil, &ZoneFileError{Line: e.line, Err: fmt.Errorf("more than %d records", MaxImportRecords)}
		}
	}
	zp := dns.NewZoneParser(bytes.NewReader(text), z.Fqdn(), "")
	zp.SetDefaultTTL(z.TTL)
	zp.SetIncludeAllowed(false)
	out := &ZoneFile{}
	seen := map[string]int{}  // identity → index in Records
	first := map[string]int{} // label → index of its first record
	ei, left := 0, 0          // current entry and RRs it still owns
	nextLine := func() int {
		for left == 0 && ei < len(entries) {
			left = entries[ei].count
			ei++
		}
		if left == 0 {
			return 0
		}
		left--
		return entries[ei-1].line
	}
	n := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		line := nextLine()
		if n++; n > MaxImportRecords {
			return nil, &ZoneFileError{Line: line, Err: fmt.Errorf("more than %d records", MaxImportRecords)}
		}
		fail := func(err error) error { return &ZoneFileError{Line: line, Err: err} }
		h := rr.Header()
		apex := strings.EqualFold(h.Name, z.Fqdn())
		switch v := rr.(type) {
		case *dns.SOA:
			if !apex {
				return nil, fail(fmt.Errorf("SOA owner %s is not the zone apex %s", h.Name, z.Fqdn()))
			}
			if out.SOA != nil {
				return nil, fail(errors.New("a second SOA record"))
			}
			out.SOA = &SOA{MName: v.Ns, RName: v.Mbox, Refresh: v.Refresh, Retry: v.Retry, Expire: v.Expire, Minimum: v.Minttl}
			out.Serial, out.TTL = v.Serial, h.Ttl
			continue
		case *dns.NS:
			if apex {
				ns, err := absName(v.Ns, z.Fqdn())
				if err != nil {
					return nil, fail(fmt.Errorf("NS: %v", err))
				}
				if !slices.ContainsFunc(out.Nameservers, func(s string) bool { return strings.EqualFold(s, ns) }) {
					out.Nameservers = append(out.Nameservers, ns)
				}
				continue
			}
		}
		rec, err := recordFromRR(rr, z)
		if err != nil {
			return nil, fail(err)
		}
		if err := rec.Normalize(z); err != nil {
			return nil, fail(fmt.Errorf("%s %s: %v", h.Name, dns.TypeToString[h.Rrtype], err))
		}
		id, err := rec.Identity(z)
		if err != nil {
			return nil, fail(err)
		}
		if _, dup := seen[id]; dup {
			continue // RFC 2181 5: duplicates collapse
		}
		// A CNAME stands alone at its name. So a name's records are either
		// one CNAME or no CNAME at all, and checking the first record of
		// the name is enough (a scan of all of them made an import of
		// many records at one name quadratic).
		if j, ok := first[rec.Label]; ok {
			if o := out.Records[j]; o.Type == "CNAME" || rec.Type == "CNAME" {
				return nil, fail(fmt.Errorf("a CNAME may not share its name with other data: %s has %s (line %d) and %s", rec.Name(z.Fqdn()), o.Type, out.Lines[j], rec.Type))
			}
		} else {
			first[rec.Label] = len(out.Records)
		}
		seen[id] = len(out.Records)
		out.Records = append(out.Records, rec)
		out.Lines = append(out.Lines, line)
	}
	if err := zp.Err(); err != nil {
		msg, line := err.Error(), 0
		if m := parseErrRE.FindStringSubmatch(msg); m != nil {
			msg = m[1]
			line, _ = strconv.Atoi(m[2])
		}
		return nil, &ZoneFileError{Line: line, Err: errors.New(msg)}
	}
	return out, nil
}

// entry is one logical line of a zone file: an RR (count 1), a directive
// (count 0) or a $GENERATE (count = the RRs it makes).
type entry struct {
	line  int
	count int
}

// splitEntries finds where each logical record of a zone file starts, so
// that the n-th RR miekg/dns returns can be given its line. It follows the
// same lexical rules: ';' comments, quoted strings with '\' escapes, and
// parentheses that join lines.
func splitEntries(text []byte) []entry {
	var out []entry
	line, depth := 1, 0
	inQuote, inComment := false, false
	var cur []byte // tokens of the current logical entry (first few bytes)
	start := 0
	flush := func() {
		t := strings.Fields(string(cur))
		cur = cur[:0]
		if len(t) == 0 {
			return
		}
		e := entry{line: start, count: 1}
		if strings.HasPrefix(t[0], "$") {
			e.count = 0
			if strings.EqualFold(t[0], "$GENERATE") && len(t) > 1 {
				e.count = generateCount(t[1])
			}
		}
		out = append(out, e)
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inComment {
			if c != '\n' {
				continue
			}
			inComment = false
		}
		switch {
		case c == '\\' && i+1 < len(text):
			if len(bytes.TrimSpace(cur)) == 0 {
				start = line
			}
			if len(cur) < 64 {
				cur = append(cur, c, text[i+1])
			}
			if text[i+1] == '\n' {
				line++
			}
			i++
			continue
		case inQuote:
			if c == '"' {
				inQuote = false
			}
			if c == '\n' {
				line++
			}
			continue
		case c == '"':
			inQuote = true
		case c == ';':
			inComment = true
			continue
		case c == '(':
			depth++
			continue
		case c == ')':
			if depth > 0 {
				depth--
			}
			continue
		case c == '\n':
			if depth == 0 {
				flush()
			}
			line++
			continue
		}
		if c != ' ' && c != '\t' && c != '\r' && len(bytes.TrimSpace(cur)) == 0 {
			start = line
		}
		if len(cur) < 64 {
			cur = append(cur, c)
		}
	}
	flush()
	return out
}

// generateCount is how many RRs a $GENERATE range "start-stop[/step]" makes.
func generateCount(r string) int {
	rng, stepS, hasStep := strings.Cut(r, "/")
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0
	}
	start, err1 := strconv.Atoi(a)
	stop, err2 := strconv.Atoi(b)
	step := 1
	if hasStep {
		s, err := strconv.Atoi(stepS)
		if err != nil || s <= 0 {
			return 0
		}
		step = s
	}
	if err1 != nil || err2 != nil || stop < start || start < 0 {
		return 0
	}
	return (stop-start)/step + 1
}

// ExportZone writes the zone as an RFC 1035 zone file: $ORIGIN, $TTL, the
// SOA, the apex NS records, then every record in canonical name order,
// with fully qualified names so the text means the same anywhere.
// Records that do not build are left out with a comment.
func ExportZone(z *Zone, records []Record) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "; zone %s, serial %d, exported by Stargate\n", z.Name, z.Serial)
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL %d\n", z.Fqdn(), z.TTL)
	b.WriteString(soaRR(z).String())
	b.WriteByte('\n')
	for _, ns := range apexNS(z) {
		b.WriteString(ns.String())
		b.WriteByte('\n')
	}
	type item struct {
		key []string
		t   uint16
		s   string
	}
	var items []item
	for i := range records {
		rr, err := records[i].rr(z)
		if err != nil {
			fmt.Fprintf(&b, "; record %s left out: %v\n", records[i].ID, err)
			continue
		}
		items = append(items, item{key: reversedLabels(rr.Header().Name), t: rr.Header().Rrtype, s: rr.String()})
	}
	slices.SortStableFunc(items, func(a, c item) int {
		if d := slices.Compare(a.key, c.key); d != 0 {
			return d
		}
		if a.t != c.t {
			return int(a.t) - int(c.t)
		}
		return strings.Compare(a.s, c.s)
	})
	for _, it := range items {
		b.WriteString(it.s)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func reversedLabels(name string) []string {
	l := dns.SplitDomainName(strings.ToLower(name))
	slices.Reverse(l)
	return l
}

// soaRR is the zone's SOA record.
func soaRR(z *Zone) *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: z.Fqdn(), Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: z.TTL},
		Ns:      z.SOA.MName,
		Mbox:    z.SOA.RName,
		Serial:  z.Serial,
		Refresh: z.SOA.Refresh,
		Retry:   z.SOA.Retry,
		Expire:  z.SOA.Expire,
		Minttl:  z.SOA.Minimum,
	}
}

// apexNS are the zone's NS records.
func apexNS(z *Zone) []dns.RR {
	out := make([]dns.RR, 0, len(z.Nameservers))
	for _, ns := range z.Nameservers {
		out = append(out, &dns.NS{Hdr: dns.RR_Header{Name: z.Fqdn(), Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: z.TTL}, Ns: ns})
	}
	return out
}
