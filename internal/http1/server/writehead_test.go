package server

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestWriteHead: WriteHead sends the lines as they are, then the fields
// the handler set, its own Date (unless the lines have one), its own
// Content-Length and, where needed, Connection; it refuses (and sends
// nothing) what is not an answer with a body of known length, and the
// handler's usual WriteHeader then works.
func TestWriteHead(t *testing.T) {
	const up = "Server: up\r\ncontent-type:text/plain \r\n"
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines, date, code, length := []string{up}, false, 200, int64(2)
		switch r.URL.Path {
		case "/runs":
			lines = []string{"X-A: 1\r\n", "X-B: 2\r\n"}
		case "/dated":
			lines, date = []string{up, "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"}, true
		case "/own":
			w.Header().Set("X-Own", "1")
		case "/none":
			lines = nil
		case "/204":
			code = 204
		case "/304":
			code = 304
		case "/unknown":
			length = -1
		case "/late":
			w.WriteHeader(201)
		case "/close":
			w.Header().Set("Connection", "close")
		case "/long":
			length = 5 // the handler writes 2: the connection must end
		}
		if !WriteHead(w, code, lines, date, length) {
			w.Header().Set("X-Refused", "1")
			w.WriteHeader(code)
		}
		io.WriteString(w, "ok")
	}))
	date := regexp.MustCompile(`\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT`)
	for _, c := range []struct {
		req  string
		want string // the head, with Date removed
		body string
		date int // Date fields the head must have
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "Content-Length: 2", "ok", 1},
		{"GET /runs HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 2", "ok", 1},
		{"GET /dated HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "Content-Length: 2", "ok", 1},
		{"GET /own HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "X-Own: 1\r\nContent-Length: 2", "ok", 1},
		{"GET /none HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2", "ok", 1},
		{"GET / HTTP/1.0\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "Content-Length: 2\r\nConnection: close", "ok", 1},
		{"GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "Content-Length: 2\r\nConnection: keep-alive", "ok", 1},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "Content-Length: 2\r\nConnection: close", "ok", 1},
		{"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nX-Refused: 1", "", 1},
		{"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 204 No Content\r\nX-Refused: 1", "", 1},
		{"GET /304 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nX-Refused: 1", "", 1},
		{"GET /unknown HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nX-Refused: 1\r\nContent-Length: 2", "ok", 1},
		{"GET /close HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n" + up + "Connection: close\r\nContent-Length: 2", "ok", 1},
		{"GET /late HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 201 Created\r\nX-Refused: 1\r\nContent-Length: 2", "ok", 1}, // a held-back head
	} {
		t.Run(strings.Fields(c.req)[1], func(t *testing.T) {
			t.Parallel()
			got := exchange(t, addr, c.req)
			head, body, _ := strings.Cut(got, "\r\n\r\n")
			if n := len(date.FindAllString(head, -1)); n != c.date || strings.Count(head, "Date:") != c.date {
				t.Errorf("%q: %d Date fields in\n%s", c.req, n, head)
			}
			head = date.ReplaceAllString(head, "")
			if head != c.want || body != c.body {
				t.Errorf("%q:\ngot  %q %q\nwant %q %q", c.req, head, body, c.want, c.body)
			}
		})
	}
	// Keep-alive: answers sent with WriteHead frame their bodies, so a
	// second request on the connection gets its own answer.
	got := roundTrips(t, addr, "GET /runs HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if len(got) != 2 || got[0] != "ok" || got[1] != "ok" {
		t.Errorf("two answers on one connection: %q", got)
	}
	// A body shorter than the length it announced: the connection ends
	// instead of the next answer being read as its rest.
	if got := exchange(t, addr, "GET /long HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"); strings.Count(got, "HTTP/1.1 200") != 1 {
		t.Errorf("after a short body:\n%q", got)
	}
}

// TestRecycleSendsHead: a head still held back when the handler recycles
// (an answer of unknown length with nothing written) is sent by Recycle,
// while the header map it refers to is as the handler left it; the
// handler may then give that map back to be reused (the proxy clears its
// pooled maps), and the client still gets the fields.
func TestRecycleSendsHead(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Keep", "1")
		w.WriteHeader(200) // no length, nothing written: held back
		Recycle(w)
		clear(h) // given back and reused
	}))
	got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.Contains(got, "\r\nX-Keep: 1\r\n") || !strings.Contains(got, "\r\nContent-Length: 0\r\n") {
		t.Errorf("answer:\n%s", got)
	}
}

// TestRequestHeadLength: the listener reports the bytes of the request
// line and header block as they arrived, whatever their spelling (the
// rebuilt "Name: value" form would differ), without the body.
func TestRequestHeadLength(t *testing.T) {
	got := make(chan int64, 4)
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, ok := RequestHeadLength(w)
		if !ok {
			n = -1
		}
		got <- n
		io.WriteString(w, "ok")
	}))
	for _, head := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p?q=1 HTTP/1.1\r\nHost:x\r\nx-a:   1\r\nContent-Length: 3\r\n\r\n",
		"GET /lf HTTP/1.1\nHost: x\nConnection: close\n\n",
	} {
		body := ""
		if strings.HasPrefix(head, "POST") {
			body = "abc"
		}
		exchange(t, addr, head+body)
		if n := <-got; n != int64(len(head)) {
			t.Errorf("%q: %d, want %d", head, n, len(head))
		}
	}
}
