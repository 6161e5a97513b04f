package authdns

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var testSrc = request{src: netip.MustParseAddrPort("127.0.0.1:5353")}

func packQuery(t testing.TB, name string, qtype uint16, edns int, do bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0x1234
	m.RecursionDesired = true
	if edns > 0 {
		m.SetEdns0(uint16(edns), do) //nolint:gosec // test sizes
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastMatchesSlow: every answer the template path gives is byte for
// byte what the full resolver gives for the same query.
func TestFastMatchesSlow(t *testing.T) {
	s := testServer(t)
	snap := s.snap.Load()
	names := []string{"example.com.", "EXAMPLE.com.", "www.example.com.", "wWw.ExAmPlE.CoM.", "alias.example.com.", "chain.example.com.",
		"dangling.example.com.", "ext.example.com.", "ns1.example.com.", "mail.example.com.", "sub.example.com.", "ns.sub.example.com.",
		"ent.example.com.", "host.ent.example.com.", "*.wild.example.com.", "_sip._tcp.example.com.", "long.example.com.", "big.example.com.",
		"dkim._domainkey.example.com.", "nope.example.com.", "a.b.nope.example.com.", "x.www.example.com.", "x.ent.example.com.",
		"NoPe.Example.COM.", "x.y.wild.example.com.", "deep.sub.example.com.", "x.alias.example.com."}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeNS, dns.TypeSOA, dns.TypeCNAME, dns.TypeSRV, dns.TypeCAA, dns.TypePTR, dns.TypeDS, dns.TypeHTTPS}
	hits := 0
	for _, name := range names {
		for _, qt := range types {
			for _, edns := range []int{0, 1232, 4096} {
				for _, tcp := range []bool{false, true} {
					q := packQuery(t, name, qt, edns, edns == 4096)
					fast, ok := s.fast(snap, q, make([]byte, 0, 65536), tcp)
					slow, _ := s.slow(snap, q, make([]byte, 0, 65536), request{tcp: tcp, src: testSrc.src})
					if !ok {
						continue
					}
					hits++
					var fm, sm dns.Msg
					_ = fm.Unpack(fast)
					_ = sm.Unpack(slow)
					// Lower-case questions: the same bytes. Mixed case: the
					// template echoes the question's case into compressed
					// suffixes too (as BIND does), so compare without case.
					same := bytes.Equal(fast, slow)
					if name != strings.ToLower(name) {
						same = strings.EqualFold(fm.String(), sm.String())
					}
					if !same {
						t.Errorf("%s %s edns=%d tcp=%v: fast and slow answers differ\nfast:\n%v\nslow:\n%v\n%s\n%s", name, dns.TypeToString[qt], edns, tcp, &fm, &sm, hex.EncodeToString(fast), hex.EncodeToString(slow))
					}
				}
			}
		}
	}
	if hits < 200 {
		t.Errorf("only %d queries took the template path", hits)
	}
}

// TestFastAllocs: a template answer allocates nothing.
func TestFastAllocs(t *testing.T) {
	s := testServer(t)
	snap := s.snap.Load()
	out := make([]byte, 0, 65536)
	for _, tc := range []struct {
		name  string
		qtype uint16
	}{{"www.example.com.", dns.TypeA}, {"WWW.example.com.", dns.TypeAAAA}, {"www.example.com.", dns.TypeMX}, {"alias.example.com.", dns.TypeA},
		{"nope.example.com.", dns.TypeA}, {"a.b.nope.example.com.", dns.TypeTXT}, {"sub.example.com.", dns.TypeA}} {
		q := packQuery(t, tc.name, tc.qtype, 1232, false)
		if _, ok := s.fast(snap, q, out, false); !ok {
			t.Errorf("%s %s did not take the template path", tc.name, dns.TypeToString[tc.qtype])
			continue
		}
		if n := testing.AllocsPerRun(1000, func() { s.fast(snap, q, out, false) }); n != 0 {
			t.Errorf("%s %s: template answer allocates %v times", tc.name, dns.TypeToString[tc.qtype], n)
		}
	}
}

func BenchmarkFast(b *testing.B) {
	s := testServer(b)
	snap := s.snap.Load()
	q := packQuery(b, "www.example.com.", dns.TypeA, 1232, false)
	out := make([]byte, 0, 65536)
	b.ReportAllocs()
	for b.Loop() {
		s.fast(snap, q, out, false)
	}
}

func BenchmarkNXDOMAIN(b *testing.B) {
	s := testServer(b)
	q := packQuery(b, "nope.example.com.", dns.TypeA, 1232, false)
	out := make([]byte, 0, 65536)
	b.ReportAllocs()
	for b.Loop() {
		s.handle(q, out, testSrc)
	}
}

func BenchmarkWildcard(b *testing.B) {
	s := testServer(b)
	q := packQuery(b, "x.wild.example.com.", dns.TypeTXT, 1232, false)
	out := make([]byte, 0, 65536)
	b.ReportAllocs()
	for b.Loop() {
		s.handle(q, out, testSrc)
	}
}

// FuzzHandle: random and mutated messages never panic, never take long,
// and whatever is answered is a DNS response to the query's ID.
func FuzzHandle(f *testing.F) {
	for _, name := range []string{"www.example.com.", "Alias.Example.com.", "nope.example.com.", "x.wild.example.com.", "example.org.", "a.b.sub.example.com."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeTXT, dns.TypeDS} {
			f.Add(packQuery(f, name, qt, 0, false), false)
			f.Add(packQuery(f, name, qt, 4096, true), true)
		}
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, false) // pointer loop
	f.Add([]byte{0, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true)                     // UPDATE, empty
	f.Add([]byte{0xff}, false)
	s := testServer(f)
	out := make([]byte, 0, 65536)
	f.Fuzz(func(t *testing.T, p []byte, tcp bool) {
		start := time.Now()
		resp, _ := s.handle(p, out, request{tcp: tcp, src: testSrc.src})
		if d := time.Since(start); d > time.Second {
			t.Fatalf("answering took %v", d)
		}
		if resp == nil {
			return
		}
		if len(resp) < 12 || len(p) < 2 || resp[0] != p[0] || resp[1] != p[1] || resp[2]&0x80 == 0 {
			t.Fatalf("answer %x is not a response to %x", resp, p)
		}
		if !tcp && len(resp) > maxUDP {
			t.Fatalf("UDP answer of %d bytes", len(resp))
		}
		var m dns.Msg
		if err := m.Unpack(resp); err != nil && !strings.Contains(err.Error(), "overflow") {
			t.Fatalf("answer does not parse: %v\n%x", err, resp)
		}
	})
}

// TestMutatedQueries runs a fixed number of random mutations through the
// handler (the fuzz target's body, without the fuzz engine), so every run
// of `go test` exercises it.
func TestMutatedQueries(t *testing.T) {
	s := testServer(t)
	out := make([]byte, 0, 65536)
	rng := rand.New(rand.NewPCG(1, 2))
	seeds := [][]byte{packQuery(t, "www.example.com.", dns.TypeA, 1232, true), packQuery(t, "x.wild.example.com.", dns.TypeTXT, 0, false),
		packQuery(t, "sub.example.com.", dns.TypeDS, 512, false), packQuery(t, "example.com.", dns.TypeAXFR, 0, false)}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := range n {
		p := append([]byte(nil), seeds[i%len(seeds)]...)
		switch rng.IntN(4) {
		case 0: // flip bytes
			for range 1 + rng.IntN(4) {
				p[rng.IntN(len(p))] = byte(rng.UintN(256))
			}
		case 1: // truncate
			p = p[:rng.IntN(len(p))]
		case 2: // random garbage
			p = make([]byte, rng.IntN(64))
			for j := range p {
				p[j] = byte(rng.UintN(256))
			}
		case 3: // append garbage
			for range rng.IntN(16) {
				p = append(p, byte(rng.UintN(256)))
			}
		}
		s.handle(p, out, request{tcp: i%2 == 0, src: testSrc.src})
		if time.Now().After(deadline) {
			t.Fatalf("%d mutated queries took more than 20s", i)
		}
	}
	// Still answering.
	resp, _ := s.handle(packQuery(t, "www.example.com.", dns.TypeA, 0, false), out, testSrc)
	var m dns.Msg
	if err := m.Unpack(resp); err != nil || len(m.Answer) != 1 {
		t.Fatalf("after the mutations: %v %v", err, &m)
	}
}
