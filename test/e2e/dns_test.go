package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/testutil/dnstest"
)

var (
	dnsUDPRE = regexp.MustCompile(`msg="dns listening" udp=(\S+)`)
	dnsTCPRE = regexp.MustCompile(`msg="dns listening" udp=\S+ tcp=(\S+)`)
)

// dnsAddr waits for the "dns listening" line and returns the address both
// transports bound.
func (p *proc) dnsAddr() string {
	p.t.Helper()
	udp, ok := p.stderr.waitMatch(dnsUDPRE, addrTimeout, p.exited)
	if !ok {
		p.t.Fatalf("no dns listening line:\n%s", p.stderr.String())
	}
	tcp, _ := p.stderr.waitMatch(dnsTCPRE, addrTimeout, p.exited)
	if udp != tcp || strings.HasSuffix(udp, ":0") {
		p.t.Fatalf("dns bound udp=%s tcp=%s, want one real port for both", udp, tcp)
	}
	return udp
}

// TestDNS is the README's dig walk-through against the real binary: a zone
// and records made through the API are answered over UDP and TCP, changes
// within a second, the zone transfers, queries are counted in /metrics,
// and the zone is served again after a restart.
func TestDNS(t *testing.T) {
	dnstest.Need(t, "dig", "dnsutils")
	const key = "dns-e2e-key"
	p := start(t, startOpts{args: []string{"--admin-key", key}, key: key})
	addr := p.dnsAddr()
	const api = "/api/stargate/v1/dns/zones"
	p.must("POST", api, "", `{"zone":"example.com","allow_transfer":["127.0.0.1"]}`, 201)
	for _, r := range []string{
		`{"label":"www","type":"A","ttl":300,"value":"192.0.2.10"}`,
		`{"label":"ns1","type":"A","value":"192.0.2.1"}`,
		`{"label":"@","type":"MX","priority":10,"value":"mail.example.com"}`,
		`{"label":"mail","type":"A","value":"192.0.2.25"}`,
		`{"label":"alias","type":"CNAME","value":"www.example.com."}`,
		`{"label":"*.dev","type":"TXT","value":"wildcard"}`,
	} {
		p.must("POST", api+"/example.com/records", "", r, 201)
	}
	dig := func(args ...string) string { return dnstest.Dig(t, addr, args...) }
	deadline := time.Now().Add(2 * time.Second)
	for strings.TrimSpace(dig("+short", "www.example.com", "A")) != "192.0.2.10" {
		if time.Now().After(deadline) {
			t.Fatalf("www.example.com not answered within 2s of its creation:\n%s", dig("www.example.com", "A"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"www.example.com", "A"}, []string{"status: NOERROR", "flags: qr aa", "www.example.com.\t300\tIN\tA\t192.0.2.10"}},
		{[]string{"www.example.com", "A", "+tcp"}, []string{"status: NOERROR", "www.example.com.\t300\tIN\tA\t192.0.2.10"}},
		{[]string{"alias.example.com", "A"}, []string{"alias.example.com.\t3600\tIN\tCNAME\twww.example.com.", "www.example.com.\t300\tIN\tA\t192.0.2.10"}},
		{[]string{"example.com", "MX"}, []string{"example.com.\t3600\tIN\tMX\t10 mail.example.com.", "mail.example.com.\t3600\tIN\tA\t192.0.2.25"}},
		{[]string{"example.com", "NS"}, []string{"ns1.example.com.\t3600\tIN\tA\t192.0.2.1"}},
		{[]string{"x.dev.example.com", "TXT"}, []string{"x.dev.example.com.\t3600\tIN\tTXT\t\"wildcard\""}},
		{[]string{"nope.example.com", "A"}, []string{"status: NXDOMAIN", "flags: qr aa", "IN\tSOA\tns1.example.com. hostmaster.example.com."}},
		{[]string{"www.example.org", "A"}, []string{"status: REFUSED"}},
		{[]string{"example.com", "AXFR"}, []string{"XFR size: 10 records"}},
	}
	for _, tc := range tests {
		out := dig(tc.args...)
		flat := strings.Join(strings.Fields(out), " ")
		for _, w := range tc.want {
			if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
				t.Errorf("dig %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
	// A change is answered within a second.
	list := decode[struct {
		List []struct {
			ID    string `json:"id"`
			Label string `json:"label"`
		} `json:"list"`
	}](t, p.must("GET", api+"/example.com/records", "", "", 200))
	var wwwID string
	for _, r := range list.List {
		if r.Label == "www" {
			wwwID = r.ID
		}
	}
	p.must("PATCH", api+"/example.com/records/"+wwwID, "", `{"value":"192.0.2.11"}`, 200)
	t0 := time.Now()
	for strings.TrimSpace(dig("+short", "www.example.com", "A")) != "192.0.2.11" {
		if time.Since(t0) > time.Second {
			t.Fatalf("change not answered within 1s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("change answered after %v", time.Since(t0))
	// Metrics.
	_, body, err := p.do("GET", "/metrics", "-", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`stargate_authdns_queries_total{qtype="A",rcode="NOERROR",zone="example.com"}`, `stargate_authdns_queries_total{qtype="A",rcode="REFUSED",zone="none"}`, "stargate_authdns_zones 1"} {
		if !strings.Contains(string(body), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	// Restart on the same data: served at once, no API call needed.
	p.stop()
	if !strings.Contains(p.stderr.String(), "dns stopped") {
		t.Errorf("no clean DNS stop in the log:\n%s", p.stderr.String())
	}
	p2 := start(t, startOpts{args: []string{"--admin-key", key}, key: key, dataDir: p.dataDir})
	addr2 := p2.dnsAddr()
	if out := strings.TrimSpace(dnstest.Dig(t, addr2, "+short", "www.example.com", "A")); out != "192.0.2.11" {
		t.Errorf("after restart: %q", out)
	}
	soa := strings.Fields(dnstest.Dig(t, addr2, "+short", "example.com", "SOA"))
	z := decode[struct {
		Serial uint32 `json:"serial"`
	}](t, p2.must("GET", api+"/example.com", "", "", 200))
	if len(soa) < 3 || soa[2] != fmt.Sprint(z.Serial) {
		t.Errorf("SOA %v, want serial %d", soa, z.Serial)
	}
}
