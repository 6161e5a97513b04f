package authdns

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalZoneName(t *testing.T) {
	tests := []struct {
		desc, in, want, err string
	}{
		{"forward", "Example.COM.", "example.com", ""},
		{"reverse v4", "2.0.192.in-addr.arpa", "2.0.192.in-addr.arpa", ""},
		{"reverse v6", "8.b.d.0.1.0.0.2.ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa", ""},
		{"classless reverse", "0-26.2.0.192.in-addr.arpa", "0-26.2.0.192.in-addr.arpa", ""},
		{"unlisted tld", "example.test", "example.test", ""},
		{"tld", "com", "", "top-level domain"},
		{"public suffix", "co.uk", "", "public suffix"},
		{"private public suffix", "github.io", "", "public suffix"},
		{"in-addr.arpa itself", "in-addr.arpa", "", "public suffix"},
		{"ip6.arpa itself", "ip6.arpa", "", "public suffix"},
		{"empty", "", "", "empty"},
		{"empty label", "a..com", "", "empty label"},
		{"bad char", "exa mple.com", "", "letters, digits"},
		{"wildcard", "*.example.com", "", "letters, digits"},
		{"long label", strings.Repeat("a", 64) + ".com", "", "longer than 63"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := CanonicalZoneName(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("CanonicalZoneName(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CanonicalZoneName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNextSerial(t *testing.T) {
	day := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		desc      string
		cur, want uint32
	}{
		{"new zone", 0, 2026030400},
		{"older date", 2025010105, 2026030400},
		{"same day", 2026030400, 2026030401},
		{"ahead of the date", 2026030499, 2026030500},
		{"small counter", 7, 2026030400},
		{"wraps (RFC 1982)", 4294967295, 2026030400},
		{"far ahead", 4000000000, 4000000001},
	}
	for _, tc := range tests {
		if got := NextSerial(tc.cur, day); got != tc.want {
			t.Errorf("%s: NextSerial(%d) = %d, want %d", tc.desc, tc.cur, got, tc.want)
		}
		if !SerialGreater(NextSerial(tc.cur, day), tc.cur) {
			t.Errorf("%s: next serial is not greater in RFC 1982 arithmetic", tc.desc)
		}
	}
}

func TestZoneNormalize(t *testing.T) {
	z := Zone{Name: "Example.com", Secondaries: []string{"192.0.2.1", "[2001:db8::1]:5300"}, AllowTransfer: []string{"10.0.0.0/8", "192.0.2.7"}, SOA: SOA{RName: "dns.admin@example.com"}}
	if err := z.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := Zone{Name: "example.com", TTL: 3600, Nameservers: []string{"ns1.example.com.", "ns2.example.com."},
		SOA:         SOA{MName: "ns1.example.com.", RName: `dns\.admin.example.com.`, Refresh: 3600, Retry: 600, Expire: 1209600, Minimum: 300},
		Secondaries: []string{"192.0.2.1:53", "[2001:db8::1]:5300"}, AllowTransfer: []string{"10.0.0.0/8", "192.0.2.7/32"}}
	if diff := cmp.Diff(want, z); diff != "" {
		t.Errorf("normalized zone (-want +got):\n%s", diff)
	}
	for _, bad := range []Zone{
		{Name: "example.com", Secondaries: []string{"ns.example.net"}},
		{Name: "example.com", AllowTransfer: []string{"any"}},
		{Name: "example.com", Nameservers: []string{"ns1.example.com", "NS1.example.com."}},
		{Name: "example.com", Nameservers: []string{"bad name!"}},
		{Name: "com"},
	} {
		if err := bad.Normalize(); err == nil {
			t.Errorf("%+v: normalized without error", bad)
		}
	}
}

func u16(v uint16) *uint16 { return &v }
func u8(v uint8) *uint8    { return &v }

func TestRecordNormalize(t *testing.T) {
	fwd := Zone{Name: "example.com"}
	rev := Zone{Name: "2.0.192.in-addr.arpa"}
	for _, z := range []*Zone{&fwd, &rev} {
		if err := z.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		desc string
		zone *Zone
		in   Record
		want Record // when err is ""
		err  string
	}{
		{"A", &fwd, Record{Label: "WWW", Type: "a", Value: "192.0.2.10", TTL: 300}, Record{Label: "www", Type: "A", Value: "192.0.2.10", TTL: 300}, ""},
		{"A default ttl", &fwd, Record{Label: "@", Type: "A", Value: "192.0.2.10"}, Record{Label: "@", Type: "A", Value: "192.0.2.10", TTL: 3600}, ""},
		{"fqdn label", &fwd, Record{Label: "www.example.com.", Type: "A", Value: "192.0.2.1"}, Record{Label: "www", Type: "A", Value: "192.0.2.1", TTL: 3600}, ""},
		{"fqdn label without dot", &fwd, Record{Label: "a.b.example.com", Type: "A", Value: "192.0.2.1"}, Record{Label: "a.b", Type: "A", Value: "192.0.2.1", TTL: 3600}, ""},
		{"apex by name", &fwd, Record{Label: "example.com.", Type: "TXT", Value: "x"}, Record{Label: "@", Type: "TXT", Value: "x", TTL: 3600}, ""},
		{"AAAA shortened", &fwd, Record{Label: "v6", Type: "AAAA", Value: "2001:0db8:0000::0001"}, Record{Label: "v6", Type: "AAAA", Value: "2001:db8::1", TTL: 3600}, ""},
		{"CNAME made absolute", &fwd, Record{Label: "alias", Type: "CNAME", Value: "www.example.net"}, Record{Label: "alias", Type: "CNAME", Value: "www.example.net.", TTL: 3600}, ""},
		{"MX", &fwd, Record{Label: "@", Type: "MX", Value: "mail.example.com.", Priority: u16(10)}, Record{Label: "@", Type: "MX", Value: "mail.example.com.", Priority: u16(10), TTL: 3600}, ""},
		{"null MX", &fwd, Record{Label: "@", Type: "MX", Value: ".", Priority: u16(0)}, Record{Label: "@", Type: "MX", Value: ".", Priority: u16(0), TTL: 3600}, ""},
		{"SRV", &fwd, Record{Label: "_sip._tcp", Type: "SRV", Value: "sip.example.com", Priority: u16(1), Weight: u16(2), Port: u16(5060)}, Record{Label: "_sip._tcp", Type: "SRV", Value: "sip.example.com.", Priority: u16(1), Weight: u16(2), Port: u16(5060), TTL: 3600}, ""},
		{"CAA", &fwd, Record{Label: "@", Type: "CAA", Tag: "issue", Value: "letsencrypt.org"}, Record{Label: "@", Type: "CAA", Tag: "issue", Value: "letsencrypt.org", TTL: 3600}, ""},
		{"CAA flags", &fwd, Record{Label: "@", Type: "CAA", Tag: "iodef", Flags: u8(128), Value: "mailto:a@example.com"}, Record{Label: "@", Type: "CAA", Tag: "iodef", Flags: u8(128), Value: "mailto:a@example.com", TTL: 3600}, ""},
		{"TXT long", &fwd, Record{Label: "t", Type: "TXT", Value: strings.Repeat("x", 600)}, Record{Label: "t", Type: "TXT", Value: strings.Repeat("x", 600), TTL: 3600}, ""},
		{"TXT quotes", &fwd, Record{Label: "t", Type: "TXT", Value: `a "b" \c`}, Record{Label: "t", Type: "TXT", Value: `a "b" \c`, TTL: 3600}, ""},
		{"wildcard", &fwd, Record{Label: "*.dev", Type: "A", Value: "192.0.2.1"}, Record{Label: "*.dev", Type: "A", Value: "192.0.2.1", TTL: 3600}, ""},
		{"delegation", &fwd, Record{Label: "sub", Type: "NS", Value: "ns.sub.example.com."}, Record{Label: "sub", Type: "NS", Value: "ns.sub.example.com.", TTL: 3600}, ""},
		{"PTR", &rev, Record{Label: "10", Type: "PTR", Value: "www.example.com"}, Record{Label: "10", Type: "PTR", Value: "www.example.com.", TTL: 3600}, ""},
		{"reverse TXT", &rev, Record{Label: "10", Type: "TXT", Value: "x"}, Record{Label: "10", Type: "TXT", Value: "x", TTL: 3600}, ""},

		{"A not IPv4", &fwd, Record{Label: "www", Type: "A", Value: "2001:db8::1"}, Record{}, "not an IPv4 address"},
		{"A garbage", &fwd, Record{Label: "www", Type: "A", Value: "192.0.2.1 ; x"}, Record{}, "not an IP address"},
		{"AAAA not IPv6", &fwd, Record{Label: "www", Type: "AAAA", Value: "192.0.2.1"}, Record{}, "not an IPv6 address"},
		{"unknown type", &fwd, Record{Label: "www", Type: "HINFO", Value: "x"}, Record{}, "not supported"},
		{"no type", &fwd, Record{Label: "www", Value: "x"}, Record{}, "type is required"},
		{"PTR in forward zone", &fwd, Record{Label: "x", Type: "PTR", Value: "a.example.com."}, Record{}, "only allowed in reverse zones"},
		{"A in reverse zone", &rev, Record{Label: "10", Type: "A", Value: "192.0.2.1"}, Record{}, "not allowed in a reverse zone"},
		{"CNAME at apex", &fwd, Record{Label: "@", Type: "CNAME", Value: "www.example.net."}, Record{}, "not allowed at the zone apex"},
		{"NS at apex", &fwd, Record{Label: "@", Type: "NS", Value: "ns3.example.net."}, Record{}, "nameservers"},
		{"CNAME to itself", &fwd, Record{Label: "loop", Type: "CNAME", Value: "loop.example.com."}, Record{}, "itself"},
		{"MX without priority", &fwd, Record{Label: "@", Type: "MX", Value: "mail.example.com."}, Record{}, "need priority"},
		{"SRV without port", &fwd, Record{Label: "_s._tcp", Type: "SRV", Value: "h.example.com.", Priority: u16(1), Weight: u16(1)}, Record{}, "need port"},
		{"priority on A", &fwd, Record{Label: "www", Type: "A", Value: "192.0.2.1", Priority: u16(1)}, Record{}, "priority is not a field of A"},
		{"tag on TXT", &fwd, Record{Label: "www", Type: "TXT", Value: "x", Tag: "issue"}, Record{}, "tag is not a field of TXT"},
		{"CAA without tag", &fwd, Record{Label: "@", Type: "CAA", Value: "x"}, Record{}, "need tag"},
		{"CAA bad tag", &fwd, Record{Label: "@", Type: "CAA", Tag: "is sue", Value: "x"}, Record{}, "letters and digits"},
		{"label outside zone", &fwd, Record{Label: "www.example.net.", Type: "A", Value: "192.0.2.1"}, Record{}, "outside the zone"},
		{"label repeats the zone", &fwd, Record{Label: "eXAmple.Com.eXAmple.Com", Type: "CNAME", Value: "."}, Record{}, "repeats the zone's name"},
		{"name repeats the zone", &fwd, Record{Label: "www.example.com.example.com.", Type: "A", Value: "192.0.2.1"}, Record{}, "repeats the zone's name"},
		{"label bad char", &fwd, Record{Label: "a b", Type: "A", Value: "192.0.2.1"}, Record{}, "may hold only"},
		{"wildcard in the middle", &fwd, Record{Label: "a.*.b", Type: "A", Value: "192.0.2.1"}, Record{}, "leftmost"},
		{"wildcard NS", &fwd, Record{Label: "*", Type: "NS", Value: "ns.example.net."}, Record{}, "wildcard may not own NS"},
		{"label too long", &fwd, Record{Label: strings.Repeat("a", 64), Type: "A", Value: "192.0.2.1"}, Record{}, "longer than 63"},
		{"name too long", &fwd, Record{Label: strings.Repeat("abcdefghij.", 24) + "x", Type: "A", Value: "192.0.2.1"}, Record{}, "longer than 253"},
		{"bad target", &fwd, Record{Label: "x", Type: "CNAME", Value: "a..b"}, Record{}, "not a domain name"},
		{"empty target", &fwd, Record{Label: "x", Type: "NS", Value: ""}, Record{}, "must be a domain name"},
		{"ttl too large", &fwd, Record{Label: "x", Type: "A", Value: "192.0.2.1", TTL: 2147483648}, Record{}, "out of range"},
		{"TXT not UTF-8", &fwd, Record{Label: "x", Type: "TXT", Value: "\xff"}, Record{}, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := tc.in
			err := r.Normalize(tc.zone)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Normalize(%+v) = %v; want an error with %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%+v): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, r); diff != "" {
				t.Errorf("normalized (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConflict(t *testing.T) {
	z := Zone{Name: "example.com"}
	if err := z.Normalize(); err != nil {
		t.Fatal(err)
	}
	mk := func(id, label, typ, value string) Record {
		r := Record{ID: id, Label: label, Type: typ, Value: value}
		if err := r.Normalize(&z); err != nil {
			t.Fatal(err)
		}
		return r
	}
	zone := []Record{mk("1", "www", "A", "192.0.2.1"), mk("2", "alias", "CNAME", "www.example.com."), mk("3", "www", "TXT", "x")}
	// bulk: the same check through Names, the index a zone file import
	// uses, which knows the CNAME rule only (duplicates and a record's
	// own previous version are the importer's to handle): it must agree
	// with Conflict, word for word, on every CNAME case.
	tests := []struct {
		desc string
		rec  Record
		err  string
		bulk bool
	}{
		{"second A", mk("", "www", "A", "192.0.2.2"), "", true},
		{"same A again", mk("", "WWW", "A", "192.0.2.1"), "same data", false},
		{"CNAME beside A", mk("", "www", "CNAME", "x.example.net."), "may not share its name", true},
		{"A beside CNAME", mk("", "alias", "A", "192.0.2.9"), "may not share its name", true},
		{"second CNAME", mk("", "alias", "CNAME", "y.example.net."), "one CNAME at most", true},
		{"CNAME replacing itself", mk("2", "alias", "CNAME", "y.example.net."), "", false},
		{"A elsewhere", mk("", "other", "A", "192.0.2.1"), "", true},
	}
	names := Names{}
	for i := range zone {
		names.Add(&zone[i])
	}
	for _, tc := range tests {
		err := Conflict(&z, &tc.rec, zone)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: Conflict = %v, want %q", tc.desc, err, tc.err)
		}
		if !tc.bulk {
			continue
		}
		if berr := names.CNAMEConflict(&z, &tc.rec); (berr == nil) != (err == nil) || berr != nil && berr.Error() != err.Error() {
			t.Errorf("%s: Names.CNAMEConflict = %v, Conflict = %v", tc.desc, berr, err)
		}
	}
}
