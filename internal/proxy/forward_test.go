package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
)

// TestForwardedFields: what the upstream receives of a client's fields
// through the lean client (plain http, which sends the client's own
// Header and the forwarding fields after it) and through net/http's
// transport (TLS, which gets a copy of the Header with them in it): the
// same end-to-end fields on both, no hop-by-hop field, none that the
// client's Connection names, forwarding fields that replace the client's
// own (X-Forwarded-For extended), and a client's "Connection: close"
// that does not close the upstream connection. Each client connection
// sends every case twice, so pooled request memory is reused.
func TestForwardedFields(t *testing.T) {
	dump := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var kv []string
		for k, v := range r.Header {
			if k != "Accept-Encoding" { // net/http's transport adds its own
				kv = append(kv, k+"="+strings.Join(v, "|"))
			}
		}
		slices.Sort(kv)
		fmt.Fprintf(w, "host=%s close=%v %s", r.Host, r.Close, strings.Join(kv, " "))
	})
	const fwd = "X-Forwarded-For=127.0.0.1 X-Forwarded-Host=h X-Forwarded-Proto=http X-Real-Ip=127.0.0.1"
	cases := []struct{ name, fields, want string }{
		{"plain", "User-Agent: ua\r\nX-A: 1\r\nX-A: 2\r\n",
			"host=h close=false User-Agent=ua X-A=1|2 " + fwd},
		{"hop-by-hop and forged forwarding fields",
			"Connection: keep-alive, Upgrade, TE\r\nKeep-Alive: timeout=5\r\nTe: trailers\r\nUpgrade: foo\r\nProxy-Connection: x\r\n" +
				"Proxy-Authorization: Basic eA==\r\nTrailer: X-T\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n" +
				"X-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\nX-B: b\r\n",
			"host=h close=false X-B=b X-Forwarded-For=10.0.0.1, 10.0.0.2, 127.0.0.1 X-Forwarded-Host=h X-Forwarded-Proto=http X-Real-Ip=127.0.0.1"},
		{"connection names fields", "Connection: X-Secret, x-other\r\nX-Secret: s\r\nX-Other: o\r\nX-C: c\r\n",
			"host=h close=false X-C=c " + fwd},
		{"connection names forwarding fields", "Connection: X-Forwarded-For, X-Real-IP\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-E: e\r\n",
			"host=h close=false X-E=e " + fwd},
		{"connection token trimmed of any space", "Connection: X-Secret\xc2\xa0\r\nX-Secret: s\r\nX-F: f\r\n",
			"host=h close=false X-F=f " + fwd},
		{"a client's close stays with the client", "X-D: d\r\n", "host=h close=false X-D=d " + fwd},
	}
	plain := httptestServer(t, dump, false)
	tlsUp := httptestServer(t, dump, true)
	e := newEnv(t)
	e.put("/routes/plain", fmt.Sprintf(`{"uri":"/plain","upstream":{"nodes":{"%s":1}}}`, plain))
	e.put("/routes/tls", fmt.Sprintf(`{"uri":"/tls","upstream":{"scheme":"https","nodes":{"%s":1}}}`, tlsUp))
	for _, path := range []string{"/plain", "/tls"} {
		t.Run(path, func(t *testing.T) {
			c, err := rawhttp.Dial(strings.TrimPrefix(e.httpURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for round := range 2 {
				for _, tc := range cases {
					if round == 1 && tc.name == "a client's close stays with the client" {
						tc.fields += "Connection: close\r\n"
					}
					res, body, err := c.Do("GET " + path + " HTTP/1.1\r\nHost: h\r\n" + tc.fields + "\r\n")
					if err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					if res.StatusCode != 200 || body != tc.want {
						t.Errorf("%s (round %d): %d\n got %s\nwant %s", tc.name, round, res.StatusCode, body, tc.want)
					}
				}
			}
		})
	}
}

// httptestServer starts h on loopback, with TLS when tls is set, and
// returns its address.
func httptestServer(t *testing.T, h http.Handler, tls bool) string {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}
