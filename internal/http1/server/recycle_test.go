package server

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
)

// describe is what a handler saw of a request, in a stable order.
func describe(r *http.Request) string {
	var kv []string
	for k, v := range r.Header {
		kv = append(kv, k+"="+strings.Join(v, "|"))
	}
	slices.Sort(kv)
	return fmt.Sprintf("%s %s?%s host=%s cl=%d [%s]", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.ContentLength, strings.Join(kv, " "))
}

// roundTrips sends each request on one connection, one after the other,
// and returns the answers' bodies.
func roundTrips(t *testing.T, addr string, reqs ...string) []string {
	t.Helper()
	c, err := rawhttp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []string
	for _, req := range reqs {
		_, body, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, body)
	}
	return out
}

// TestRecycle: a handler that recycles its requests gets the same
// request memory back on the connection's next request with nothing of
// the previous one left in it (header map, values, URL, body); a handler
// that does not recycle keeps every request intact after later ones.
func TestRecycle(t *testing.T) {
	many := ""
	for i := range 40 {
		many += fmt.Sprintf("X-Many-%d: %d\r\n", i, i)
	}
	reqs := []struct{ raw, want string }{
		{"GET /a?x=1 HTTP/1.1\r\nHost: one\r\nX-A: 1\r\nX-B: 2\r\nX-B: 3\r\n\r\n", "GET /a?x=1 host=one cl=0 [X-A=1 X-B=2|3]"},
		{"POST /b HTTP/1.1\r\nHost: two\r\nContent-Length: 5\r\n\r\nhello", "POST /b? host=two cl=5 [Content-Length=5] body=hello"},
		{"GET /c HTTP/1.1\r\nHost: three\r\n" + many + "\r\n", ""}, // more headers than a connection keeps
		{"GET /d HTTP/1.1\r\nHost: four\r\nX-D: 4\r\n\r\n", "GET /d? host=four cl=0 [X-D=4]"},
		{"GET /e HTTP/1.0\r\nHost: five\r\nConnection: keep-alive\r\n\r\n", "GET /e? host=five cl=0 [Connection=keep-alive]"},
	}
	for _, recycle := range []bool{true, false} {
		t.Run(fmt.Sprint("recycle=", recycle), func(t *testing.T) {
			var mu sync.Mutex
			var seen []*http.Request
			var said []string
			addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				d := describe(r)
				if b, _ := io.ReadAll(r.Body); len(b) > 0 {
					d += " body=" + string(b)
				}
				mu.Lock()
				seen, said = append(seen, r), append(said, d)
				mu.Unlock()
				io.WriteString(w, d)
				if recycle {
					Recycle(w)
				}
			}))
			var raws []string
			for _, rq := range reqs {
				raws = append(raws, rq.raw)
			}
			got := roundTrips(t, addr, raws...)
			for i, rq := range reqs {
				if rq.want != "" && got[i] != rq.want {
					t.Errorf("request %d: handler saw %q, want %q", i, got[i], rq.want)
				}
			}
			if !strings.Contains(got[2], "X-Many-39=39") || strings.Contains(got[2], "X-B") {
				t.Errorf("request 2: %q", got[2])
			}
			mu.Lock()
			defer mu.Unlock()
			if recycle {
				if seen[0] != seen[1] || seen[1] != seen[3] {
					t.Error("a recycled request's memory was not reused on the same connection")
				}
				return
			}
			// Without Recycle, every request is its own and stays as
			// the handler saw it.
			for i := range seen {
				for j := i + 1; j < len(seen); j++ {
					if seen[i] == seen[j] {
						t.Fatalf("requests %d and %d share memory without Recycle", i, j)
					}
				}
				if d := describe(seen[i]); !strings.HasPrefix(said[i], d) {
					t.Errorf("request %d changed after later requests: %q, was %q", i, d, said[i])
				}
			}
		})
	}
}
