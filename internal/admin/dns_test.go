package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/testutil/dnstest"
)

const dnsBase = "/dns/zones"

// obj decodes a JSON object answer.
func (r response) obj(t *testing.T) map[string]any { return r.json(t) }

func (e *env) must(method, path, body string, status int) response {
	e.t.Helper()
	r := e.do(method, path, body, "")
	if r.status != status {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, status, r.body)
	}
	return r
}

func (e *env) serial(zone string) uint32 {
	e.t.Helper()
	m := e.must("GET", dnsBase+"/"+zone, "", 200).obj(e.t)
	return uint32(m["serial"].(float64))
}

// TestDNSZonesAPI: create, list, get, patch and delete zones, with every
// refusal the spec names.
func TestDNSZonesAPI(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.run([]step{
			{desc: "empty list", method: "GET", path: dnsBase, status: 200, want: `{"total":0,"list":[]}`},
			{desc: "create", method: "POST", path: dnsBase, body: `{"zone":"Example.COM."}`, status: 201, want: `~"zone":"example.com"`},
			{desc: "duplicate", method: "POST", path: dnsBase, body: `{"zone":"example.com"}`, status: 409, want: `{"error_msg":"zone example.com already exists"}`},
			{desc: "public suffix", method: "POST", path: dnsBase, body: `{"zone":"co.uk"}`, status: 400, want: `{"error_msg":"invalid zone: zone \"co.uk\" is a public suffix: refused"}`},
			{desc: "private public suffix", method: "POST", path: dnsBase, body: `{"zone":"github.io"}`, status: 400, want: `~public suffix`},
			{desc: "tld", method: "POST", path: dnsBase, body: `{"zone":"com"}`, status: 400, want: `~top-level domain`},
			{desc: "bad name", method: "POST", path: dnsBase, body: `{"zone":"exa mple.com"}`, status: 400, want: `~may hold only letters`},
			{desc: "no zone", method: "POST", path: dnsBase, body: `{}`, status: 400, want: `~zone is required`},
			{desc: "unknown field", method: "POST", path: dnsBase, body: `{"zone":"a.example.net","bogus":1}`, status: 400, want: `~unknown field \"bogus`},
			{desc: "serial on create", method: "POST", path: dnsBase, body: `{"zone":"a.example.net","serial":5}`, status: 400, want: `~serial is set by Stargate`},
			{desc: "bad secondary", method: "POST", path: dnsBase, body: `{"zone":"a.example.net","secondaries":["ns.example.org"]}`, status: 400, want: `~secondaries[0]`},
			{desc: "bad allow_transfer", method: "POST", path: dnsBase, body: `{"zone":"a.example.net","allow_transfer":["any"]}`, status: 400, want: `~allow_transfer[0]`},
			{desc: "bad soa", method: "POST", path: dnsBase, body: `{"zone":"a.example.net","soa":{"refresh":0}}`, status: 400, want: `~soa.refresh must be an integer from 1`},
			{desc: "bad soa field", method: "POST", path: dnsBase, body: `{"zone":"a.example.net","soa":{"serial":1}}`, status: 400, want: `~unknown soa field \"serial`},
			{desc: "not JSON", method: "POST", path: dnsBase, body: `{`, status: 400, want: `~invalid request body`},
			{desc: "reverse zone with settings", method: "POST", path: dnsBase,
				body:   `{"zone":"2.0.192.in-addr.arpa","nameservers":["ns1.example.com"],"soa":{"rname":"dns@example.com","refresh":7200},"ttl":600,"secondaries":["127.0.0.1:5300"],"allow_transfer":["10.0.0.0/8"]}`,
				status: 201, want: `~"reverse":true`},
			{desc: "get missing", method: "GET", path: dnsBase + "/nope.example.com", status: 404, want: `{"message":"Key not found"}`},
			{desc: "patch missing", method: "PATCH", path: dnsBase + "/nope.example.com", body: `{"ttl":60}`, status: 404, want: `{"message":"Key not found"}`},
			{desc: "delete missing", method: "DELETE", path: dnsBase + "/nope.example.com", status: 404, want: `{"message":"Key not found"}`},
			{desc: "method", method: "PUT", path: dnsBase + "/example.com", body: `{}`, status: 405, want: "{\"error_msg\":\"not supported `PUT` method for a dns zone\"}"},
			{desc: "unknown sub-path", method: "GET", path: dnsBase + "/example.com/nope", status: 404},
			{desc: "viewer reads", method: "GET", path: dnsBase, key: viewerKey, status: 200, want: `~"total":2`},
			{desc: "viewer may not write", method: "POST", path: dnsBase, key: viewerKey, body: `{"zone":"b.example.net"}`, status: 401},
		})
		rz := e.must("GET", dnsBase+"/2.0.192.in-addr.arpa", "", 200).obj(t)
		wantRZ := map[string]any{"zone": "2.0.192.in-addr.arpa", "ttl": 600.0, "nameservers": []any{"ns1.example.com."},
			"soa":         map[string]any{"mname": "ns1.example.com.", "rname": "dns.example.com.", "refresh": 7200.0, "retry": 600.0, "expire": 1209600.0, "minimum": 300.0},
			"secondaries": []any{"127.0.0.1:5300"}, "allow_transfer": []any{"10.0.0.0/8"}, "record_count": 0.0, "reverse": true}
		for k, v := range wantRZ {
			if fmt.Sprint(rz[k]) != fmt.Sprint(v) {
				t.Errorf("reverse zone %s = %v, want %v", k, rz[k], v)
			}
		}
		z := e.must("GET", dnsBase+"/example.com", "", 200).obj(t)
		if fmt.Sprint(z["nameservers"]) != "[ns1.example.com. ns2.example.com.]" || z["serial"].(float64) < 2026000000 {
			t.Errorf("defaults: %v", z)
		}

		// PATCH changes settings and bumps the serial.
		s0 := e.serial("example.com")
		r := e.must("PATCH", dnsBase+"/example.com", `{"soa":{"refresh":1800},"nameservers":["ns1.example.net","ns2.example.net"],"secondaries":["127.0.0.1"]}`, 200).obj(t)
		if fmt.Sprint(r["nameservers"]) != "[ns1.example.net. ns2.example.net.]" || r["soa"].(map[string]any)["refresh"].(float64) != 1800 ||
			r["soa"].(map[string]any)["retry"].(float64) != 600 || fmt.Sprint(r["secondaries"]) != "[127.0.0.1:53]" {
			t.Errorf("patched zone: %v", r)
		}
		if s1 := e.serial("example.com"); !authdns.SerialGreater(s1, s0) {
			t.Errorf("serial %d after PATCH, was %d", s1, s0)
		}
		e.run([]step{
			{desc: "rename refused", method: "PATCH", path: dnsBase + "/example.com", body: `{"zone":"example.org"}`, status: 400, want: `~cannot be renamed`},
			{desc: "serial backwards refused", method: "PATCH", path: dnsBase + "/example.com", body: `{"serial":1}`, status: 400, want: `~not greater than the current serial`},
			{desc: "serial forwards", method: "PATCH", path: dnsBase + "/example.com", body: `{"serial":4000000000}`, status: 200, want: `~"serial":4000000000`},
			{desc: "bad patch", method: "PATCH", path: dnsBase + "/example.com", body: `{"ttl":"x"}`, status: 400, want: `~ttl must be an integer`},
			{desc: "null resets nameservers to the default", method: "PATCH", path: dnsBase + "/example.com", body: `{"nameservers":null}`, status: 200, want: `~"nameservers":["ns1.example.com.","ns2.example.com."]`},
		})
		if s := e.serial("example.com"); s != 4000000001 {
			t.Errorf("serial %d, want 4000000001 after an explicit serial and one more change", s)
		}

		// Delete takes the records along; a new zone of the same name starts empty.
		e.must("POST", dnsBase+"/example.com/records", `{"label":"www","type":"A","value":"192.0.2.1"}`, 201)
		e.run([]step{
			{desc: "delete", method: "DELETE", path: dnsBase + "/example.com", status: 200, want: `{"deleted":"1","key":"/stargate/dns/zones/example.com","records":1}`},
			{desc: "gone", method: "GET", path: dnsBase + "/example.com", status: 404},
			{desc: "records gone", method: "GET", path: dnsBase + "/example.com/records", status: 404},
			{desc: "re-create", method: "POST", path: dnsBase, body: `{"zone":"example.com"}`, status: 201, want: `~"record_count":0`},
			{desc: "list", method: "GET", path: dnsBase, status: 200, want: `~"total":2`},
		})
		kvs, _, err := e.st.List(context.Background(), authdns.RecordPrefix("example.com"))
		if err != nil || len(kvs) != 0 {
			t.Errorf("records left in the store: %v %v", kvs, err)
		}
	})
}

// TestDNSRecordsAPI: records by id and by index, validation by building
// the RR, CNAME exclusivity, reverse zone types; every change bumps the
// serial.
func TestDNSRecordsAPI(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.must("POST", dnsBase, `{"zone":"example.com"}`, 201)
		e.must("POST", dnsBase, `{"zone":"2.0.192.in-addr.arpa"}`, 201)
		rec := dnsBase + "/example.com/records"
		serial := e.serial("example.com")
		bumped := func(desc string) {
			t.Helper()
			s := e.serial("example.com")
			if !authdns.SerialGreater(s, serial) {
				t.Errorf("%s: serial %d, was %d: not increased", desc, s, serial)
			}
			serial = s
		}
		www := e.must("POST", rec, `{"label":"www","type":"A","ttl":300,"value":"192.0.2.10"}`, 201).obj(t)
		if www["id"] == "" || www["index"] != 0.0 || www["name"] != "www.example.com." || www["ttl"] != 300.0 || www["value"] != "192.0.2.10" {
			t.Errorf("created record: %v", www)
		}
		bumped("create")
		id := www["id"].(string)
		e.run([]step{
			{desc: "MX", method: "POST", path: rec, body: `{"label":"@","type":"MX","priority":10,"value":"mail.example.com"}`, status: 201, want: `~"value":"mail.example.com."`},
			{desc: "SRV", method: "POST", path: rec, body: `{"label":"_sip._tcp","type":"SRV","priority":1,"weight":2,"port":5060,"value":"sip.example.com."}`, status: 201, want: `~"port":5060`},
			{desc: "CAA", method: "POST", path: rec, body: `{"label":"@","type":"CAA","flags":0,"tag":"issue","value":"letsencrypt.org"}`, status: 201, want: `~"tag":"issue"`},
			{desc: "TXT", method: "POST", path: rec, body: `{"label":"@","type":"TXT","value":"v=spf1 -all"}`, status: 201, want: `~"ttl":3600`},
			{desc: "AAAA", method: "POST", path: rec, body: `{"label":"www.example.com.","type":"AAAA","value":"2001:DB8::10"}`, status: 201, want: `~"value":"2001:db8::10"`},
			{desc: "CNAME", method: "POST", path: rec, body: `{"label":"alias","type":"CNAME","value":"www.example.com"}`, status: 201, want: `~"value":"www.example.com."`},
			{desc: "single-label target", method: "POST", path: rec, body: `{"label":"alias2","type":"CNAME","value":"www"}`, status: 400, want: `~single label`},
			{desc: "delegation", method: "POST", path: rec, body: `{"label":"sub","type":"NS","value":"ns.sub.example.com"}`, status: 201},
			{desc: "wildcard", method: "POST", path: rec, body: `{"label":"*.dev","type":"A","value":"192.0.2.50"}`, status: 201},
			{desc: "PTR", method: "POST", path: dnsBase + "/2.0.192.in-addr.arpa/records", body: `{"label":"10","type":"PTR","value":"www.example.com."}`, status: 201},

			{desc: "bad A", method: "POST", path: rec, body: `{"label":"x","type":"A","value":"192.0.2.300"}`, status: 400, want: `{"error_msg":"invalid record: A value \"192.0.2.300\" is not an IP address"}`},
			{desc: "A with IPv6", method: "POST", path: rec, body: `{"label":"x","type":"A","value":"2001:db8::1"}`, status: 400, want: `~not an IPv4 address`},
			{desc: "PTR in a forward zone", method: "POST", path: rec, body: `{"label":"x","type":"PTR","value":"a.example.com."}`, status: 400, want: `~only allowed in reverse zones`},
			{desc: "A in a reverse zone", method: "POST", path: dnsBase + "/2.0.192.in-addr.arpa/records", body: `{"label":"11","type":"A","value":"192.0.2.1"}`, status: 400, want: `~PTR, NS, TXT and CNAME only`},
			{desc: "CNAME beside A", method: "POST", path: rec, body: `{"label":"www","type":"CNAME","value":"x.example.net."}`, status: 400, want: `~may not share its name with other data`},
			{desc: "A beside CNAME", method: "POST", path: rec, body: `{"label":"alias","type":"A","value":"192.0.2.1"}`, status: 400, want: `~may not share its name with other data`},
			{desc: "CNAME at apex", method: "POST", path: rec, body: `{"label":"@","type":"CNAME","value":"x.example.net."}`, status: 400, want: `~not allowed at the zone apex`},
			{desc: "duplicate", method: "POST", path: rec, body: `{"label":"WWW","type":"A","value":"192.0.2.10"}`, status: 400, want: `~already holds the same data`},
			{desc: "ttl 0", method: "POST", path: rec, body: `{"label":"x","type":"A","ttl":0,"value":"192.0.2.1"}`, status: 400, want: `~ttl must be an integer from 1 to 2147483647`},
			{desc: "ttl too big", method: "POST", path: rec, body: `{"label":"x","type":"A","ttl":2147483648,"value":"192.0.2.1"}`, status: 400, want: `~ttl must be an integer from 1 to 2147483647`},
			{desc: "MX without priority", method: "POST", path: rec, body: `{"label":"@","type":"MX","value":"mail2.example.com."}`, status: 400, want: `~MX records need priority`},
			{desc: "priority on A", method: "POST", path: rec, body: `{"label":"x","type":"A","priority":1,"value":"192.0.2.1"}`, status: 400, want: `~priority is not a field of A records`},
			{desc: "unsupported type", method: "POST", path: rec, body: `{"label":"x","type":"HINFO","value":"a b"}`, status: 400, want: `~not supported`},
			{desc: "unknown field", method: "POST", path: rec, body: `{"label":"x","type":"A","value":"192.0.2.1","prio":1}`, status: 400, want: `~unknown field \"prio`},
			{desc: "no label", method: "POST", path: rec, body: `{"type":"A","value":"192.0.2.1"}`, status: 400, want: `~label is required`},
			{desc: "id on create", method: "POST", path: rec, body: `{"id":"1","label":"x","type":"A","value":"192.0.2.1"}`, status: 400, want: `~id is generated`},
			{desc: "label outside the zone", method: "POST", path: rec, body: `{"label":"www.example.org.","type":"A","value":"192.0.2.1"}`, status: 400, want: `~outside the zone`},
			{desc: "zone missing", method: "POST", path: dnsBase + "/nope.example.com/records", body: `{"label":"x","type":"A","value":"192.0.2.1"}`, status: 404, want: `{"message":"Key not found"}`},
			{desc: "record missing", method: "GET", path: rec + "/00000000000000000001", status: 404, want: `{"message":"Key not found"}`},
			{desc: "put missing", method: "PUT", path: rec + "/00000000000000000001", body: `{"label":"x","type":"A","value":"192.0.2.1"}`, status: 404},
			{desc: "get by id", method: "GET", path: rec + "/" + id, status: 200, want: `~"index":0`},
		})
		bumped("creates")
		list := e.must("GET", rec, "", 200).obj(t)
		if list["total"] != 9.0 {
			t.Fatalf("list: %v", list)
		}
		for i, it := range list["list"].([]any) {
			if it.(map[string]any)["index"] != float64(i) {
				t.Errorf("list item %d has index %v", i, it.(map[string]any)["index"])
			}
		}
		// PUT replaces, PATCH merges; both validate the result.
		r := e.must("PUT", rec+"/"+id, `{"label":"www","type":"A","value":"192.0.2.11","ttl":60}`, 200).obj(t)
		if r["value"] != "192.0.2.11" || r["ttl"] != 60.0 || r["id"] != id {
			t.Errorf("PUT: %v", r)
		}
		bumped("PUT")
		r = e.must("PATCH", rec+"/"+id, `{"ttl":120}`, 200).obj(t)
		if r["value"] != "192.0.2.11" || r["ttl"] != 120.0 {
			t.Errorf("PATCH: %v", r)
		}
		bumped("PATCH")
		// A GET answer sent back as it is (read-only fields ignored).
		got := e.must("GET", rec+"/"+id, "", 200)
		e.must("PUT", rec+"/"+id, string(got.body), 200)
		bumped("PUT of a GET answer")
		e.run([]step{
			{desc: "patch into a conflict", method: "PATCH", path: rec + "/" + id, body: `{"label":"alias"}`, status: 400, want: `~may not share its name`},
			{desc: "patch to a bad value", method: "PATCH", path: rec + "/" + id, body: `{"type":"MX"}`, status: 400, want: `~MX records need priority`},
			{desc: "put with another id", method: "PUT", path: rec + "/" + id, body: `{"id":"x","label":"www","type":"A","value":"192.0.2.1"}`, status: 400, want: `~does not match`},
			{desc: "index not a number", method: "DELETE", path: rec + "?index=x", status: 400, want: `~invalid index`},
			{desc: "index out of range", method: "DELETE", path: rec + "?index=99", status: 404},
			{desc: "delete without id or index", method: "DELETE", path: rec, status: 400, want: `~missing index`},
		})
		// Delete by index (PacketFrame) and by id.
		first := e.must("GET", rec, "", 200).obj(t)["list"].([]any)[1].(map[string]any)
		e.must("DELETE", rec+"?index=1", "", 200)
		bumped("delete by index")
		e.must("GET", rec+"/"+first["id"].(string), "", 404)
		e.must("DELETE", rec+"/"+id, "", 200)
		bumped("delete by id")
		e.must("DELETE", rec+"/"+id, "", 404)
		if n := e.must("GET", rec, "", 200).obj(t)["total"]; n != 7.0 {
			t.Errorf("after two deletes: %v records", n)
		}
		if c := e.must("GET", dnsBase+"/example.com", "", 200).obj(t)["record_count"]; c != 7.0 {
			t.Errorf("record_count %v", c)
		}
	})
}

const importZone = `$ORIGIN example.com.
$TTL 600
@        IN SOA ns1.example.com. dns.example.com. 2026010100 7200 900 604800 120
@        IN NS  ns1
@        IN NS  ns2
ns1      IN A    192.0.2.1
ns2      IN A    192.0.2.2
www  300 IN A    192.0.2.10
www      IN AAAA 2001:db8::10
@        IN MX   10 mail
mail     IN A    192.0.2.25
@        IN TXT  "v=spf1 mx -all" "include:_spf.example.net"
@        IN CAA  0 issue "letsencrypt.org"
alias    IN CNAME www
_sip._tcp IN SRV 10 5 5060 sip
sip      IN A    192.0.2.70
sub      IN NS   ns.sub
ns.sub   IN A    192.0.2.53
*.dev    IN A    192.0.2.50
`

// TestDNSImportCNAMERule: a merge import keeps the CNAME rule against the
// zone's records and the file's own earlier lines, and many records at
// one name are fine.
func TestDNSImportCNAMERule(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.must("POST", dnsBase, `{"zone":"example.com"}`, 201)
		e.must("POST", dnsBase+"/example.com/records", `{"label":"alias","type":"CNAME","value":"www.example.com"}`, 201)
		e.must("POST", dnsBase+"/example.com/records", `{"label":"www","type":"A","value":"192.0.2.1"}`, 201)
		imp := dnsBase + "/example.com/import"
		e.run([]step{
			{desc: "A beside the zone's CNAME", method: "POST", path: imp, body: "x TXT \"t\"\nalias A 192.0.2.9\n", status: 400,
				want: `~a CNAME may not share its name with other data: alias.example.com. already has a CNAME record`},
			{desc: "second CNAME", method: "POST", path: imp, body: "alias CNAME other.example.net.\n", status: 400, want: `~already has a CNAME (record `},
			{desc: "CNAME beside the zone's A", method: "POST", path: imp, body: "y A 192.0.2.5\nwww CNAME a.example.net.\n", status: 400,
				want: `~www.example.com. already has a A record`},
			{desc: "CNAME after the file's own records at its name", method: "POST", path: imp, body: "z TXT \"1\"\nz TXT \"2\"\nz CNAME a.example.net.\n", status: 400, want: `~"line":3`},
		})
		if n := e.must("GET", dnsBase+"/example.com/records", "", 200).obj(t)["total"]; n != 2.0 {
			t.Errorf("refused imports changed the records: %v", n)
		}
		r := e.must("POST", imp, "$GENERATE 1-200 www TXT \"v$\"\n", 200).obj(t)
		if r["added"] != 200.0 {
			t.Errorf("200 TXT records beside an A: %v", r)
		}
		// Their ids are taken concurrently but handed out in file order:
		// the list (by id) shows them as the file had them.
		var got []string
		for _, it := range e.must("GET", dnsBase+"/example.com/records", "", 200).obj(t)["list"].([]any) {
			if m := it.(map[string]any); m["type"] == "TXT" {
				got = append(got, fmt.Sprint(m["value"]))
			}
		}
		for i, v := range got {
			if want := fmt.Sprintf("v%d", i+1); strings.Trim(v, `"`) != want || len(got) != 200 {
				t.Fatalf("TXT record %d of %d is %q, want %q (file order)", i, len(got), v, want)
			}
		}
	})
}

// TestDNSImportExport: merge and replace imports, errors with their
// lines, and export → import of the same zone changing nothing.
func TestDNSImportExport(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.must("POST", dnsBase, `{"zone":"example.com"}`, 201)
		e.must("POST", dnsBase+"/example.com/records", `{"label":"old","type":"A","value":"192.0.2.99"}`, 201)
		imp := dnsBase + "/example.com/import"
		r := e.must("POST", imp, importZone, 200).obj(t)
		if r["added"] != 14.0 || r["removed"] != 0.0 || r["mode"] != "merge" {
			t.Errorf("merge import: %v", r)
		}
		z := e.must("GET", dnsBase+"/example.com", "", 200).obj(t)
		if z["ttl"] != 600.0 || z["soa"].(map[string]any)["rname"] != "dns.example.com." || z["soa"].(map[string]any)["minimum"] != 120.0 || z["record_count"] != 15.0 {
			t.Errorf("zone after import: %v", z)
		}
		export := e.must("GET", dnsBase+"/example.com/export", "", 200)
		if ct := export.header.Get("Content-Type"); ct != "text/dns" {
			t.Errorf("export Content-Type %q", ct)
		}
		for _, want := range []string{"$ORIGIN example.com.", "IN\tSOA\tns1.example.com. dns.example.com.", "www.example.com.\t300\tIN\tA\t192.0.2.10",
			`"v=spf1 mx -allinclude:_spf.example.net"`, "_sip._tcp.example.com.\t600\tIN\tSRV\t10 5 5060 sip.example.com.", "old.example.com."} {
			if !bytes.Contains(export.body, []byte(want)) {
				t.Errorf("export lacks %q:\n%s", want, export.body)
			}
		}
		// Export → import (replace) of the same zone: nothing changes.
		before := e.must("GET", dnsBase+"/example.com/records", "", 200).body
		r = e.must("POST", imp+"?mode=replace", string(export.body), 200).obj(t)
		if r["added"] != 0.0 || r["removed"] != 0.0 || r["updated"] != 0.0 || r["unchanged"] != 15.0 {
			t.Errorf("re-import of the export: %v", r)
		}
		if after := e.must("GET", dnsBase+"/example.com/records", "", 200).body; !bytes.Equal(normalizeBody(t, before), normalizeBody(t, after)) {
			t.Errorf("records changed by export → import:\n%s\n%s", before, after)
		}
		// The export imports into a fresh zone as the same records.
		e.must("DELETE", dnsBase+"/example.com", "", 200)
		e.must("POST", dnsBase, `{"zone":"example.com"}`, 201)
		r = e.must("POST", imp+"?mode=replace", string(export.body), 200).obj(t)
		if r["added"] != 15.0 {
			t.Errorf("import into a fresh zone: %v", r)
		}
		if again := e.must("GET", dnsBase+"/example.com/export", "", 200).body; !bytes.Equal(dropFirstLine(again), dropFirstLine(export.body)) {
			t.Errorf("second export differs:\n%s\n---\n%s", again, export.body)
		}
		// Replace drops what the file lacks.
		r = e.must("POST", imp+"?mode=replace", "www A 192.0.2.10\nnew A 192.0.2.77\n", 200).obj(t)
		if r["added"] != 1.0 || r["removed"] != 14.0 || r["updated"] != 1.0 {
			t.Errorf("replace import: %v", r)
		}
		s0 := e.serial("example.com")
		e.run([]step{
			{desc: "bad mode", method: "POST", path: imp + "?mode=append", body: "x A 192.0.2.1\n", status: 400, want: `~invalid mode`},
			{desc: "syntax error", method: "POST", path: imp, body: "a A 192.0.2.1\n\n; c\nb A 192.0.2.256\n", status: 400,
				want: `{"error_msg":"invalid zone file: line 4: bad A A: \"192.0.2.256\"","line":4}`},
			{desc: "invalid record", method: "POST", path: imp, body: "a A 192.0.2.1\nb PTR x.example.com.\n", status: 400, want: `~"line":2`},
			{desc: "conflict with the zone", method: "POST", path: imp, body: "www CNAME other.example.net.\n", status: 400, want: `~may not share its name`},
			{desc: "include refused", method: "POST", path: imp, body: "$INCLUDE /etc/passwd\n", status: 400, want: `~"line":1`},
			{desc: "zone missing", method: "POST", path: dnsBase + "/nope.example.com/import", body: "a A 192.0.2.1\n", status: 404},
			{desc: "export of a missing zone", method: "GET", path: dnsBase + "/nope.example.com/export", status: 404},
		})
		if s := e.serial("example.com"); s != s0 {
			t.Errorf("a refused import changed the serial %d → %d", s0, s)
		}
		if n := e.must("GET", dnsBase+"/example.com/records", "", 200).obj(t)["total"]; n != 2.0 {
			t.Errorf("a refused import changed the records: %v", n)
		}
		// A file serial ahead of ours is taken.
		r = e.must("POST", imp, "@ SOA ns1.example.com. h.example.com. 4000000000 1 2 3 4\n", 200).obj(t)
		if r["serial"] != 4000000000.0 {
			t.Errorf("serial after importing a later SOA: %v", r["serial"])
		}
	})
}

func dropFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func normalizeBody(t *testing.T, b []byte) []byte {
	out, _ := json.Marshal(normalize(t, b))
	return out
}

// startDNS serves the env's store with an authoritative DNS server.
func startDNS(t *testing.T, e *env) string {
	t.Helper()
	srv := authdns.New(authdns.Options{Store: e.st})
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Stop() })
	return srv.UDPAddr().String()
}

func askA(t *testing.T, addr, name, network string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err := (&dns.Client{Net: network, Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// within waits up to d for ok, returning how long it took.
func within(t *testing.T, d time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestDNSAPIChangesServed: API changes are answered by the DNS server
// within a second, over UDP and TCP, on both store backends.
func TestDNSAPIChangesServed(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		addr := startDNS(t, e)
		e.must("POST", dnsBase, `{"zone":"example.com"}`, 201)
		id := e.must("POST", dnsBase+"/example.com/records", `{"label":"www","type":"A","value":"192.0.2.10"}`, 201).obj(t)["id"].(string)
		steps := []struct {
			desc   string
			do     func()
			name   string
			answer string
		}{
			{"create", func() {}, "www.example.com.", "[192.0.2.10]"},
			{"update", func() { e.must("PATCH", dnsBase+"/example.com/records/"+id, `{"value":"192.0.2.11"}`, 200) }, "www.example.com.", "[192.0.2.11]"},
			{"import", func() { e.must("POST", dnsBase+"/example.com/import", "api A 192.0.2.12\n", 200) }, "api.example.com.", "[192.0.2.12]"},
			{"delete", func() { e.must("DELETE", dnsBase+"/example.com/records/"+id, "", 200) }, "www.example.com.", "[]"},
			{"zone delete", func() { e.must("DELETE", dnsBase+"/example.com", "", 200) }, "api.example.com.", "[]"},
		}
		for _, s := range steps {
			s.do()
			for _, network := range []string{"udp", "tcp"} {
				d := within(t, 3*time.Second, func() bool { return fmt.Sprint(askA(t, addr, s.name, network)) == s.answer })
				if got := fmt.Sprint(askA(t, addr, s.name, network)); got != s.answer || d > time.Second {
					t.Errorf("%s over %s: %s after %v, want %s within 1s", s.desc, network, got, d, s.answer)
				}
			}
		}
	})
}

// TestDNSSecondaryBIND: a real BIND secondary transfers a zone by AXFR,
// then, after a record change through the API, gets NOTIFY, transfers
// again and serves the new answer.
func TestDNSSecondaryBIND(t *testing.T) {
	if testing.Short() {
		t.Skip("real BIND secondary: skipped with -short")
	}
	dnstest.Need(t, "named", "bind9")
	dnstest.Need(t, "dig", "dnsutils")
	e := newEnv(t)
	primary := startDNS(t, e)
	e.must("POST", dnsBase, `{"zone":"example.com","allow_transfer":["127.0.0.1"],"soa":{"refresh":86400,"retry":86400}}`, 201)
	id := e.must("POST", dnsBase+"/example.com/records", `{"label":"www","type":"A","value":"192.0.2.10"}`, 201).obj(t)["id"].(string)
	sec := dnstest.StartBIND(t, primary, "example.com")
	digA := func(name string) string {
		out := dnstest.Dig(t, sec.Addr, name, "A", "+short", "+norec")
		return strings.TrimSpace(out)
	}
	if d := within(t, 15*time.Second, func() bool { return digA("www.example.com.") == "192.0.2.10" }); d > 15*time.Second {
		t.Fatalf("BIND did not transfer the zone: %q\n%s", digA("www.example.com."), sec.Log())
	}
	if !strings.Contains(sec.Log(), "Transfer status: success") {
		t.Errorf("BIND log shows no successful transfer:\n%s", sec.Log())
	}
	// Tell Stargate about the secondary (itself a change: NOTIFY), then
	// change a record: BIND must learn it from NOTIFY, not from its
	// refresh timer (a day).
	e.must("PATCH", dnsBase+"/example.com", fmt.Sprintf(`{"secondaries":[%q]}`, sec.Addr), 200)
	e.must("PATCH", dnsBase+"/example.com/records/"+id, `{"value":"192.0.2.99"}`, 200)
	e.must("POST", dnsBase+"/example.com/records", `{"label":"new","type":"A","value":"192.0.2.100"}`, 201)
	serial := e.serial("example.com")
	if d := within(t, 15*time.Second, func() bool {
		return digA("www.example.com.") == "192.0.2.99" && digA("new.example.com.") == "192.0.2.100"
	}); d > 15*time.Second {
		t.Fatalf("BIND serves %q / %q after the change; log:\n%s", digA("www.example.com."), digA("new.example.com."), sec.Log())
	}
	if !strings.Contains(sec.Log(), "received notify for zone 'example.com'") {
		t.Errorf("BIND log shows no NOTIFY:\n%s", sec.Log())
	}
	soa := strings.Fields(dnstest.Dig(t, sec.Addr, "example.com.", "SOA", "+short"))
	if len(soa) < 3 || soa[2] != fmt.Sprint(serial) {
		t.Errorf("BIND serves SOA %v, want serial %d", soa, serial)
	}
}

// FuzzDNSAPI: arbitrary methods, DNS paths and bodies never panic or give
// a 5xx.
func FuzzDNSAPI(f *testing.F) {
	paths := []string{"/dns/zones", "/dns/zones/example.com", "/dns/zones/example.com/records", "/dns/zones/example.com/records/00000000000000000003",
		"/dns/zones/example.com/records?index=0", "/dns/zones/example.com/import", "/dns/zones/example.com/import?mode=replace",
		"/dns/zones/example.com/export", "/dns/zones/co.uk", "/dns/zones/example.com/records/x/y", "/dns"}
	bodies := []string{``, `{`, `{"zone":"example.com"}`, `{"label":"www","type":"A","value":"192.0.2.1"}`, `{"label":"@","type":"MX","priority":70000,"value":"x"}`,
		`{"soa":{"refresh":-1}}`, `{"nameservers":[1]}`, importZone, "$GENERATE 1-5 h$ A 192.0.2.$\n", `{"label":"a","type":"TXT","value":"\u0000\ud800"}`, "\xff\xfe"}
	for i, p := range paths {
		for j, b := range bodies {
			f.Add(uint8(i+j), p, []byte(b))
		}
	}
	st, err := boltstore.Open(filepath.Join(f.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	srv := admin.New(admin.Options{Store: st, KeyRequired: false, MaxBodyBytes: 64 << 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	setup := httptest.NewRecorder()
	h.ServeHTTP(setup, httptest.NewRequest("POST", "/apisix/admin/dns/zones", strings.NewReader(`{"zone":"example.com"}`)))
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte) {
		method := []string{"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"}[int(m)%6]
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://127.0.0.1/apisix/admin"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
	})
}
