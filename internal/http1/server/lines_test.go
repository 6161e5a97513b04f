package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLines: a request's field lines come back as they came, the
// Host field's aside, while its Header holds just what was parsed from
// them; any change to the Header since, in place or not, a field that
// came twice, a body's Transfer-Encoding (which the server takes out of
// the Header), another request and another ResponseWriter give ok false.
func TestRequestLines(t *testing.T) {
	const head = "GET /x HTTP/1.1\r\nuser-agent: ua\r\nHost: h\r\nX-A:  1 \r\nDNT: 1\nCookie: c=1\r\n"
	wantLines := `[{"User-Agent" "user-agent: ua" "ua"} {"X-A" "X-A:  1 " "1"} {"Dnt" "DNT: 1" "1"} {"Cookie" "Cookie: c=1" "c=1"}]`
	for _, tc := range []struct {
		name   string
		fields string                // more of the head
		edit   func(r *http.Request) // what the handler does to the request first
		ok     bool
	}{
		{"unchanged", "", nil, true},
		{"read only", "", func(r *http.Request) { _ = r.Header.Get("X-A") + r.Header.Get("X-None") }, true},
		{"same value set again", "", func(r *http.Request) { r.Header.Set("X-A", "1") }, false},
		{"value written over in place", "", func(r *http.Request) { r.Header["X-A"][0] = "2" }, false},
		{"value added", "", func(r *http.Request) { r.Header.Add("Cookie", "d=2") }, false},
		{"field deleted", "", func(r *http.Request) { r.Header.Del("Dnt") }, false},
		{"field added", "", func(r *http.Request) { r.Header.Set("X-New", "n") }, false},
		{"field without value added", "", func(r *http.Request) { r.Header["X-New"] = nil }, false},
		{"one deleted, another added", "", func(r *http.Request) { r.Header.Del("Dnt"); r.Header.Set("X-New", "1") }, false},
		{"renamed with the same value", "", func(r *http.Request) { r.Header["X-B"] = r.Header["X-A"]; delete(r.Header, "X-A") }, false},
		// The same fields, values and all.
		{"the map cloned", "", func(r *http.Request) { r.Header = r.Header.Clone() }, true},
		{"a field twice", "X-A: 2\r\n", nil, false},
		{"a chunked body", "Transfer-Encoding: chunked\r\n", nil, false},
		{"another request", "", nil, false},
		{"another ResponseWriter", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w2, r2 := w, r
				switch {
				case tc.edit != nil:
					tc.edit(r)
				case tc.name == "another request":
					r2 = r.Clone(r.Context())
				case tc.name == "another ResponseWriter":
					w2 = httptest.NewRecorder()
				}
				lines, ok := RequestLines(w2, r2)
				got = fmt.Sprintf("%v %q", ok, lines)
				_, _ = io.Copy(io.Discard, r.Body)
				if ok {
					Recycle(w) // the next request reuses the lines' memory
				}
			})}
			s.defaults()
			s.conns = map[*conn]struct{}{}
			in := head + tc.fields + "\r\n"
			if strings.Contains(tc.fields, "chunked") {
				in += "0\r\n\r\n"
			}
			// Twice on one connection: the second request is read into
			// the first one's recycled memory.
			fc := &fakeConn{r: bytes.NewReader([]byte(in + in))}
			c := s.newConn(fc)
			c.serve()
			want := fmt.Sprintf("%v %v", tc.ok, "[]")
			if tc.ok {
				want = "true " + wantLines
			}
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if n := strings.Count(fc.w.String(), "HTTP/1.1 200 OK"); n != 2 {
				t.Errorf("%d answers", n)
			}
		})
	}
}
