package authdns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/testutil/dnstest"
)

// The zone every server test serves; testZoneFile in the package's own
// tests is the same data.
const zoneText = `$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1.example.com. hostmaster.example.com. 2026010100 3600 600 1209600 300
@       IN NS  ns1
@       IN NS  ns2
@       IN NS  ns.other.net.
ns1     IN A    192.0.2.1
ns1     IN AAAA 2001:db8::1
ns2     IN A    192.0.2.2
www 300 IN A    192.0.2.10
        IN AAAA 2001:db8::10
@       IN MX  10 mail
mail    IN A    192.0.2.25
@       IN TXT "v=spf1 mx -all"
@       IN CAA 0 issue "letsencrypt.org"
alias   IN CNAME www
chain   IN CNAME alias
dangling IN CNAME nothere
ext     IN CNAME www.example.net.
*.wild  IN TXT "wildcard"
*.wild  IN A   192.0.2.50
host.ent IN A  192.0.2.60
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.53
_sip._tcp IN SRV 10 5 5060 sip
sip     IN A   192.0.2.70
`

type testEnv struct {
	t   *testing.T
	st  store.Store
	srv *authdns.Server
	reg *prometheus.Registry
	// addr serves UDP and TCP.
	addr string
}

func startServer(t *testing.T) *testEnv {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, st: st, reg: prometheus.NewRegistry()}
	e.putZoneText("example.com", zoneText, authdns.Zone{AllowTransfer: []string{"127.0.0.1"}})
	rz := authdns.Zone{Name: "2.0.192.in-addr.arpa"}
	e.putZoneText(rz.Name, "10 PTR www.example.com.\n", rz)
	e.srv = authdns.New(authdns.Options{Store: st, Registerer: e.reg})
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.srv.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	e.addr = e.srv.UDPAddr().String()
	if e.srv.TCPAddr().String() != e.addr {
		t.Fatalf("UDP %s and TCP %s differ", e.addr, e.srv.TCPAddr())
	}
	t.Cleanup(func() {
		cancel()
		e.srv.Stop()
		st.Close()
	})
	return e
}

// putZoneText writes zone settings and the records of a zone file
// straight into the store, the way the admin API lays them out.
func (e *testEnv) putZoneText(name, text string, z authdns.Zone) {
	e.t.Helper()
	z.Name = name
	if err := z.Normalize(); err != nil {
		e.t.Fatal(err)
	}
	zf, err := authdns.ParseZoneFile(&z, []byte(text))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(zf.Nameservers) > 0 {
		z.Nameservers = zf.Nameservers
	}
	z.Serial = 2026010100
	for i, r := range zf.Records {
		e.putRecord(name, fmt.Sprintf("%020d", i+1), r)
	}
	e.putZone(z)
}

func (e *testEnv) putZone(z authdns.Zone) {
	e.t.Helper()
	b, _ := json.Marshal(z)
	if _, err := e.st.Put(context.Background(), authdns.ZoneKey(z.Name), b); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) putRecord(zone, id string, r authdns.Record) {
	e.t.Helper()
	b, _ := json.Marshal(r)
	if _, err := e.st.Put(context.Background(), authdns.RecordKey(zone, id), b); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) zone(name string) authdns.Zone {
	e.t.Helper()
	kv, err := e.st.Get(context.Background(), authdns.ZoneKey(name))
	if err != nil {
		e.t.Fatal(err)
	}
	var z authdns.Zone
	if err := json.Unmarshal(kv.Value, &z); err != nil {
		e.t.Fatal(err)
	}
	return z
}

func (e *testEnv) exchange(m *dns.Msg, network string) *dns.Msg {
	e.t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, e.addr)
	if err != nil {
		e.t.Fatalf("%s %v: %v", network, m.Question, err)
	}
	return r
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

// haveDig: dig is installed, or required (then Dig fails the test).
func haveDig() bool {
	_, err := exec.LookPath("dig")
	return err == nil || os.Getenv(dnstest.RequireEnv) == "1"
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// query is one row of the answer table, run with the Go client and dig,
// over UDP and TCP.
type query struct {
	desc   string
	name   string
	qtype  string
	rcode  string
	aa     bool
	answer []string // rr strings (tabs as spaces), in order
	ns     []string // types of the authority section, e.g. "SOA"
	extra  []string // owner+type of additional records
}

var table = []query{
	{desc: "A", name: "www.example.com.", qtype: "A", rcode: "NOERROR", aa: true, answer: []string{"www.example.com. 300 IN A 192.0.2.10"}},
	{desc: "AAAA (no TTL: $TTL applies)", name: "www.example.com.", qtype: "AAAA", rcode: "NOERROR", aa: true, answer: []string{"www.example.com. 3600 IN AAAA 2001:db8::10"}},
	{desc: "case echoed", name: "WwW.ExAmPlE.CoM.", qtype: "A", rcode: "NOERROR", aa: true, answer: []string{"WwW.ExAmPlE.CoM. 300 IN A 192.0.2.10"}},
	{desc: "NXDOMAIN with SOA", name: "nope.example.com.", qtype: "A", rcode: "NXDOMAIN", aa: true, ns: []string{"SOA"}},
	{desc: "NODATA with SOA", name: "www.example.com.", qtype: "MX", rcode: "NOERROR", aa: true, ns: []string{"SOA"}},
	{desc: "empty non-terminal is NODATA", name: "ent.example.com.", qtype: "A", rcode: "NOERROR", aa: true, ns: []string{"SOA"}},
	{desc: "apex NS with glue", name: "example.com.", qtype: "NS", rcode: "NOERROR", aa: true,
		answer: []string{"example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.com.", "example.com. 3600 IN NS ns.other.net."},
		extra:  []string{"ns1.example.com. A", "ns1.example.com. AAAA", "ns2.example.com. A"}},
	{desc: "SOA", name: "example.com.", qtype: "SOA", rcode: "NOERROR", aa: true, answer: []string{"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2026010100 3600 600 1209600 300"}},
	{desc: "MX with address", name: "example.com.", qtype: "MX", rcode: "NOERROR", aa: true, answer: []string{"example.com. 3600 IN MX 10 mail.example.com."}, extra: []string{"mail.example.com. A"}},
	{desc: "TXT", name: "example.com.", qtype: "TXT", rcode: "NOERROR", aa: true, answer: []string{`example.com. 3600 IN TXT "v=spf1 mx -all"`}},
	{desc: "CAA", name: "example.com.", qtype: "CAA", rcode: "NOERROR", aa: true, answer: []string{`example.com. 3600 IN CAA 0 issue "letsencrypt.org"`}},
	{desc: "SRV with address", name: "_sip._tcp.example.com.", qtype: "SRV", rcode: "NOERROR", aa: true, answer: []string{"_sip._tcp.example.com. 3600 IN SRV 10 5 5060 sip.example.com."}, extra: []string{"sip.example.com. A"}},
	{desc: "CNAME followed in zone", name: "alias.example.com.", qtype: "A", rcode: "NOERROR", aa: true, answer: []string{"alias.example.com. 3600 IN CNAME www.example.com.", "www.example.com. 300 IN A 192.0.2.10"}},
	{desc: "CNAME chain", name: "chain.example.com.", qtype: "AAAA", rcode: "NOERROR", aa: true, answer: []string{"chain.example.com. 3600 IN CNAME alias.example.com.", "alias.example.com. 3600 IN CNAME www.example.com.", "www.example.com. 3600 IN AAAA 2001:db8::10"}},
	{desc: "CNAME asked for", name: "alias.example.com.", qtype: "CNAME", rcode: "NOERROR", aa: true, answer: []string{"alias.example.com. 3600 IN CNAME www.example.com."}},
	{desc: "dangling CNAME", name: "dangling.example.com.", qtype: "A", rcode: "NXDOMAIN", aa: true, answer: []string{"dangling.example.com. 3600 IN CNAME nothere.example.com."}, ns: []string{"SOA"}},
	{desc: "CNAME out of zone not followed", name: "ext.example.com.", qtype: "A", rcode: "NOERROR", aa: true, answer: []string{"ext.example.com. 3600 IN CNAME www.example.net."}},
	{desc: "wildcard", name: "anything.wild.example.com.", qtype: "TXT", rcode: "NOERROR", aa: true, answer: []string{`anything.wild.example.com. 3600 IN TXT "wildcard"`}},
	{desc: "wildcard deeper", name: "a.b.wild.example.com.", qtype: "A", rcode: "NOERROR", aa: true, answer: []string{"a.b.wild.example.com. 3600 IN A 192.0.2.50"}},
	{desc: "wildcard NODATA", name: "x.wild.example.com.", qtype: "MX", rcode: "NOERROR", aa: true, ns: []string{"SOA"}},
	{desc: "wildcard does not cover existing ENT parent", name: "wild.example.com.", qtype: "A", rcode: "NOERROR", aa: true, ns: []string{"SOA"}},
	{desc: "referral at delegation", name: "sub.example.com.", qtype: "A", rcode: "NOERROR", aa: false, ns: []string{"NS"}, extra: []string{"ns.sub.example.com. A"}},
	{desc: "referral below delegation", name: "deep.host.sub.example.com.", qtype: "A", rcode: "NOERROR", aa: false, ns: []string{"NS"}, extra: []string{"ns.sub.example.com. A"}},
	{desc: "glue is not authoritative", name: "ns.sub.example.com.", qtype: "A", rcode: "NOERROR", aa: false, ns: []string{"NS"}, extra: []string{"ns.sub.example.com. A"}},
	{desc: "DS at the cut is the parent's", name: "sub.example.com.", qtype: "DS", rcode: "NOERROR", aa: true, ns: []string{"SOA"}},
	{desc: "ANY is minimal", name: "www.example.com.", qtype: "ANY", rcode: "NOERROR", aa: true, answer: []string{"www.example.com. 300 IN A 192.0.2.10"}},
	{desc: "outside our zones", name: "www.example.net.", qtype: "A", rcode: "REFUSED", aa: false},
	{desc: "parent of our zone", name: "com.", qtype: "NS", rcode: "REFUSED", aa: false},
	{desc: "reverse PTR", name: "10.2.0.192.in-addr.arpa.", qtype: "PTR", rcode: "NOERROR", aa: true, answer: []string{"10.2.0.192.in-addr.arpa. 3600 IN PTR www.example.com."}},
	{desc: "reverse NXDOMAIN", name: "11.2.0.192.in-addr.arpa.", qtype: "PTR", rcode: "NXDOMAIN", aa: true, ns: []string{"SOA"}},
}

func extraKeys(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype])
		}
	}
	return out
}

// TestAnswersGoClient runs the table with a Go DNS client, over UDP and
// TCP, with and without EDNS0.
func TestAnswersGoClient(t *testing.T) {
	e := startServer(t)
	for _, network := range []string{"udp", "tcp"} {
		for _, edns := range []bool{false, true} {
			for _, q := range table {
				t.Run(fmt.Sprintf("%s/edns=%v/%s", network, edns, q.desc), func(t *testing.T) {
					m := new(dns.Msg)
					m.SetQuestion(q.name, dns.StringToType[q.qtype])
					m.RecursionDesired = true
					if edns {
						m.SetEdns0(1232, true)
					}
					r := e.exchange(m, network)
					if got := dns.RcodeToString[r.Rcode]; got != q.rcode {
						t.Errorf("rcode %s, want %s\n%v", got, q.rcode, r)
					}
					if r.Authoritative != q.aa || r.RecursionAvailable || !r.RecursionDesired || r.Truncated {
						t.Errorf("flags aa=%v ra=%v rd=%v tc=%v, want aa=%v, no ra, rd echoed, no tc", r.Authoritative, r.RecursionAvailable, r.RecursionDesired, r.Truncated, q.aa)
					}
					if len(r.Question) != 1 || r.Question[0].Name != q.name {
						t.Errorf("question %v, want %s echoed", r.Question, q.name)
					}
					if got := rrStrings(r.Answer); !slices.Equal(got, q.answer) {
						t.Errorf("answer %q, want %q", got, q.answer)
					}
					var ns []string
					for _, rr := range r.Ns {
						ns = append(ns, dns.TypeToString[rr.Header().Rrtype])
					}
					if len(ns) > 0 {
						ns = slices.Compact(ns)
					}
					if !slices.Equal(ns, q.ns) {
						t.Errorf("authority types %v, want %v", ns, q.ns)
					}
					if got := extraKeys(r.Extra); !slices.Equal(got, q.extra) {
						t.Errorf("additional %v, want %v", got, q.extra)
					}
					if q.rcode != "REFUSED" && q.qtype != "ANY" && len(q.ns) > 0 && q.ns[0] == "SOA" && r.Ns[0].Header().Ttl != 300 {
						t.Errorf("negative SOA TTL %d, want min(ttl, minimum) = 300", r.Ns[0].Header().Ttl)
					}
					if opt := r.IsEdns0(); (opt != nil) != edns || (edns && !opt.Do()) {
						t.Errorf("OPT in answer: %v, want %v with DO echoed", opt, edns)
					}
				})
			}
		}
	}
}

var (
	digStatus = regexp.MustCompile(`status: (\w+)`)
	digFlags  = regexp.MustCompile(`;; flags: ([a-z ]+);`)
)

// TestAnswersDig runs the table with dig, over UDP and TCP.
func TestAnswersDig(t *testing.T) {
	dnstest.Need(t, "dig", "dnsutils")
	e := startServer(t)
	for _, transport := range []string{"+notcp", "+tcp"} {
		for _, q := range table {
			t.Run(transport+"/"+q.desc, func(t *testing.T) {
				out := dnstest.Dig(t, e.addr, q.name, q.qtype, transport, "+norec", "+noall", "+comments", "+answer")
				st := digStatus.FindStringSubmatch(out)
				fl := digFlags.FindStringSubmatch(out)
				if st == nil || fl == nil {
					t.Fatalf("dig output without status or flags:\n%s", out)
				}
				if st[1] != q.rcode {
					t.Errorf("status %s, want %s\n%s", st[1], q.rcode, out)
				}
				if aa := slices.Contains(strings.Fields(fl[1]), "aa"); aa != q.aa {
					t.Errorf("aa=%v, want %v\n%s", aa, q.aa, out)
				}
				var answer []string
				for _, line := range strings.Split(out, "\n") {
					if line == "" || strings.HasPrefix(line, ";") {
						continue
					}
					answer = append(answer, strings.Join(strings.Fields(line), " "))
				}
				if !slices.Equal(answer, q.answer) {
					t.Errorf("dig answer %q, want %q\n%s", answer, q.answer, out)
				}
			})
		}
	}
}

// TestTruncation: an answer larger than the client's UDP size is TC=1
// with nothing in it; the client's EDNS0 size is honoured; TCP gets all.
func TestTruncation(t *testing.T) {
	e := startServer(t)
	z := e.zone("example.com")
	for i := range 40 {
		e.putRecord("example.com", fmt.Sprintf("9%019d", i), authdns.Record{Label: "big", Type: "TXT", Value: fmt.Sprintf("padding record %02d of the big TXT RRset, long enough to matter", i)})
	}
	z.Serial++
	e.putZone(z)
	waitFor(t, func() bool {
		m := new(dns.Msg)
		m.SetQuestion("big.example.com.", dns.TypeTXT)
		return len(e.exchange(m, "tcp").Answer) == 40
	})
	tests := []struct {
		desc    string
		network string
		edns    int
		tc      bool
		answers int
	}{
		{"UDP without EDNS: 512 bytes", "udp", 0, true, 0},
		{"UDP with a 1232-byte buffer", "udp", 1232, true, 0},
		{"UDP with a 4096-byte buffer", "udp", 4096, false, 40},
		{"UDP with a buffer below 512 counts as 512", "udp", 100, true, 0},
		{"TCP", "tcp", 0, false, 40},
		{"TCP with EDNS", "tcp", 1232, false, 40},
	}
	for _, tc := range tests {
		m := new(dns.Msg)
		m.SetQuestion("big.example.com.", dns.TypeTXT)
		if tc.edns > 0 {
			m.SetEdns0(uint16(tc.edns), false) //nolint:gosec // test sizes
		}
		c := &dns.Client{Net: tc.network, Timeout: 3 * time.Second, UDPSize: 65535}
		r, _, err := c.Exchange(m, e.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if r.Truncated != tc.tc || len(r.Answer) != tc.answers || !r.Authoritative {
			t.Errorf("%s: tc=%v answers=%d aa=%v; want tc=%v answers=%d", tc.desc, r.Truncated, len(r.Answer), r.Authoritative, tc.tc, tc.answers)
		}
	}
	// dig falls back to TCP by itself on TC.
	if haveDig() {
		out := dnstest.Dig(t, e.addr, "big.example.com.", "TXT", "+noedns", "+norec")
		if !strings.Contains(out, "Truncated, retrying in TCP mode") || !strings.Contains(out, "ANSWER: 40") {
			t.Errorf("dig did not retry over TCP and get the 40 records:\n%s", out)
		}
	}
}

// TestMalformed: broken packets are dropped or answered FORMERR; odd
// requests get their proper codes; the server keeps answering.
func TestMalformed(t *testing.T) {
	e := startServer(t)
	conn, err := net.Dial("udp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(p []byte) *dns.Msg {
		t.Helper()
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 65536)
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
		return m
	}
	good := func() []byte {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.Id = 77
		b, _ := m.Pack()
		return b
	}
	mod := func(f func(*dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.Id = 77
		f(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		desc  string
		p     []byte
		rcode int // -1: no answer
	}{
		{"empty", []byte{}, -1},
		{"short header", []byte{1, 2, 3}, -1},
		{"a response", mod(func(m *dns.Msg) { m.Response = true }), -1},
		{"question cut short", good()[:20], dns.RcodeFormatError},
		{"compression loop", []byte{0, 77, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, dns.RcodeFormatError},
		{"two questions", mod(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), dns.RcodeFormatError},
		{"no question", mod(func(m *dns.Msg) { m.Question = nil }), dns.RcodeFormatError},
		{"UPDATE", mod(func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }), dns.RcodeNotImplemented},
		{"NOTIFY to a primary", mod(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), dns.RcodeNotImplemented},
		{"EDNS version 1", mod(func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }), dns.RcodeBadVers},
		{"two OPT records", mod(func(m *dns.Msg) { m.SetEdns0(1232, false); m.Extra = append(m.Extra, m.Extra[0]) }), dns.RcodeFormatError},
		{"class CH", mod(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), dns.RcodeRefused},
		{"qtype OPT", mod(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeOPT }), dns.RcodeFormatError},
		{"AXFR over UDP", mod(func(m *dns.Msg) {
			m.Question[0] = dns.Question{Name: "example.com.", Qtype: dns.TypeAXFR, Qclass: dns.ClassINET}
		}), dns.RcodeNotImplemented},
		{"trailing garbage is ignored", append(good(), 1, 2, 3), dns.RcodeSuccess},
	}
	for _, tc := range tests {
		r := send(tc.p)
		switch {
		case tc.rcode < 0 && r != nil:
			t.Errorf("%s: answered %v, want no answer", tc.desc, r)
		case tc.rcode >= 0 && r == nil:
			t.Errorf("%s: no answer, want %s", tc.desc, dns.RcodeToString[tc.rcode])
		case tc.rcode >= 0 && (r.Rcode != tc.rcode || r.Id != 77 || !r.Response):
			t.Errorf("%s: rcode %s id %d, want %s to id 77", tc.desc, dns.RcodeToString[r.Rcode], r.Id, dns.RcodeToString[tc.rcode])
		}
	}
	// TCP: a garbage length prefix closes the connection, nothing more.
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte{0, 3, 1, 2, 3})
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(make([]byte, 10)); err == nil {
		t.Errorf("TCP garbage answered with %d bytes", n)
	}
	c.Close()
	if r := send(good()); r == nil || len(r.Answer) != 1 {
		t.Fatalf("server no longer answers: %v", r)
	}
}

// TestNetworkFuzz throws random and mutated packets at the real sockets,
// then checks the server still answers at once over UDP and TCP.
func TestNetworkFuzz(t *testing.T) {
	e := startServer(t)
	conn, err := net.Dial("udp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.SetEdns0(1232, false)
	base, _ := m.Pack()
	seed := uint32(7)
	rnd := func() uint32 { seed = seed*1664525 + 1013904223; return seed >> 8 }
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		p := append([]byte(nil), base...)
		for range 1 + rnd()%3 {
			p[rnd()%uint32(len(p))] = byte(rnd()) //nolint:gosec // test bytes
		}
		if i%5 == 0 {
			p = p[:rnd()%uint32(len(p))]
		}
		_, _ = conn.Write(p)
		if i%50 == 0 {
			tc, err := net.Dial("tcp", e.addr)
			if err == nil {
				_, _ = tc.Write(append([]byte{byte(len(p) >> 8), byte(len(p))}, p...))
				tc.Close()
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, network := range []string{"udp", "tcp"} {
		q := new(dns.Msg)
		q.SetQuestion("www.example.com.", dns.TypeA)
		c := &dns.Client{Net: network, Timeout: 2 * time.Second}
		for {
			r, _, err := c.Exchange(q, e.addr)
			if err == nil && len(r.Answer) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: server does not answer after the fuzzing: %v", network, err)
			}
		}
	}
}

func waitFor(t *testing.T, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > 5*time.Second {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestLiveChanges: store changes are answered within a second, the SOA
// serial follows, a deleted zone is refused, a bad record is left out
// while the rest of its zone serves.
func TestLiveChanges(t *testing.T) {
	e := startServer(t)
	ask := func(name string, qt uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		return e.exchange(m, "udp")
	}
	z := e.zone("example.com")
	e.putRecord("example.com", "00000000000000009999", authdns.Record{Label: "new", Type: "A", Value: "192.0.2.99", TTL: 60})
	z.Serial = 2026010105
	e.putZone(z)
	d := waitFor(t, func() bool {
		r := ask("new.example.com.", dns.TypeA)
		return len(r.Answer) == 1
	})
	if d > time.Second {
		t.Errorf("change answered after %v, want < 1s", d)
	}
	waitFor(t, func() bool {
		r := ask("example.com.", dns.TypeSOA)
		return len(r.Answer) == 1 && r.Answer[0].(*dns.SOA).Serial == 2026010105
	})
	// A record that does not build is left out; the zone keeps serving.
	e.putRecord("example.com", "00000000000000009998", authdns.Record{Label: "bad", Type: "A", Value: "not-an-ip"})
	e.putRecord("example.com", "00000000000000009997", authdns.Record{Label: "www", Type: "CNAME", Value: "x.example.net."})
	e.putRecord("example.com", "00000000000000009996", authdns.Record{Label: "good", Type: "A", Value: "192.0.2.98"})
	waitFor(t, func() bool { return len(ask("good.example.com.", dns.TypeA).Answer) == 1 })
	if r := ask("bad.example.com.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("bad record: %v", r)
	}
	if r := ask("www.example.com.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeA {
		t.Errorf("www after a conflicting CNAME: %v", r)
	}
	if m := metrics(t, e.reg, "stargate_authdns_records_left_out_total"); len(m) != 1 || m[0] == "stargate_authdns_records_left_out_total{} 0" {
		t.Errorf("records_left_out_total = %v, want > 0", m)
	}
	// Deleting the zone: REFUSED within a second.
	if _, err := e.st.Delete(context.Background(), authdns.ZoneKey("example.com")); err != nil {
		t.Fatal(err)
	}
	d = waitFor(t, func() bool { return ask("www.example.com.", dns.TypeA).Rcode == dns.RcodeRefused })
	if d > time.Second {
		t.Errorf("zone deletion answered after %v", d)
	}
	if e.srv.Revision() == 0 {
		t.Error("Revision() = 0")
	}
}

// metrics renders a registry's counters and gauges as "name{labels} value" lines.
func metrics(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out = append(out, fmt.Sprintf("%s{%s} %g", name, strings.Join(labels, ","), v))
		}
	}
	slices.Sort(out)
	return out
}

// TestMetrics: queries are counted by zone, qtype and rcode, with bounded
// labels.
func TestMetrics(t *testing.T) {
	e := startServer(t)
	for _, q := range []struct {
		name string
		t    uint16
	}{{"www.example.com.", dns.TypeA}, {"www.example.com.", dns.TypeA}, {"nope.example.com.", dns.TypeAAAA}, {"x.example.org.", dns.TypeA}, {"www.example.com.", dns.TypeNAPTR}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		e.exchange(m, "udp")
	}
	want := []string{
		`stargate_authdns_queries_total{qtype="A",rcode="NOERROR",zone="example.com"} 2`,
		`stargate_authdns_queries_total{qtype="A",rcode="REFUSED",zone="none"} 1`,
		`stargate_authdns_queries_total{qtype="AAAA",rcode="NXDOMAIN",zone="example.com"} 1`,
		`stargate_authdns_queries_total{qtype="OTHER",rcode="NOERROR",zone="example.com"} 1`,
	}
	if diff := cmp.Diff(want, metrics(t, e.reg, "stargate_authdns_queries_total")); diff != "" {
		t.Errorf("queries_total (-want +got):\n%s", diff)
	}
}

// TestTransfer: AXFR over TCP to an allowed address, refused otherwise;
// IXFR gets the full zone, or the SOA alone when the client is current.
func TestTransfer(t *testing.T) {
	e := startServer(t)
	tr := func(qtype uint16, serial uint32) ([]dns.RR, error) {
		m := new(dns.Msg)
		if qtype == dns.TypeIXFR {
			m.SetIxfr("example.com.", serial, "ns1.example.com.", "hostmaster.example.com.")
		} else {
			m.SetAxfr("example.com.")
		}
		ch, err := (&dns.Transfer{}).In(m, e.addr)
		if err != nil {
			return nil, err
		}
		var rrs []dns.RR
		for env := range ch {
			if env.Error != nil {
				return nil, env.Error
			}
			rrs = append(rrs, env.RR...)
		}
		return rrs, nil
	}
	rrs, err := tr(dns.TypeAXFR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rrs) < 20 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("AXFR: %d records, first %v, last %v", len(rrs), rrs[0], rrs[len(rrs)-1])
	}
	// The transfer holds every record of the zone file.
	zp := dns.NewZoneParser(strings.NewReader(zoneText), "example.com.", "")
	n := 0
	for _, ok := zp.Next(); ok; _, ok = zp.Next() {
		n++
	}
	if len(rrs) != n+1 {
		t.Errorf("AXFR has %d records, want the zone's %d plus the closing SOA", len(rrs), n)
	}
	if rrs, err := tr(dns.TypeIXFR, 2026010100); err != nil || len(rrs) != 1 {
		t.Errorf("IXFR from the current serial: %d records, %v; want the SOA alone", len(rrs), err)
	}
	if rrs, err := tr(dns.TypeIXFR, 2025010100); err != nil || len(rrs) != n+1 {
		t.Errorf("IXFR from an old serial: %d records, %v; want the full zone", len(rrs), err)
	}
	// Not allowed: the reverse zone has no allow_transfer.
	m := new(dns.Msg)
	m.SetAxfr("2.0.192.in-addr.arpa.")
	r := e.exchange(m, "tcp")
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR of a zone that allows nobody: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	m.SetAxfr("www.example.com.")
	if r := e.exchange(m, "tcp"); r.Rcode != dns.RcodeNotAuth {
		t.Errorf("AXFR of a name that is not a zone: %s, want NOTAUTH", dns.RcodeToString[r.Rcode])
	}
	if haveDig() {
		out := dnstest.Dig(t, e.addr, "example.com.", "AXFR")
		if !strings.Contains(out, "XFR size: "+fmt.Sprint(n+1)+" records") {
			t.Errorf("dig AXFR:\n%s", out)
		}
		out = dnstest.Dig(t, e.addr, "2.0.192.in-addr.arpa.", "AXFR")
		if !strings.Contains(out, "Transfer failed") {
			t.Errorf("dig AXFR of a refused zone:\n%s", out)
		}
	}
}

// TestNotify: a serial change sends NOTIFY to the zone's secondaries,
// which may then transfer the zone.
func TestNotify(t *testing.T) {
	e := startServer(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	z := e.zone("2.0.192.in-addr.arpa")
	z.Secondaries = []string{pc.LocalAddr().String()}
	z.Serial = 2026010107
	e.putZone(z)
	buf := make([]byte, 4096)
	_ = pc.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no NOTIFY within 3s: %v", err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if m.Opcode != dns.OpcodeNotify || !m.Authoritative || m.Question[0].Name != "2.0.192.in-addr.arpa." || m.Question[0].Qtype != dns.TypeSOA {
		t.Fatalf("not a NOTIFY for the zone: %v", m)
	}
	if soa, ok := m.Answer[0].(*dns.SOA); !ok || soa.Serial != 2026010107 {
		t.Errorf("NOTIFY carries %v, want the new SOA", m.Answer)
	}
	resp := new(dns.Msg)
	resp.SetReply(m)
	b, _ := resp.Pack()
	_, _ = pc.WriteTo(b, from)
	// The secondary's address may now transfer.
	ax := new(dns.Msg)
	ax.SetAxfr("2.0.192.in-addr.arpa.")
	ch, err := (&dns.Transfer{}).In(ax, e.addr)
	if err != nil {
		t.Fatal(err)
	}
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR by a secondary: %v", env.Error)
		}
	}
}

// TestUDPInFlight keeps many queries in flight, as dnsperf does: each
// answer lets another query go. Every answer must come promptly; a reader
// that slept on datagrams already queued would stall the window.
func TestUDPInFlight(t *testing.T) {
	e := startServer(t)
	conn, err := net.Dial("udp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	total, window := 30000, 100
	if testing.Short() {
		total = 5000
	}
	names := []string{"www.example.com.", "nope.example.com.", "x.wild.example.com.", "alias.example.com."}
	queries := make([][]byte, len(names))
	for i, n := range names {
		m := new(dns.Msg)
		m.SetQuestion(n, dns.TypeA)
		queries[i], _ = m.Pack()
	}
	send := func(i int) {
		if _, err := conn.Write(queries[i%len(queries)]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range window {
		send(i)
	}
	buf := make([]byte, 4096)
	start := time.Now()
	for got := 0; got < total; got++ {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(buf); err != nil {
			t.Fatalf("after %d answers in %v: %v", got, time.Since(start), err)
		}
		if got+window < total {
			send(got + window)
		}
	}
	t.Logf("%d queries, %d in flight: %v", total, window, time.Since(start))
}
