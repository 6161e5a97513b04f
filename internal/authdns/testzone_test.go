package authdns

import (
	"encoding/json"
	"testing"
)

// testZoneFile is a realistic zone with every supported type, used by the
// round-trip, server and fuzz tests.
const testZoneFile = `; example.com, as an operator would write it
$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1.example.com. hostmaster.example.com. (
            2026010100 ; serial
            3600       ; refresh
            600        ; retry
            1209600    ; expire
            300 )      ; minimum
@       IN NS  ns1
@       IN NS  ns2.example.com.
@       IN NS  ns.other.net.
ns1     IN A    192.0.2.1
ns1     IN AAAA 2001:db8::1
ns2     IN A    192.0.2.2
www 300 IN A    192.0.2.10
        IN AAAA 2001:db8::10
@       IN MX  10 mail
@       IN MX  20 mail2.example.net.
mail    IN A    192.0.2.25
@       IN TXT "v=spf1 mx -all"
@       IN CAA 0 issue "letsencrypt.org"
@       IN CAA 128 iodef "mailto:security@example.com"
alias   IN CNAME www
chain   IN CNAME alias
dangling IN CNAME nothere
ext     IN CNAME www.example.net.
*.wild  IN TXT "wildcard"
*.wild  IN A   192.0.2.50
host.ent IN A  192.0.2.60
sub     IN NS  ns.sub
sub     IN NS  ns.other.net.
ns.sub  IN A   192.0.2.53
_sip._tcp IN SRV 10 5 5060 sip
sip     IN A   192.0.2.70
long    IN TXT "first part, " "second part with \"quotes\" and a \\ backslash"
dkim._domainkey IN TXT ( "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5XJ5o0ZbP6+mQ9Wv6oQe8m7JIYy6Fm3iWQ2o7m4YvE3XJ2ySeMQb1nC9S3YJ4y6Gq0wqQ2P7o6Gq9u6aRlGH6FvXkq2gq8qkVq9H1rA8"
                          "xKq2e1J9cGq3Y8Qh6oY0fD7H6QeL2tE7e0bC8pX1kM4rT9sV2wU3yZ5aB7cD9eF1gH3iJ5kL7mN9oP1qR3sT5uV7wX9yZ1aB3cD5eF7gH9iJ1kL3mN5oP7qR9sT1uV3wX5yZ7aB9cD1eF3gH5iJ7kL9mN1oP3qR5sT7uV9wX1yZ3aB5cD7eF9gH1iJ3kL5mN7oP9qR1sT3uV5wX7yZ9aB1cD3eF5gH7iJ9kL1mN3oP5qR7sT9uV1wX3yZ5aB7cD9eF1gH3iJ5kL7mN9oP1qR3sT5uV7wX9yZ1aB3cD5eF7gH9iJ1kL3mN5oP7qR9sT1uV3wX5yZ7aB9cD1eF3gH5iJ7kL9mN1oP3qR5sT7uV9wX1yZ3aB5cD7eF9gH1iJ3kL5mN7oP9qR1sT3uV5wX7yZ9aB1cD3eF5gH7iJ9kL1mN3oP5qR7sT9uV1wX3QIDAQAB" )
`

// testZone returns the settings of example.com and its records parsed from
// testZoneFile, normalized and with ids.
func testZone(t testing.TB) (Zone, []Record) {
	t.Helper()
	z := Zone{Name: "example.com", Serial: 2026010100, AllowTransfer: []string{"127.0.0.1"}}
	if err := z.Normalize(); err != nil {
		t.Fatal(err)
	}
	zf, err := ParseZoneFile(&z, []byte(testZoneFile))
	if err != nil {
		t.Fatal(err)
	}
	z.Nameservers = zf.Nameservers
	for i := range zf.Records {
		zf.Records[i].ID = string(rune('a'+i/26)) + string(rune('a'+i%26))
	}
	// Forty TXT records make an answer too large for 512-byte UDP.
	for i := range 40 {
		r := Record{ID: "z" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Label: "big", Type: "TXT", Value: "padding record number " + string(rune('A'+i%26)) + string(rune('a'+i/26)) + " of the big TXT set, long enough"}
		if err := r.Normalize(&z); err != nil {
			t.Fatal(err)
		}
		zf.Records = append(zf.Records, r)
	}
	return z, zf.Records
}

// testServer is a Server with a compiled snapshot and no store or sockets.
func testServer(t testing.TB) *Server {
	t.Helper()
	s := New(Options{})
	z, recs := testZone(t)
	zs, _ := json.Marshal(z)
	s.mirror = map[string]*zoneSource{z.Name: {settings: zs, records: map[string][]byte{}}}
	for _, r := range recs {
		b, _ := json.Marshal(r)
		s.mirror[z.Name].records[r.ID] = b
	}
	s.rebuild(nil, map[string]bool{z.Name: true}, 1, true)
	return s
}
