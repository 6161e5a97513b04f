package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy"
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

// touchRequest adds a field without a value to the request's Header (which
// sends nothing): the Header is no longer what the listener parsed, so
// the request's fields go upstream from the map, where an untouched
// request's go as the lines they came in (server.RequestLines,
// client.Options.Lines).
type touchRequest struct{}

func (touchRequest) Access(c *plugin.Ctx) { c.Req.Header["X-Touched"] = nil }

// readRequest reads the request's fields and changes nothing; it is not
// Inline, so its requests are handed off the event loop (server.Offload)
// and still go upstream as the lines they came in.
type readRequest struct{}

func (readRequest) Access(c *plugin.Ctx) { _ = c.Req.Header.Get("User-Agent") }

func init() {
	plugin.Register(plugin.Definition{Name: "test-touch-request", Priority: 1, Schema: []byte(`{"type":"object"}`),
		Transient: true, Inline: true, New: func(map[string]any) (any, error) { return touchRequest{}, nil }})
	plugin.Register(plugin.Definition{Name: "test-read-request", Priority: 1, Schema: []byte(`{"type":"object"}`),
		Transient: true, New: func(map[string]any) (any, error) { return readRequest{}, nil }})
}

// TestRequestLinesForwarded: the upstream receives the same request,
// fields and body, whether the client's fields went out as the lines
// they came in or from the Header map, for browser-like heads, forged
// forwarding fields, hop-by-hop fields, bodies of known and unknown
// length, bare LF line ends, a field sent twice and a Connection that
// names fields; on loops and on goroutines. A field name's spelling,
// kept on the lines path only, shows which path ran.
func TestRequestLinesForwarded(t *testing.T) {
	cases := []struct{ name, head, body string }{
		{"browser", "GET /%s HTTP/1.1\r\nHost: h\r\nuser-agent: Mozilla/5.0 (X11)\r\nAccept: text/html,*/*;q=0.8\r\nDNT: 1\r\n" +
			"sec-fetch-dest: document\r\nCookie: a=1; b=2\r\nX-A:  1 \r\n\r\n", ""},
		{"forged forwarding fields", "GET /%s HTTP/1.1\r\nHost: h\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-For: 10.0.0.1\r\n" +
			"X-Forwarded-Proto: https\r\nx-forwarded-host: evil\r\nX-B: b\r\n\r\n", ""},
		{"hop-by-hop", "GET /%s HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, TE\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n" +
			"Proxy-Connection: x\r\nProxy-Authorization: Basic eA==\r\nTrailer: X-T\r\nX-C: c\r\n\r\n", ""},
		{"known length", "POST /%s HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc", "abc"},
		{"chunked", "POST /%s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-D: d\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "abc"},
		{"bare LF", "GET /%s HTTP/1.1\nHost: h\nx-e: e\nX-F: f\n\n", ""},
		{"a field twice", "GET /%s HTTP/1.1\r\nHost: h\r\nX-G: 1\r\nx-g: 2\r\n\r\n", ""},
		{"connection names fields", "GET /%s HTTP/1.1\r\nHost: h\r\nConnection: X-Secret\r\nX-Secret: s\r\nX-H: h\r\n\r\n", ""},
		{"Host alone", "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", ""},
	}
	// The upstream answers with the head and body it received.
	up := rawhttp.Listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := readHead(br)
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
			if err != nil {
				return
			}
			var body []byte
			if req.ContentLength > 0 {
				body = make([]byte, req.ContentLength)
				if _, err := io.ReadFull(br, body); err != nil {
					return
				}
			} else if len(req.TransferEncoding) > 0 {
				r, _ := http.ReadRequest(bufio.NewReader(io.MultiReader(strings.NewReader(head), br)))
				if body, err = io.ReadAll(r.Body); err != nil {
					return
				}
			}
			out := head + string(body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(out), out)
		}
	})
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, func(o *proxy.Options) { o.EventLoops = m.loops })
			e.put("/routes/lines", fmt.Sprintf(`{"uri":"/lines","upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/map", fmt.Sprintf(`{"uri":"/map","plugins":{"test-touch-request":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			c, err := rawhttp.Dial(strings.TrimPrefix(e.httpURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			received := func(name, path, head string) (string, *http.Request, string) {
				t.Helper()
				res, got, err := c.Do(fmt.Sprintf(head, path))
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("%s %s: %v %v", name, path, res, err)
				}
				h, body, _ := strings.Cut(got, "\r\n\r\n")
				req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(h + "\r\n\r\n")))
				if err != nil {
					t.Fatalf("%s %s: the upstream got %q: %v", name, path, got, err)
				}
				return h, req, body
			}
			for round := range 2 { // the second round reuses pooled memory
				for _, tc := range cases {
					lh, lr, lb := received(tc.name, "lines", tc.head)
					mh, mr, mb := received(tc.name, "map", tc.head)
					if lr.Method != mr.Method || lr.Host != mr.Host || !reflect.DeepEqual(lr.Header, mr.Header) || lb != mb || lb != tc.body {
						t.Errorf("%s (round %d):\nlines %s %s %v %q\nmap   %s %s %v %q", tc.name, round,
							lr.Method, lr.Host, lr.Header, lb, mr.Method, mr.Host, mr.Header, mb)
					}
					for _, k := range []string{"Connection", "Keep-Alive", "Te", "Proxy-Connection", "Proxy-Authorization", "Trailer", "X-Secret", "X-Touched"} {
						if _, ok := lr.Header[k]; ok {
							t.Errorf("%s: %s passed on:\n%s", tc.name, k, lh)
						}
					}
					if lr.Header.Get("X-Real-Ip") != "127.0.0.1" || lr.Header.Get("X-Forwarded-Host") != "h" || lr.Header.Get("X-Forwarded-Proto") != "http" {
						t.Errorf("%s: forwarding fields:\n%s", tc.name, lh)
					}
					if strings.Contains(lh+mh, "\n\n") || strings.Count(strings.ReplaceAll(lh+mh, "\r\n", ""), "\n") > 0 {
						t.Errorf("%s: a bare LF went upstream:\n%q\n%q", tc.name, lh, mh)
					}
				}
			}
			for _, want := range []string{"\r\nuser-agent: Mozilla/5.0 (X11)\r\n", "\r\nDNT: 1\r\n", "\r\nX-A:  1 \r\n"} {
				if h, _, _ := received("browser", "lines", cases[0].head); !strings.Contains(h, want) {
					t.Errorf("the lines did not go as they came (%q):\n%s", want, h)
				}
			}
			if h, _, _ := received("browser", "map", cases[0].head); !strings.Contains(h, "\r\nUser-Agent: Mozilla/5.0 (X11)\r\n") {
				t.Errorf("a changed Header did not go from the map:\n%s", h)
			}
			if _, r, _ := received("forged", "lines", cases[1].head); r.Header.Get("X-Forwarded-For") != "10.0.0.1, 127.0.0.1" {
				t.Errorf("X-Forwarded-For %q", r.Header.Get("X-Forwarded-For"))
			}

			// Real plugins that change the request's fields: what they
			// removed, replaced or set reaches the upstream as they left
			// it, never as the client's lines had it.
			e.put("/consumers/kc", `{"username":"kc","plugins":{"key-auth":{"key":"secret-key"}}}`)
			e.put("/routes/hide", fmt.Sprintf(`{"uri":"/hide","plugins":{"key-auth":{"hide_credentials":true}},"upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/rewrite", fmt.Sprintf(`{"uri":"/rewrite","plugins":{"proxy-rewrite":{"headers":{"set":{"X-Set":"s"},"remove":["X-Drop"]}}},"upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/offload", fmt.Sprintf(`{"uri":"/offload","plugins":{"test-read-request":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			const fields = "GET /%s HTTP/1.1\r\nHost: h\r\napikey: secret-key\r\nx-consumer-username: forged\r\nX-Set: client\r\nX-Drop: d\r\nx-keep: k\r\n\r\n"
			for round := range 2 {
				h, r, _ := received("key-auth", "hide", fields)
				if _, ok := r.Header["Apikey"]; ok || r.Header.Get("X-Consumer-Username") != "kc" || len(r.Header["X-Consumer-Username"]) != 1 || r.Header.Get("X-Keep") != "k" {
					t.Errorf("key-auth, hide_credentials (round %d): the upstream got\n%s", round, h)
				}
				h, r, _ = received("proxy-rewrite", "rewrite", fields)
				if r.Header.Get("X-Set") != "s" || len(r.Header["X-Set"]) != 1 || r.Header["X-Drop"] != nil || r.Header.Get("X-Keep") != "k" {
					t.Errorf("proxy-rewrite (round %d): the upstream got\n%s", round, h)
				}
				if h, _, _ = received("off the loop", "offload", fields); !strings.Contains(h, "\r\nx-keep: k\r\n") || !strings.Contains(h, "\r\napikey: secret-key\r\n") {
					t.Errorf("a plugin that reads the fields off the loop (round %d): the lines did not go as they came:\n%s", round, h)
				}
			}
		})
	}
}
