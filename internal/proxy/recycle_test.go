package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
)

// keeper is a plugin that keeps every request's context after the
// response, as asynchronous loggers and mirrors do.
type keeper struct {
	mu   sync.Mutex
	kept []*plugin.Ctx
	said []string
}

func (k *keeper) Log(c *plugin.Ctx) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kept = append(k.kept, c)
	k.said = append(k.said, c.Req.URL.Path+" "+c.Req.Header.Get("X-Id"))
}

var keepers = &keeper{}

func init() {
	plugin.Register(plugin.Definition{Name: "test-keeper", Priority: 1, Schema: []byte(`{"type":"object"}`),
		New: func(map[string]any) (any, error) { return keepers, nil }})
}

// headerEcho is an upstream answering with every request header it got
// (sorted, X-* and Content-Length only), the path and the body; it also
// sends each X-* request header back as an Echo-X-* response header.
func headerEcho(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var kv []string
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-") || k == "Content-Length" {
				kv = append(kv, k+"="+strings.Join(v, "|"))
			}
			if strings.HasPrefix(k, "X-") {
				w.Header()["Echo-"+k] = v
			}
		}
		slices.Sort(kv)
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s [%s] %s", r.Method, r.URL.RequestURI(), strings.Join(kv, " "), b)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// TestRecycledRequestsKeepNothing: requests without plugins reuse their
// pipeline and listener memory; on one keep-alive connection, and on
// several at once, each request reaches the upstream with exactly its own
// headers, path and body, also after a retry, and requests through a
// plugin in between are unaffected.
func TestRecycledRequestsKeepNothing(t *testing.T) {
	e := newEnv(t)
	up := headerEcho(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	e.put("/routes/plain", fmt.Sprintf(`{"uri":"/plain/*","upstream":{"nodes":{"%s":1}}}`, up))
	// The dead node first (weight), so most requests retry in the same slot.
	e.put("/routes/retry", fmt.Sprintf(`{"uri":"/retry","upstream":{"type":"roundrobin","nodes":{"%s":100,"%s":1},"retries":1}}`, dead, up))
	e.put("/routes/plugin", fmt.Sprintf(`{"uri":"/plugin","plugins":{"proxy-rewrite":{"headers":{"set":{"X-Rewritten":"yes"}}}},"upstream":{"nodes":{"%s":1}}}`, up))
	// Transient plugins: these requests are recycled too, after key-auth
	// added the consumer's headers to the request.
	e.put("/consumers/jack", `{"username":"jack","plugins":{"key-auth":{"key":"k-jack"}}}`)
	e.put("/routes/auth", fmt.Sprintf(`{"uri":"/auth","plugins":{"key-auth":{},"limit-count":{"count":1000000,"time_window":60},"prometheus":{}},"upstream":{"nodes":{"%s":1}}}`, up))

	const fwd = "X-Forwarded-For=127.0.0.1 X-Forwarded-Host=h X-Forwarded-Proto=http X-Real-Ip=127.0.0.1"
	seq := []struct{ raw, want string }{
		{"GET /plain/a?q=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B: 2\r\nX-B: 3\r\n\r\n", "GET /plain/a?q=1 [X-A=1 X-B=2|3 " + fwd + "] "},
		{"GET /plain/b HTTP/1.1\r\nHost: h\r\nX-C: 3\r\n\r\n", "GET /plain/b [X-C=3 " + fwd + "] "},
		{"POST /plain/c HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nX-D: 4\r\n\r\nbody", "POST /plain/c [Content-Length=4 X-D=4 " + fwd + "] body"},
		{"GET /retry HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-E: 5\r\n\r\n", "GET /retry [X-E=5 X-Forwarded-For=10.0.0.1, 127.0.0.1 X-Forwarded-Host=h X-Forwarded-Proto=http X-Real-Ip=127.0.0.1] "},
		{"GET /retry HTTP/1.1\r\nHost: h\r\n\r\n", "GET /retry [" + fwd + "] "},
		{"GET /plugin HTTP/1.1\r\nHost: h\r\nX-F: 6\r\n\r\n", "GET /plugin [X-F=6 " + fwd + " X-Rewritten=yes] "},
		{"GET /plain/g HTTP/1.1\r\nHost: h\r\n\r\n", "GET /plain/g [" + fwd + "] "},
		{"GET /auth HTTP/1.1\r\nHost: h\r\nApikey: k-jack\r\nX-G: 7\r\n\r\n", "GET /auth [X-Consumer-Username=jack X-G=7 " + fwd + "] "},
		{"GET /plain/g2 HTTP/1.1\r\nHost: h\r\n\r\n", "GET /plain/g2 [" + fwd + "] "},
		{"GET /nowhere HTTP/1.1\r\nHost: h\r\nX-H: 8\r\n\r\n", `{"error_msg":"404 Route Not Found"}` + "\n"},
		{"GET /plain/i HTTP/1.1\r\nHost: h\r\n\r\n", "GET /plain/i [" + fwd + "] "},
	}
	exchange := func(t *testing.T, rounds int, id string) {
		c, err := rawhttp.Dial(strings.TrimPrefix(e.httpURL, "http://"))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		for round := range rounds {
			for i, s := range seq {
				// A per-connection header, so answers cannot be
				// another connection's.
				raw := strings.Replace(s.raw, "\r\n\r\n", "\r\nX-Conn: "+id+"\r\n\r\n", 1)
				resp, b, err := c.Do(raw)
				if err != nil {
					t.Error(err)
					return
				}
				want := s.want
				if lb, rb := strings.IndexByte(want, '['), strings.IndexByte(want, ']'); lb >= 0 { // proxied: the upstream saw X-Conn too
					kv := append(strings.Fields(strings.ReplaceAll(want[lb+1:rb], ", ", ",")), "X-Conn="+id)
					slices.Sort(kv)
					want = want[:lb+1] + strings.ReplaceAll(strings.Join(kv, " "), ",", ", ") + want[rb:]
					// The answer's headers are this exchange's too: the
					// echo of exactly the X-* headers the upstream saw.
					var echoed, sent []string
					for k, v := range resp.Header {
						if strings.HasPrefix(k, "Echo-") {
							echoed = append(echoed, strings.TrimPrefix(k, "Echo-")+"="+strings.Join(v, "|"))
						}
					}
					for _, f := range kv {
						if strings.HasPrefix(f, "X-") {
							sent = append(sent, strings.ReplaceAll(f, ",", ", "))
						}
					}
					slices.Sort(echoed)
					if !slices.Equal(echoed, sent) {
						t.Errorf("conn %s round %d request %d: response echoes %v, want %v", id, round, i, echoed, sent)
						return
					}
				}
				if b != want {
					t.Errorf("conn %s round %d request %d: upstream saw %q, want %q", id, round, i, b, want)
					return
				}
			}
		}
	}
	t.Run("one connection", func(t *testing.T) { exchange(t, 3, "solo") })
	t.Run("concurrent connections", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				exchange(t, 20, fmt.Sprint("c", i))
			}()
		}
		wg.Wait()
	})
	// A plugin that keeps the request: its requests are not recycled,
	// so what it kept still reads as it was, after later requests on the
	// same connection reused memory of their own.
	t.Run("kept by a plugin", func(t *testing.T) {
		e.put("/routes/kept", fmt.Sprintf(`{"uri":"/kept/*","plugins":{"test-keeper":{}},"upstream":{"nodes":{"%s":1}}}`, up))
		var reqs []string
		for i := range 6 {
			path := "/plain/x"
			if i%2 == 0 {
				path = fmt.Sprintf("/kept/%d", i)
			}
			reqs = append(reqs, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h\r\nX-Id: %d\r\n\r\n", path, i))
		}
		c, err := rawhttp.Dial(strings.TrimPrefix(e.httpURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, raw := range reqs {
			if _, _, err := c.Do(raw); err != nil {
				t.Fatal(err)
			}
		}
		keepers.mu.Lock()
		defer keepers.mu.Unlock()
		if len(keepers.kept) != 3 {
			t.Fatalf("keeper saw %d requests, want 3", len(keepers.kept))
		}
		for i, c := range keepers.kept {
			if now := c.Req.URL.Path + " " + c.Req.Header.Get("X-Id"); now != keepers.said[i] {
				t.Errorf("kept request %d now reads %q, was %q", i, now, keepers.said[i])
			}
		}
	})
}
