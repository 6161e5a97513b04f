package authdns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func identities(t testing.TB, z *Zone, recs []Record) []string {
	t.Helper()
	var out []string
	for i := range recs {
		id, err := recs[i].Identity(z)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id+" ttl="+string(rune('0'+recs[i].TTL%10)))
	}
	slices.Sort(out)
	return out
}

// TestZoneFileRoundTrip: a realistic zone with every supported type is
// imported, exported, and imported again: the same records, SOA and NS.
func TestZoneFileRoundTrip(t *testing.T) {
	z, recs := testZone(t)
	types := map[string]bool{}
	for _, r := range recs {
		types[r.Type] = true
	}
	for _, typ := range Types {
		if typ != "PTR" && !types[typ] {
			t.Errorf("test zone has no %s record", typ)
		}
	}
	z.Serial = 2026010100
	text := ExportZone(&z, recs)
	z2 := Zone{Name: "example.com"}
	if err := z2.Normalize(); err != nil {
		t.Fatal(err)
	}
	zf, err := ParseZoneFile(&z2, text)
	if err != nil {
		t.Fatalf("exported zone does not import: %v\n%s", err, text)
	}
	if diff := cmp.Diff(identities(t, &z, recs), identities(t, &z2, zf.Records)); diff != "" {
		t.Errorf("records after export and import (-want +got):\n%s\n%s", diff, text)
	}
	if diff := cmp.Diff(z.Nameservers, zf.Nameservers); diff != "" {
		t.Errorf("nameservers (-want +got):\n%s", diff)
	}
	if zf.SOA == nil || *zf.SOA != z.SOA || zf.Serial != z.Serial || zf.TTL != z.TTL {
		t.Errorf("SOA after round trip: %+v serial %d ttl %d; want %+v serial %d ttl %d", zf.SOA, zf.Serial, zf.TTL, z.SOA, z.Serial, z.TTL)
	}
	// The values survive exactly: TXT joined, escapes undone.
	for _, r := range zf.Records {
		if r.Label == "long" && r.Value != `first part, second part with "quotes" and a \ backslash` {
			t.Errorf("TXT value after round trip: %q", r.Value)
		}
	}
	// A reverse zone too.
	rz := Zone{Name: "2.0.192.in-addr.arpa"}
	if err := rz.Normalize(); err != nil {
		t.Fatal(err)
	}
	rzf, err := ParseZoneFile(&rz, []byte("$TTL 300\n10 IN PTR www.example.com.\n11 PTR mail.example.com.\n@ NS ns1.example.com.\n"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseZoneFile(&rz, ExportZone(&rz, rzf.Records))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(identities(t, &rz, rzf.Records), identities(t, &rz, back.Records)); diff != "" {
		t.Errorf("reverse zone round trip (-want +got):\n%s", diff)
	}
}

func TestZoneFileErrors(t *testing.T) {
	z := Zone{Name: "example.com"}
	if err := z.Normalize(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		text string
		line int
		err  string
	}{
		{"bad A", "www A 192.0.2.1\nmail A 999.1.1.1\n", 2, "bad A"},
		{"bad A after multi-line SOA", "@ SOA ns1 host (\n 1 2 3\n 4 5 )\nwww A 192.0.2.1\n\n; comment\nmail A nope\n", 7, "bad A"},
		{"unsupported type", "$TTL 60\nwww A 192.0.2.1\nwww HINFO \"a\" \"b\"\n", 3, "type HINFO is not supported"},
		{"outside the zone", "www A 192.0.2.1\nwww.example.net. A 192.0.2.2\n", 2, "outside the zone"},
		{"CNAME and A", "www A 192.0.2.1\n; x\nwww CNAME other\n", 3, "may not share its name"},
		{"A after CNAME", "www CNAME other\nwww A 192.0.2.1\n", 2, "may not share its name"},
		{"second CNAME", "www CNAME a\nwww CNAME b\n", 2, "may not share its name"},
		{"CNAME after many records at its name", "$GENERATE 1-300 www TXT t$\nwww CNAME x\n", 2, "may not share its name"},
		{"PTR in forward zone", "x PTR a.example.com.\n", 1, "only allowed in reverse zones"},
		{"second SOA", "@ SOA a b 1 2 3 4 5\n@ SOA a b 1 2 3 4 5\n", 2, "second SOA"},
		{"SOA not at apex", "www SOA a b 1 2 3 4 5\n", 1, "not the zone apex"},
		{"include refused", "$INCLUDE /etc/passwd\n", 1, "INCLUDE"},
		{"class CH", "www CH TXT \"x\"\n", 1, "class CH"},
		{"quoted semicolon and line", "a TXT \"x;y\" ; c\nb TXT \"p\" (\n \"q\" )\nc A 1.2.3\n", 4, "bad A"},
		{"generate then bad", "$GENERATE 1-3 host$ A 192.0.2.$\nbad A x\n", 2, "bad A"},
		{"bad record after generate", "$GENERATE 1-3 host$ A 192.0.2.$\nok A 192.0.2.9\nwww.example.org. A 192.0.2.1\n", 3, "outside the zone"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ParseZoneFile(&z, []byte(tc.text))
			var zfe *ZoneFileError
			if !errors.As(err, &zfe) {
				t.Fatalf("err = %v, want a ZoneFileError", err)
			}
			if zfe.Line != tc.line || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v (line %d); want line %d and %q", err, zfe.Line, tc.line, tc.err)
			}
		})
	}
}

func TestZoneFileGenerateAndDuplicates(t *testing.T) {
	z := Zone{Name: "example.com"}
	if err := z.Normalize(); err != nil {
		t.Fatal(err)
	}
	zf, err := ParseZoneFile(&z, []byte("$GENERATE 1-10 host$ A 192.0.2.$\nwww A 192.0.2.1\nwww A 192.0.2.1\n$ORIGIN sub.example.com.\nx A 192.0.2.2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(zf.Records) != 12 || zf.Records[11].Label != "x.sub" || zf.Lines[11] != 5 || zf.Lines[10] != 2 || zf.Lines[3] != 1 {
		t.Errorf("records %d, last %+v, lines %v", len(zf.Records), zf.Records[len(zf.Records)-1], zf.Lines)
	}
}

// TestZoneFileManyRecordsAtOneName: the largest import allowed, every
// record at one name, goes through (the CNAME check used to compare each
// record with all earlier ones at its name: 50,000 TXT records at the apex
// took about 7 s and stalled the fuzzer).
func TestZoneFileManyRecordsAtOneName(t *testing.T) {
	z := Zone{Name: "example.com"}
	if err := z.Normalize(); err != nil {
		t.Fatal(err)
	}
	zf, err := ParseZoneFile(&z, []byte(fmt.Sprintf("$GENERATE 1-%d @ TXT t$\n", MaxImportRecords)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zf.Records) != MaxImportRecords || zf.Records[0].Label != "@" || zf.Records[MaxImportRecords-1].Label != "@" {
		t.Errorf("%d records, first %+v", len(zf.Records), zf.Records[0])
	}
}

// FuzzParseZoneFile: any text either imports or fails with an error; it
// never panics, and every imported record builds.
func FuzzParseZoneFile(f *testing.F) {
	f.Add(testZoneFile)
	f.Add("$TTL 60\n@ SOA a b 1 2 3 4 5\nwww A 192.0.2.1\n")
	f.Add("$GENERATE 1-100 h$ CNAME x$\n")
	f.Add("a TXT \"unterminated\n")
	f.Add("( ( ) ) ; \\")
	z := Zone{Name: "example.com"}
	if err := z.Normalize(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		zf, err := ParseZoneFile(&z, []byte(text))
		if err != nil {
			return
		}
		for _, r := range zf.Records {
			if _, err := r.rr(&z); err != nil {
				t.Fatalf("imported record %+v does not build: %v", r, err)
			}
		}
		ExportZone(&z, zf.Records)
	})
}

// FuzzRecordNormalize: any record is either refused or builds, and a
// normalized record normalizes to itself.
func FuzzRecordNormalize(f *testing.F) {
	f.Add("www", "A", "192.0.2.1", uint32(300), uint16(0), false)
	f.Add("@", "MX", "mail.example.com.", uint32(0), uint16(10), true)
	f.Add("*.x", "TXT", "a\\b\"c", uint32(1), uint16(0), false)
	f.Add("_s._tcp", "SRV", "h.example.com", uint32(60), uint16(1), true)
	f.Add("www.example.com.", "CNAME", "@", uint32(60), uint16(1), false)
	f.Add("@", "CAA", "letsencrypt.org", uint32(60), uint16(1), false)
	z := Zone{Name: "example.com"}
	if err := z.Normalize(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, label, typ, value string, ttl uint32, n uint16, withN bool) {
		r := Record{Label: label, Type: typ, Value: value, TTL: ttl}
		if withN {
			r.Priority, r.Weight, r.Port = &n, &n, &n
		}
		if strings.EqualFold(typ, "CAA") {
			r.Tag = "issue"
			r.Priority, r.Weight, r.Port = nil, nil, nil
		}
		if err := r.Normalize(&z); err != nil {
			return
		}
		if _, err := r.rr(&z); err != nil {
			t.Fatalf("normalized record %+v does not build: %v", r, err)
		}
		again := r
		if err := again.Normalize(&z); err != nil || !cmp.Equal(again, r) {
			t.Fatalf("normalize is not idempotent: %+v -> %+v (%v)", r, again, err)
		}
	})
}
