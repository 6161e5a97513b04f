package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/stargate-edge/stargate/internal/http1/wire"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// seen is what the test server observed of one request.
type seen struct {
	method, uri, host string
	header            http.Header
	te                []string
	cl                int64
	body              string
}

func TestRequestWriting(t *testing.T) {
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server read body: %v", err)
		}
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header, r.TransferEncoding, r.ContentLength, string(b)}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := newTransport(t)
	host := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name  string
		build func() *http.Request
		check func(t *testing.T, s seen)
	}{
		{
			name:  "GET",
			build: func() *http.Request { return mustReq(t, "GET", srv.URL+"/x?a=1", nil) },
			check: func(t *testing.T, s seen) {
				if s.method != "GET" || s.uri != "/x?a=1" || s.host != host || s.cl != 0 || s.body != "" {
					t.Errorf("got %+v", s)
				}
				if s.header["User-Agent"] != nil || s.header["Accept-Encoding"] != nil {
					t.Errorf("client added headers: %v", s.header)
				}
			},
		},
		{
			name: "POST with Content-Length",
			build: func() *http.Request {
				return mustReq(t, "POST", srv.URL+"/p", strings.NewReader("hello world"))
			},
			check: func(t *testing.T, s seen) {
				if s.cl != 11 || s.body != "hello world" || s.te != nil {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "large POST",
			build: func() *http.Request {
				return mustReq(t, "POST", srv.URL+"/p", strings.NewReader(strings.Repeat("abcdefgh", 20000)))
			},
			check: func(t *testing.T, s seen) {
				if s.cl != 160000 || s.body != strings.Repeat("abcdefgh", 20000) {
					t.Errorf("got cl %d, body len %d", s.cl, len(s.body))
				}
			},
		},
		{
			name: "POST no body sends Content-Length 0",
			build: func() *http.Request {
				return mustReq(t, "POST", srv.URL+"/p", nil)
			},
			check: func(t *testing.T, s seen) {
				if s.header.Get("Content-Length") != "0" || s.te != nil {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "chunked body of unknown length",
			build: func() *http.Request {
				body := io.MultiReader(strings.NewReader("part one, "), iotest.OneByteReader(strings.NewReader("part two")))
				r := mustReq(t, "PUT", srv.URL+"/c", io.NopCloser(body))
				r.ContentLength = -1
				return r
			},
			check: func(t *testing.T, s seen) {
				if len(s.te) != 1 || s.te[0] != "chunked" || s.body != "part one, part two" || s.cl != -1 {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "body with ContentLength 0 is unknown length",
			build: func() *http.Request {
				r := mustReq(t, "POST", srv.URL+"/c", io.NopCloser(strings.NewReader("xyz")))
				r.ContentLength = 0
				return r
			},
			check: func(t *testing.T, s seen) {
				if len(s.te) != 1 || s.body != "xyz" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "nil header value is not sent, framing headers are ours",
			build: func() *http.Request {
				r := mustReq(t, "POST", srv.URL+"/h", strings.NewReader("abc"))
				r.Header["User-Agent"] = nil
				r.Header["X-Empty"] = []string{}
				r.Header.Set("X-Multi", "a")
				r.Header.Add("X-Multi", "b")
				r.Header.Set("Content-Length", "999")
				r.Header.Set("Transfer-Encoding", "chunked")
				r.Header.Set("Connection", "keep-alive, X-Foo")
				r.Header.Set("Host", "ignored.example")
				return r
			},
			check: func(t *testing.T, s seen) {
				if _, ok := s.header["User-Agent"]; ok {
					t.Errorf("User-Agent sent: %q", s.header["User-Agent"])
				}
				if _, ok := s.header["X-Empty"]; ok {
					t.Error("X-Empty sent")
				}
				if v := s.header["X-Multi"]; len(v) != 2 || v[0] != "a" || v[1] != "b" {
					t.Errorf("X-Multi = %q", v)
				}
				if s.cl != 3 || s.body != "abc" || s.te != nil || s.host != host {
					t.Errorf("got %+v", s)
				}
				if s.header.Get("Connection") != "" {
					t.Errorf("Connection forwarded: %q", s.header.Get("Connection"))
				}
			},
		},
		{
			name: "Host override",
			build: func() *http.Request {
				r := mustReq(t, "GET", srv.URL+"/", nil)
				r.Host = "api.example.com"
				return r
			},
			check: func(t *testing.T, s seen) {
				if s.host != "api.example.com" {
					t.Errorf("host = %q", s.host)
				}
			},
		},
		{
			name:  "raw path and query escaping preserved",
			build: func() *http.Request { return mustReq(t, "GET", srv.URL+"/a%2Fb?x=1&y=%20", nil) },
			check: func(t *testing.T, s seen) {
				if s.uri != "/a%2Fb?x=1&y=%20" {
					t.Errorf("uri = %q", s.uri)
				}
			},
		},
		{
			name:  "empty path",
			build: func() *http.Request { return mustReq(t, "GET", srv.URL, nil) },
			check: func(t *testing.T, s seen) {
				if s.uri != "/" {
					t.Errorf("uri = %q", s.uri)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := fetch(tr, tt.build(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			tt.check(t, <-got)
		})
	}
}

// TestRequestExactBytes checks the wire format on a raw server.
func TestRequestExactBytes(t *testing.T) {
	raw := make(chan string, 1)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		raw <- b.String()
		io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
	})
	tr := &Transport{} // no keep-alive: must not add Connection: close
	req := mustReq(t, "DELETE", "http://"+srv.addr+"/r?q", nil)
	req.Header = http.Header{"X-A": {" v "}}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "DELETE /r?q HTTP/1.1\r\nHost: " + srv.addr + "\r\nX-A: v\r\n\r\n"
	if got := <-raw; got != want {
		t.Errorf("request bytes:\n%q\nwant\n%q", got, want)
	}
}

func TestInvalidRequest(t *testing.T) {
	srv := newRawServer(t, serveCanned("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	tr := newTransport(t)
	u := "http://" + srv.addr + "/"
	tests := []struct {
		name string
		mod  func(r *http.Request)
	}{
		{"CRLF in value", func(r *http.Request) { r.Header.Set("X-A", "a\r\nX-Injected: 1") }},
		{"LF in value", func(r *http.Request) { r.Header.Set("X-A", "a\nb") }},
		{"CR in name", func(r *http.Request) { r.Header["X-A\r"] = []string{"v"} }},
		{"space in name", func(r *http.Request) { r.Header["X A"] = []string{"v"} }},
		{"CRLF in Host", func(r *http.Request) { r.Host = "a\r\nb" }},
		{"space in query", func(r *http.Request) { r.URL.RawQuery = "a b" }},
		{"bad method", func(r *http.Request) { r.Method = "GET /x" }},
		{"https", func(r *http.Request) { r.URL.Scheme = "https" }},
		{"CONNECT", func(r *http.Request) { r.Method = "CONNECT" }},
		{"CL without body", func(r *http.Request) { r.ContentLength = 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustReq(t, "GET", u, nil)
			tt.mod(req)
			if resp, err := tr.RoundTrip(req); err == nil {
				resp.Body.Close()
				t.Fatal("no error")
			}
		})
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("%d connections made for invalid requests", n)
	}
}

func TestResponseFramings(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		resp    string // written once per request
		close   bool   // server closes after writing
		status  int
		body    string
		cl      int64
		te      bool
		rclose  bool // resp.Close
		reused  bool // a second request reuses the connection
		doErr   bool
		bodyErr bool
		check   func(t *testing.T, r *http.Response)
	}{
		{name: "content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello", cl: 5, reused: true,
			check: func(t *testing.T, r *http.Response) {
				if r.Status != "200 OK" || r.Proto != "HTTP/1.1" || r.ProtoMajor != 1 || r.ProtoMinor != 1 {
					t.Errorf("status line fields: %q %q %d.%d", r.Status, r.Proto, r.ProtoMajor, r.ProtoMinor)
				}
			}},
		{name: "chunked with extensions and trailers",
			resp:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;foo=bar\r\nhello\r\n6 ; x=\"y\"\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\nX-T2: 2\r\n\r\n",
			status: 200, body: "hello world0123456789", cl: -1, te: true, reused: true},
		{name: "chunked upper-case hex and TE case", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n00B\r\nhello world\r\n0\r\n\r\n",
			status: 200, body: "hello world", cl: -1, te: true, reused: true},
		{name: "close-delimited", resp: "HTTP/1.1 200 OK\r\nX: y\r\n\r\nuntil close", close: true, status: 200, body: "until close", cl: -1, rclose: true},
		{name: "HEAD", method: "HEAD", resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", status: 200, cl: 100, reused: true},
		{name: "HEAD chunked", method: "HEAD", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", status: 200, cl: -1, reused: true},
		{name: "204", resp: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, reused: true},
		{name: "304", resp: "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\nContent-Length: 50\r\n\r\n", status: 304, reused: true},
		{name: "100-continue then 200", resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", cl: 2, reused: true},
		{name: "103 early hints then 200", resp: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", cl: 2, reused: true,
			check: func(t *testing.T, r *http.Response) {
				if r.Header.Get("Link") != "" {
					t.Error("interim headers leaked")
				}
			}},
		{name: "empty reason phrase", resp: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", status: 200, reused: true,
			check: func(t *testing.T, r *http.Response) {
				if r.Status != "200" {
					t.Errorf("Status %q", r.Status)
				}
			}},
		{name: "Connection close", resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", cl: 1, rclose: true},
		{name: "HTTP/1.0 no keep-alive", resp: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", cl: 1, rclose: true,
			check: func(t *testing.T, r *http.Response) {
				if r.Proto != "HTTP/1.0" || r.ProtoMinor != 0 {
					t.Errorf("proto %q", r.Proto)
				}
			}},
		{name: "HTTP/1.0 keep-alive", resp: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", cl: 1, reused: true},
		{name: "lower-case names canonicalised, repeated values",
			resp:   "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-foo: a\r\nX-FOO: b\r\nset-cookie: c=1\r\nx-weird_name: v\r\n\r\nok",
			status: 200, body: "ok", cl: 2, reused: true,
			check: func(t *testing.T, r *http.Response) {
				if v := r.Header["X-Foo"]; len(v) != 2 || v[0] != "a" || v[1] != "b" {
					t.Errorf("X-Foo = %q", v)
				}
				if r.Header.Get("Set-Cookie") != "c=1" || r.Header.Get("X-Weird_name") != "v" {
					t.Errorf("header %v", r.Header)
				}
			}},
		{name: "identical Content-Lengths", resp: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc", status: 200, body: "abc", cl: 3, reused: true},
		{name: "TE and CL: chunked wins, no reuse", resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 200, body: "abc", cl: -1, te: true, rclose: true,
			check: func(t *testing.T, r *http.Response) {
				if r.Header.Get("Content-Length") != "" || r.Header.Get("Transfer-Encoding") != "" {
					t.Errorf("framing headers kept: %v", r.Header)
				}
			}},
		{name: "bare LF line endings in header", resp: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok", cl: 2, reused: true},
		{name: "zero-length body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, cl: 0, reused: true},
		{name: "values trimmed", resp: "HTTP/1.1 200 OK\r\nX-A: \t v w \t\r\nContent-Length:0\r\n\r\n", status: 200, reused: true,
			check: func(t *testing.T, r *http.Response) {
				if r.Header.Get("X-A") != "v w" {
					t.Errorf("X-A %q", r.Header.Get("X-A"))
				}
			}},

		{name: "malformed status line", resp: "HTTP/1.1 2OO OK\r\n\r\n", doErr: true},
		{name: "HTTP/2 status line", resp: "HTTP/2.0 200 OK\r\n\r\n", doErr: true},
		{name: "garbage", resp: "hello\r\n\r\n", doErr: true},
		{name: "status code 099", resp: "HTTP/1.1 099 X\r\n\r\n", doErr: true},
		{name: "101 switching", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", doErr: true},
		{name: "differing Content-Lengths", resp: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", doErr: true},
		{name: "negative Content-Length", resp: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", doErr: true},
		{name: "Content-Length with sign", resp: "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", doErr: true},
		{name: "TE in HTTP/1.0", resp: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", doErr: true},
		{name: "unsupported TE", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", doErr: true},
		{name: "header without colon", resp: "HTTP/1.1 200 OK\r\nX-A\r\n\r\n", doErr: true},
		{name: "space before colon", resp: "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", doErr: true},
		{name: "obs-fold", resp: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", doErr: true},
		{name: "NUL in value", resp: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", doErr: true},
		{name: "bare CR in value", resp: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", doErr: true},
		{name: "EOF in header", resp: "HTTP/1.1 200 OK\r\nContent-Le", close: true, doErr: true},
		{name: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", status: 200, bodyErr: true},
		{name: "chunk size overflow", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n", status: 200, bodyErr: true},
		{name: "chunk data missing CRLF", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", status: 200, bodyErr: true},
		{name: "chunk line bare LF", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", status: 200, bodyErr: true},
		{name: "chunk size line too long", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + strings.Repeat("x", 5000) + "\r\nhello\r\n0\r\n\r\n", status: 200, bodyErr: true},
		{name: "truncated chunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", close: true, status: 200, bodyErr: true},
		{name: "truncated Content-Length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", close: true, status: 200, bodyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
				for {
					if _, _, err := readReq(br); err != nil {
						return
					}
					if _, err := io.WriteString(c, tt.resp); err != nil || tt.close {
						return
					}
				}
			})
			tr := newTransport(t)
			method := tt.method
			if method == "" {
				method = "GET"
			}
			u := "http://" + srv.addr + "/"
			resp, err := tr.Do(mustReq(t, method, u, nil), Options{ReadTimeout: 5 * time.Second})
			if tt.doErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("no error, status %d", resp.StatusCode)
				}
				if !strings.HasPrefix(err.Error(), "http1 client: ") {
					t.Errorf("error not wrapped: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.bodyErr {
				if err == nil {
					t.Fatalf("no body error, body %q", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || string(b) != tt.body || resp.ContentLength != tt.cl {
				t.Errorf("got %d %q cl=%d, want %d %q cl=%d", resp.StatusCode, b, resp.ContentLength, tt.status, tt.body, tt.cl)
			}
			if te := resp.TransferEncoding; tt.te != (len(te) == 1 && te[0] == "chunked") {
				t.Errorf("TransferEncoding = %q", te)
			}
			if resp.Close != tt.rclose {
				t.Errorf("Close = %v", resp.Close)
			}
			if resp.Request == nil || resp.Uncompressed {
				t.Error("Request/Uncompressed")
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
			if tt.close {
				return
			}
			if _, _, err := fetch(tr, mustReq(t, method, u, nil), Options{}); err != nil {
				t.Fatalf("second request: %v", err)
			}
			want := int32(2)
			if tt.reused {
				want = 1
			}
			if n := srv.conns.Load(); n != want {
				t.Errorf("%d connections for two requests, want %d", n, want)
			}
		})
	}
}

// TestHeaderValuesDoNotAlias checks that appending to one key's values
// does not overwrite another's (they share a backing array).
func TestHeaderValuesDoNotAlias(t *testing.T) {
	srv := newRawServer(t, serveCanned("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n"))
	tr := newTransport(t)
	resp, _, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/", nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Add("A", "x")
	resp.Header["B"] = append(resp.Header["B"], "y")
	if got := fmt.Sprint(resp.Header["A"], resp.Header["B"], resp.Header["C"]); got != "[1 x] [2 y] [3]" {
		t.Errorf("headers %s", got)
	}
}

func TestHeaderSizeLimit(t *testing.T) {
	big := func(n int) string {
		return "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", n) + "\r\nContent-Length: 2\r\n\r\nok"
	}
	for _, tc := range []struct {
		name string
		resp string
		ok   bool
	}{
		{"8KB single line", big(8 << 10), true},
		{"60KB", big(60 << 10), true},
		{"many lines", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Line: 0123456789\r\n", 2000) + "Content-Length: 2\r\n\r\nok", true},
		{"70KB", big(70 << 10), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, serveCanned(tc.resp))
			tr := newTransport(t)
			resp, body, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/", nil), Options{})
			if !tc.ok {
				if err == nil {
					t.Fatal("no error")
				}
				if !errors.Is(err, errHeaderTooLarge) {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if body != "ok" || resp.Header.Get("Content-Length") != "2" {
				t.Errorf("body %q", body)
			}
		})
	}
}

// countingServer is an httptest server counting new connections.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestKeepAliveReuse(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write([]byte("chunk"))
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "body")
	})
	tr := newTransport(t)
	for i := 0; i < 100; i++ {
		path := "/"
		if i%2 == 1 {
			path = "/chunked"
		}
		resp, err := tr.RoundTrip(mustReq(t, "GET", srv.URL+path, nil))
		if err != nil {
			t.Fatal(err)
		}
		// Read to EOF but do not Close yet: the connection must already be
		// back in the pool.
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		if idleCount(tr) != 1 {
			t.Fatalf("request %d: connection not pooled at EOF", i)
		}
		defer resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("100 sequential requests used %d connections", n)
	}
}

func TestServerConnectionClose(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "x")
	})
	tr := newTransport(t)
	for i := 0; i < 3; i++ {
		if _, _, err := fetch(tr, mustReq(t, "GET", srv.URL, nil), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
	if idleCount(tr) != 0 {
		t.Error("closed connection pooled")
	}
}

func TestRequestCloseAndNoKeepAlive(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Connection")+"|"+fmt.Sprint(r.Close))
	})
	tr := newTransport(t)
	req := mustReq(t, "GET", srv.URL, nil)
	req.Close = true
	if _, body, err := fetch(tr, req, Options{}); err != nil || body != "close|true" {
		t.Fatalf("%q %v", body, err)
	}
	nokeep := &Transport{}
	for i := 0; i < 2; i++ {
		if _, body, err := fetch(nokeep, mustReq(t, "GET", srv.URL, nil), Options{}); err != nil || body != "|false" {
			t.Fatalf("%q %v", body, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	tr := &Transport{MaxIdlePerHost: 2, IdleTimeout: 30 * time.Millisecond}
	defer tr.CloseIdleConnections()
	if _, _, err := fetch(tr, mustReq(t, "GET", srv.URL, nil), Options{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond)
	if _, _, err := fetch(tr, mustReq(t, "GET", srv.URL, nil), Options{}); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (expired idle conn reused?)", n)
	}
	// The reaper closes the idle connection of an unused address.
	deadline := time.Now().Add(2 * time.Second)
	for idleCount(tr) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if idleCount(tr) != 0 {
		t.Error("expired idle connection not reaped")
	}
}

func TestMaxIdlePerHost(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	tr := &Transport{MaxIdlePerHost: 2}
	defer tr.CloseIdleConnections()
	var resps []*http.Response
	for i := 0; i < 4; i++ {
		resp, err := tr.RoundTrip(mustReq(t, "GET", srv.URL, nil))
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	if n := idleCount(tr); n != 2 {
		t.Errorf("%d idle, want 2", n)
	}
}

// staleServer answers one request per connection with a keep-alive
// response, then closes the connection, as an upstream whose keep-alive
// timeout expired does.
func staleServer(t *testing.T) *rawServer {
	return newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		_, body, err := readReq(br)
		if err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body)+2, "ok"+string(body))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br) // wait for the client to give up the conn
	})
}

// closingServer answers the first request on each connection with a
// keep-alive response and closes the connection when the second one
// arrives, unanswered: an upstream whose keep-alive timeout expired just
// as the request was on its way, which the pool cannot see coming.
func closingServer(t *testing.T) *rawServer {
	return newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		_, body, err := readReq(br)
		if err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body)+2, "ok"+string(body))
		_, _ = br.ReadByte() // the next request begins
	})
}

// TestStaleIdleConnSkipped: a pooled connection the upstream has closed
// is seen to be closed when taken from the pool and is not used, so
// even a request that may not be replayed (POST) goes out once, on a
// new connection.
func TestStaleIdleConnSkipped(t *testing.T) {
	srv := staleServer(t)
	tr := newTransport(t)
	u := "http://" + srv.addr + "/"
	if _, _, err := fetch(tr, mustReq(t, "GET", u, nil), Options{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the FIN arrives while the connection is idle
	if _, body, err := fetch(tr, mustReq(t, "POST", u, strings.NewReader("data")), Options{}); err != nil || body != "okdata" {
		t.Fatalf("POST: %q %v", body, err)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestRetryOnStaleConn(t *testing.T) {
	u := func(srv *rawServer) string { return "http://" + srv.addr + "/" }
	t.Run("GET", func(t *testing.T) {
		srv := closingServer(t)
		tr := newTransport(t)
		for i := 0; i < 3; i++ {
			if _, body, err := fetch(tr, mustReq(t, "GET", u(srv), nil), Options{}); err != nil || body != "ok" {
				t.Fatalf("request %d: %q %v", i, body, err)
			}
			if idleCount(tr) != 1 {
				t.Fatal("connection not pooled: the next request would not test a retry")
			}
		}
		if n := srv.conns.Load(); n != 3 {
			t.Errorf("%d connections, want 3", n)
		}
	})
	t.Run("PUT with GetBody", func(t *testing.T) {
		srv := closingServer(t)
		tr := newTransport(t)
		for i := 0; i < 3; i++ {
			req := mustReq(t, "PUT", u(srv), strings.NewReader("data"))
			if _, body, err := fetch(tr, req, Options{}); err != nil || body != "okdata" {
				t.Fatalf("request %d: %q %v", i, body, err)
			}
		}
	})
	t.Run("POST with an idempotency key", func(t *testing.T) {
		srv := closingServer(t)
		tr := newTransport(t)
		for i := 0; i < 3; i++ {
			req := mustReq(t, "POST", u(srv), strings.NewReader("data"))
			req.Header.Set("Idempotency-Key", fmt.Sprint(i))
			if _, body, err := fetch(tr, req, Options{}); err != nil || body != "okdata" {
				t.Fatalf("request %d: %q %v", i, body, err)
			}
		}
	})
	t.Run("POST is not replayed: the upstream may have acted on it", func(t *testing.T) {
		srv := closingServer(t)
		tr := newTransport(t)
		if _, _, err := fetch(tr, mustReq(t, "GET", u(srv), nil), Options{}); err != nil {
			t.Fatal(err)
		}
		req := mustReq(t, "POST", u(srv), strings.NewReader("data"))
		if _, _, err := fetch(tr, req, Options{}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("PUT without GetBody is not retried", func(t *testing.T) {
		srv := closingServer(t)
		tr := newTransport(t)
		if _, _, err := fetch(tr, mustReq(t, "GET", u(srv), nil), Options{}); err != nil {
			t.Fatal(err)
		}
		req := mustReq(t, "PUT", u(srv), strings.NewReader("data"))
		req.GetBody = nil
		if _, _, err := fetch(tr, req, Options{}); err == nil {
			t.Fatal("no error")
		}
		if n := srv.conns.Load(); n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
	})
}

func TestNoRetryAfterPartialResponse(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		if _, _, err := readReq(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		if _, _, err := readReq(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le")
	})
	tr := newTransport(t)
	u := "http://" + srv.addr + "/"
	if _, _, err := fetch(tr, mustReq(t, "GET", u, nil), Options{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := fetch(tr, mustReq(t, "GET", u, nil), Options{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections: retried after response bytes", n)
	}
}

func TestReadTimeoutHeaders(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		readReq(br)
		<-release
	})
	tr := newTransport(t)
	start := time.Now()
	_, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/", nil), Options{ReadTimeout: 100 * time.Millisecond})
	d := time.Since(start)
	if !isTimeout(err) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if d < 90*time.Millisecond || d > time.Second {
		t.Errorf("timed out after %v", d)
	}
}

func TestReadTimeoutBody(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		readReq(br)
		// Trickle one byte every 40ms, in all well over ReadTimeout, then stall.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")
		for i := 0; i < 10; i++ {
			time.Sleep(40 * time.Millisecond)
			io.WriteString(c, "x")
		}
		<-release
	})
	tr := newTransport(t)
	resp, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/", nil), Options{ReadTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	total := 0
	start := time.Now()
	for {
		n, err := resp.Body.Read(buf)
		total += n
		if err != nil {
			if !isTimeout(err) {
				t.Fatalf("err = %v, want timeout", err)
			}
			break
		}
		start = time.Now()
	}
	if total != 10 {
		t.Errorf("read %d bytes before the timeout, want 10 (timeout must be between reads)", total)
	}
	if d := time.Since(start); d < 140*time.Millisecond || d > time.Second {
		t.Errorf("timed out %v after the last read", d)
	}
	if _, err := resp.Body.Read(buf); err == nil {
		t.Error("read after timeout succeeded")
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) { <-release }) // never reads
	tr := newTransport(t)
	req := mustReq(t, "POST", "http://"+srv.addr+"/", bytes.NewReader(make([]byte, 64<<20)))
	start := time.Now()
	_, err := tr.Do(req, Options{SendTimeout: 100 * time.Millisecond})
	if !isTimeout(err) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := newTransport(t)
	body := &closeTracker{Reader: strings.NewReader("x")}
	req := mustReq(t, "POST", "http://"+addr+"/", body)
	req.ContentLength = 1
	_, err = tr.Do(req, Options{ConnectTimeout: time.Second})
	var oe *net.OpError
	if !errors.As(err, &oe) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %#v, want *net.OpError with ECONNREFUSED", err)
	}
	if !body.closed.Load() {
		t.Error("request body not closed on dial error")
	}
}

func TestCustomDialConnectTimeout(t *testing.T) {
	var hasDeadline atomic.Bool
	tr := &Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, ok := ctx.Deadline()
		hasDeadline.Store(ok)
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}}
	_, err := tr.Do(mustReq(t, "GET", "http://127.0.0.1:1/", nil), Options{ConnectTimeout: time.Second})
	if err == nil || !hasDeadline.Load() {
		t.Fatalf("err %v, deadline passed %v", err, hasDeadline.Load())
	}
}

type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestRequestBodyClosed(t *testing.T) {
	srv := newRawServer(t, serveCanned("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	tr := newTransport(t)
	body := &closeTracker{Reader: strings.NewReader("abc")}
	req := mustReq(t, "POST", "http://"+srv.addr+"/", body)
	req.ContentLength = 3
	if _, _, err := fetch(tr, req, Options{}); err != nil {
		t.Fatal(err)
	}
	if !body.closed.Load() {
		t.Error("request body not closed")
	}

	short := &closeTracker{Reader: strings.NewReader("ab")}
	req = mustReq(t, "POST", "http://"+srv.addr+"/", short)
	req.ContentLength = 3
	if _, _, err := fetch(tr, req, Options{}); err == nil || !short.closed.Load() {
		t.Errorf("short body: err %v, closed %v", err, short.closed.Load())
	}
}

func TestContextCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		req, _, err := readReq(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/body" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		}
		<-release
	})
	tr := newTransport(t)
	t.Run("headers", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/", nil).WithContext(ctx), Options{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/body", nil).WithContext(ctx), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 3)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err = resp.Body.Read(buf)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/", nil).WithContext(ctx), Options{ReadTimeout: 10 * time.Second})
		if !errors.Is(err, context.DeadlineExceeded) || !isTimeout(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/", nil).WithContext(ctx), Options{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestContextAfterBody checks that a context cancelled after the exchange
// (the common case: the proxy's per-attempt cancel) does not disturb the
// pooled connection.
func TestContextAfterBody(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	tr := newTransport(t)
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		_, body, err := fetch(tr, mustReq(t, "GET", srv.URL, nil).WithContext(ctx), Options{ReadTimeout: time.Second, SendTimeout: time.Second})
		cancel()
		if err != nil || body != "x" {
			t.Fatalf("%q %v", body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections", n)
	}
}

func TestBodyClose(t *testing.T) {
	big := strings.Repeat("z", 1<<20)
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, strings.Repeat("s", 10000))
		case "/smallchunked":
			for i := 0; i < 10; i++ {
				io.WriteString(w, strings.Repeat("c", 1000))
				w.(http.Flusher).Flush()
			}
		case "/big":
			io.WriteString(w, big)
		}
	})
	tr := newTransport(t)
	get := func(path string) {
		t.Helper()
		resp, err := tr.RoundTrip(mustReq(t, "GET", srv.URL+path, nil))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		if _, err := resp.Body.Read(buf); err == nil {
			t.Fatal("Read after Close succeeded")
		}
	}
	get("/small")
	get("/smallchunked")
	get("/small")
	if n := conns.Load(); n != 1 {
		t.Errorf("small remainders not drained: %d connections", n)
	}
	get("/big")
	get("/small")
	if n := conns.Load(); n != 2 {
		t.Errorf("big remainder: %d connections, want 2", n)
	}
}

func TestConcurrentCloseAbortsRead(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		readReq(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
		<-release
	})
	tr := newTransport(t)
	resp, err := tr.RoundTrip(mustReq(t, "GET", "http://"+srv.addr+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { resp.Body.Close() })
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v to abort Read", d)
	}
}

// TestEarlyResponse: the upstream rejects a large upload without reading
// it. Either its response or an error is fine; a hang is not.
func TestEarlyResponse(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
	})
	tr := newTransport(t)
	req := mustReq(t, "POST", "http://"+srv.addr+"/", bytes.NewReader(make([]byte, 32<<20)))
	resp, body, err := fetch(tr, req, Options{SendTimeout: 3 * time.Second, ReadTimeout: 3 * time.Second})
	if err == nil && (resp.StatusCode != 413 || body != "big") {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	t.Logf("status %v err %v", resp != nil, err)
}

func TestConcurrent(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", r.URL.Path)
		w.Write(b)
		io.WriteString(w, r.URL.Path)
	})
	tr := &Transport{MaxIdlePerHost: 8}
	defer tr.CloseIdleConnections()
	const G, N = 8, 200
	var wg sync.WaitGroup
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < N; i++ {
				path := fmt.Sprintf("/g%d/%d", g, i)
				var body io.Reader
				method := "GET"
				if i%3 == 0 {
					method, body = "POST", strings.NewReader("payload-")
				}
				resp, got, err := fetch(tr, mustReq(t, method, srv.URL+path, body), Options{ReadTimeout: 5 * time.Second})
				if err != nil {
					t.Error(err)
					return
				}
				want := path
				if body != nil {
					want = "payload-" + path
				}
				if got != want || resp.Header.Get("X-Path") != path {
					t.Errorf("got %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := conns.Load(); n > 2*G {
		t.Errorf("%d connections for %d goroutines", n, G)
	}
}

func TestChunkedEOFWithLastData(t *testing.T) {
	// The last data chunk and the terminating chunk arrive together: the
	// Read that returns the data also returns io.EOF and pools the conn.
	srv := newRawServer(t, serveCanned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	tr := newTransport(t)
	resp, err := tr.RoundTrip(mustReq(t, "GET", "http://"+srv.addr+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 100)
	n, err := resp.Body.Read(buf)
	if n != 3 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 3, EOF", n, err)
	}
	if idleCount(tr) != 1 {
		t.Error("connection not pooled")
	}
}

func TestParseChunkSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0\r\n": 0, "a\r\n": 10, "FF\r\n": 255, "10;x=y\r\n": 16, "10 ;x\r\n": 16, "10\t\r\n": 16,
		"ffffffffffffff\r\n": 0xffffffffffffff,
		"\r\n":               -1, "x\r\n": -1, "1 2\r\n": -1, "1\n": -1, "1;\x00\r\n": -1, "-1\r\n": -1,
		"fffffffffffffffff\r\n": -1, " 1\r\n": -1,
	} {
		got, ok := parseChunkLine([]byte(in))
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("parseChunkLine(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nclose delimited",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200\nA:b\n\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data string, head bool) {
		tr := &Transport{MaxIdlePerHost: 1, Dial: fakeDial(data)}
		defer tr.CloseIdleConnections()
		method := "GET"
		if head {
			method = "HEAD"
		}
		// Two requests: the second may reuse the connection (and read
		// what follows the first response) or dial a fresh copy.
		for i := 0; i < 2; i++ {
			req, _ := http.NewRequest(method, "http://fuzz.test:80/", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				if resp != nil {
					t.Fatal("response with error")
				}
				continue
			}
			if resp.StatusCode < 200 || resp.StatusCode > 999 || resp.Body == nil || resp.Header == nil {
				t.Fatalf("bad response %+v", resp)
			}
			b, err := io.ReadAll(resp.Body)
			if err == nil && resp.ContentLength >= 0 && !head && int64(len(b)) != resp.ContentLength {
				t.Fatalf("read %d bytes, ContentLength %d", len(b), resp.ContentLength)
			}
			if i == 0 && err == nil {
				// Where net/http also accepts the first response, it must
				// agree on status and body.
				stdResp, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader(data)), req)
				if stdErr == nil && stdResp.StatusCode >= 200 {
					sb, sErr := io.ReadAll(stdResp.Body)
					if sErr == nil && (stdResp.StatusCode != resp.StatusCode || string(sb) != string(b)) {
						t.Fatalf("net/http: %d %q; client: %d %q", stdResp.StatusCode, sb, resp.StatusCode, b)
					}
				}
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
				t.Fatal("read after close succeeded")
			}
		}
	})
}

// FuzzRawHead: a RawHead parse accepts and refuses what the usual parse
// does, its Header (once built) is the usual one, and its lines, when
// offered, are CRLF-terminated and say exactly what that Header says
// but for Content-Length.
func FuzzRawHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nServer: s\r\nDate: d\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nX-A: 1\r\nKeep-Alive: t\r\nx-a: 2\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: x-b\r\nX-B: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200\nA:b\n\n",
		"HTTP/1.1 204 No Content\r\nA: 1\r\nTe: x\r\nB: 2\r\nUpgrade: u\r\nC: 3\r\nTrailer: t\r\nD: 4\r\nProxy-Connection: p\r\nE: 5\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		do := func(o Options) (*http.Response, error) {
			tr := &Transport{MaxIdlePerHost: 1, Dial: fakeDial(data)}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", "http://fuzz.test:80/", nil)
			resp, err := tr.Do(req, o)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			return resp, err
		}
		ref, refErr := do(Options{DropHopByHop: true})
		slot := new(Slot)
		resp, err := do(Options{DropHopByHop: true, Slot: slot, RawHead: true})
		if (err == nil) != (refErr == nil) {
			t.Fatalf("RawHead error %v, usual error %v", err, refErr)
		}
		if err != nil {
			return
		}
		lines, _, ok := slot.RawHead(resp)
		if h := slot.Header(resp); !reflect.DeepEqual(h, ref.Header) {
			t.Fatalf("Header %v, usual %v", h, ref.Header)
		}
		if !ok {
			return
		}
		head := strings.Join(lines, "")
		if !strings.HasSuffix(head, "\r\n") && head != "" || strings.Count(head, "\n") != strings.Count(head, "\r\n") ||
			strings.Count(head, "\r") != strings.Count(head, "\r\n") {
			t.Fatalf("lines %q", lines)
		}
		got, err := textproto.NewReader(bufio.NewReader(strings.NewReader(head + "\r\n"))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("lines %q: %v", lines, err)
		}
		want := http.Header{}
		for k, v := range ref.Header {
			if k != "Content-Length" {
				want[k] = v
			}
		}
		if !reflect.DeepEqual(http.Header(got), want) {
			t.Fatalf("lines %q say %v; the Header %v", lines, got, want)
		}
	})
}

// lateEnd yields its pieces, then waits before reporting the end.
type lateEnd struct {
	pieces []string
	wait   time.Duration
}

func (l *lateEnd) Read(p []byte) (int, error) {
	if len(l.pieces) == 0 {
		time.Sleep(l.wait)
		return 0, io.EOF
	}
	n := copy(p, l.pieces[0])
	l.pieces = l.pieces[1:]
	return n, nil
}

// TestSendTimeoutPerPiece: the send timeout bounds each write of the
// request, renewed as the body comes: a body whose end comes later than
// the timeout after its last piece (a client that ends its upload late)
// is sent whole, its last chunk and flush included. Before, the final
// flush ran under the deadline of the last piece and timed out.
func TestSendTimeoutPerPiece(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		_, body, err := readReq(br)
		if err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	tr := newTransport(t)
	// Chunked (length unknown): the end is a read of its own.
	body := &lateEnd{pieces: []string{"abc", "def"}, wait: 500 * time.Millisecond}
	req := mustReq(t, "POST", "http://"+srv.addr+"/", body)
	req.ContentLength = -1
	_, got, err := fetch(tr, req, Options{SendTimeout: 200 * time.Millisecond, ReadTimeout: 2 * time.Second})
	if err != nil || got != "abcdef" {
		t.Errorf("%q %v", got, err)
	}
}

// TestLargeRequestHead: a request head larger than the write buffer, with
// and without a body, reaches the upstream whole, and the connection
// stays usable for a small request after it.
func TestLargeRequestHead(t *testing.T) {
	type seen struct {
		hdr  http.Header
		body string
	}
	got := make(chan seen, 4)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		for {
			req, b, err := readReq(br)
			if err != nil {
				return
			}
			got <- seen{req.Header, string(b)}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTransport(t)
	for _, c := range []struct {
		name   string
		fields int
		body   string
	}{
		{"head over the buffer", 8, ""},
		{"head and body over the buffer", 8, "payload"},
		{"small after large", 1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req := mustReq(t, "POST", "http://"+srv.addr+"/p", body)
			for i := range c.fields {
				req.Header.Set(fmt.Sprintf("X-Big-%d", i), strings.Repeat(string(rune('a'+i)), 1000))
			}
			if _, b, err := fetch(tr, req, Options{ReadTimeout: 5 * time.Second}); err != nil || b != "ok" {
				t.Fatalf("%q %v", b, err)
			}
			s := <-got
			for i := range c.fields {
				if v := s.hdr.Get(fmt.Sprintf("X-Big-%d", i)); v != strings.Repeat(string(rune('a'+i)), 1000) {
					t.Errorf("X-Big-%d: %d bytes", i, len(v))
				}
			}
			if s.body != c.body {
				t.Errorf("body %q, want %q", s.body, c.body)
			}
		})
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestDropHopByHop: with DropHopByHop the response's Header holds only the
// end-to-end fields: no hop-by-hop field, none that Connection names, and
// repeated fields (also past the first sixteen names) keep every value;
// the framing those fields carried still applies.
func TestDropHopByHop(t *testing.T) {
	many := numberedFields(20) + "X-N3: b\r\nx-n19: b\r\n"
	for _, c := range []struct {
		name  string
		resp  string
		want  http.Header
		body  string
		close bool
	}{
		{"hop fields and named ones",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nconnection: x-other\r\nKeep-Alive: timeout=5\r\nX-Secret: 1\r\nx-other: 2\r\nUpgrade: h2c\r\nTe: trailers\r\nProxy-Connection: x\r\nTrailer: X-T\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 2\r\n\r\nok",
			http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}, "Content-Length": {"2"}}, "ok", false},
		{"chunked and close",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-Kept: 1\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			http.Header{"X-Kept": {"1"}}, "ok", true},
		{"more names than the repeat list holds",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + many + "\r\nok",
			func() http.Header {
				h := http.Header{"Content-Length": {"2"}}
				for i := range 20 {
					h[fmt.Sprintf("X-N%d", i)] = []string{"a"}
				}
				h["X-N3"] = []string{"a", "b"}
				h["X-N19"] = []string{"a", "b"}
				return h
			}(), "ok", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newRawServer(t, serveCanned(c.resp))
			tr := newTransport(t)
			for _, slot := range []*Slot{nil, new(Slot)} {
				resp, body, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/", nil),
					Options{ReadTimeout: 5 * time.Second, DropHopByHop: true, Slot: slot})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(resp.Header, c.want) || body != c.body || resp.Close != c.close {
					t.Errorf("header %v body %q close %v; want %v %q %v", resp.Header, body, resp.Close, c.want, c.body, c.close)
				}
			}
		})
	}
}

// TestRequestFields: Options.Fields go after the Header's fields and
// replace those of the same names; DropHopByHop keeps the Header's
// hop-by-hop fields, and its Connection's close, off the wire; bad
// Fields are refused before anything is sent.
func TestRequestFields(t *testing.T) {
	heads := make(chan string, 4)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		for {
			head, err := readHead(br)
			if err != nil {
				return
			}
			heads <- head
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTransport(t)
	req := mustReq(t, "GET", "http://"+srv.addr+"/f", nil)
	req.Header["X-Forwarded-For"] = []string{"10.0.0.1"}
	req.Header["Keep-Alive"] = []string{"timeout=5"}
	req.Header["Connection"] = []string{"close"}
	req.Header["Te"] = []string{"trailers"}
	o := Options{ReadTimeout: 5 * time.Second, DropHopByHop: true, Fields: []string{"X-Forwarded-For", "10.0.0.1, 127.0.0.1", "X-Real-Ip", "127.0.0.1"}}
	if _, b, err := fetch(tr, req, o); err != nil || b != "ok" {
		t.Fatalf("%q %v", b, err)
	}
	want := "GET /f HTTP/1.1\r\nHost: " + srv.addr + "\r\nX-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Real-Ip: 127.0.0.1\r\n\r\n"
	if got := <-heads; got != want {
		t.Errorf("sent\n%q\nwant\n%q", got, want)
	}
	for _, fields := range [][]string{{"X-Odd"}, {"Bad Name", "v"}, {"X-V", "a\r\nb"}, {"Content-Length", "5"}} {
		o.Fields = fields
		if _, _, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/f", nil), o); err == nil {
			t.Errorf("Fields %q accepted", fields)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections: the client's close reached the pool", n)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"a:81": "a:81", "a": "a:80", "127.0.0.1:18080": "127.0.0.1:18080", "[::1]:8080": "[::1]:8080",
		"[::1]": "[::1]:80", "::1": "::1", "[fe80::1%25eth0]": "[fe80::1%25eth0]:80", "": ":80",
	} {
		if got := hostPort(in); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEmptyHeaderName: a Header with an empty name is refused before
// anything is sent, with Fields set or not.
func TestEmptyHeaderName(t *testing.T) {
	srv := newRawServer(t, serveCanned("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr := newTransport(t)
	for _, o := range []Options{{}, {DropHopByHop: true, Fields: []string{"X-Real-Ip", "127.0.0.1"}}} {
		req := mustReq(t, "GET", "http://"+srv.addr+"/", nil)
		req.Header[""] = []string{"v"}
		if _, _, err := fetch(tr, req, o); err == nil {
			t.Errorf("%+v: an empty name was accepted", o)
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("%d connections made", n)
	}
}

// TestRawHead: with Options.RawHead the response has no Header until
// Slot.Header builds it, and then the very map a DropHopByHop parse makes;
// Slot.RawHead gives the lines to pass on as they came, without the
// hop-by-hop fields, Content-Length and Transfer-Encoding, or refuses
// (ok false) when they cannot go out as they are.
func TestRawHead(t *testing.T) {
	many := numberedFields(20)
	for _, c := range []struct {
		name  string
		resp  string
		lines []string
		date  bool
		ok    bool
		ctype string
		body  string
	}{
		{"the usual", "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 06 Dec 2026 06:06:40 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
			[]string{"Server: nginx\r\nDate: Sun, 06 Dec 2026 06:06:40 GMT\r\nContent-Type: text/plain\r\n"}, true, true, "text/plain", "ok"},
		{"fields left out split the runs", "HTTP/1.1 200 OK\r\nX-A: 1\r\nKeep-Alive: timeout=5\r\nX-B: 2\r\nContent-Length: 2\r\nX-C: 3\r\nUpgrade: h2c\r\n\r\nok",
			[]string{"X-A: 1\r\n", "X-B: 2\r\n", "X-C: 3\r\n"}, false, true, "", "ok"},
		{"names and spacing as they came", "HTTP/1.1 200 OK\r\ncontent-type:text/html  \r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok",
			[]string{"content-type:text/html  \r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n"}, false, true, "text/html", "ok"},
		{"a length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX-A: 1\r\n\r\nok",
			[]string{"X-A: 1\r\n"}, false, true, "", "ok"},
		{"no fields", "HTTP/1.1 204 No Content\r\n\r\n", []string{}, false, true, "", ""},
		{"more fields than the arrays hold", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + many + "X-N3: b\r\n\r\nok",
			[]string{many + "X-N3: b\r\n"}, false, true, "", "ok"},
		{"chunked beside a length", "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nX-B: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			[]string{"X-A: 1\r\n", "X-B: 2\r\n"}, false, true, "", "ok"},
		{"a bare LF", "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
			nil, false, false, "text/plain", "ok"},
		{"Connection names a field", "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nX-A: 2\r\nContent-Length: 2\r\n\r\nok",
			nil, false, false, "", "ok"},
		{"more runs than it keeps", "HTTP/1.1 200 OK\r\nX-A: 1\r\nTe: a\r\nX-B: 1\r\nTe: a\r\nX-C: 1\r\nTe: a\r\nX-D: 1\r\nTe: a\r\nX-E: 1\r\nContent-Length: 2\r\n\r\nok",
			nil, false, false, "", "ok"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newRawServer(t, serveCanned(c.resp))
			tr := newTransport(t)
			ref, _, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/", nil),
				Options{ReadTimeout: 5 * time.Second, DropHopByHop: true})
			if err != nil {
				t.Fatal(err)
			}
			slot := new(Slot)
			for i := range 2 { // the second reuses the slot
				resp, err := tr.Do(mustReq(t, "GET", "http://"+srv.addr+"/", nil),
					Options{ReadTimeout: 5 * time.Second, DropHopByHop: true, Slot: slot, RawHead: true})
				if err != nil {
					t.Fatal(err)
				}
				if c.ok && resp.Header != nil {
					t.Errorf("run %d: Header built: %v", i, resp.Header)
				}
				lines, date, ok := slot.RawHead(resp)
				if ok != c.ok || date != c.date || ok && !reflect.DeepEqual(lines, c.lines) {
					t.Errorf("run %d: RawHead %q %v %v; want %q %v %v", i, lines, date, ok, c.lines, c.date, c.ok)
				}
				if got := slot.Get("Content-Type"); got != c.ctype {
					t.Errorf("run %d: Get(Content-Type) %q; want %q", i, got, c.ctype)
				}
				if h := slot.Header(resp); !reflect.DeepEqual(h, ref.Header) || !reflect.DeepEqual(resp.Header, ref.Header) {
					t.Errorf("run %d: Header %v; want %v", i, h, ref.Header)
				}
				if _, _, ok := slot.RawHead(resp); ok {
					t.Errorf("run %d: RawHead still offered once the Header was built", i)
				}
				if resp.ContentLength != ref.ContentLength || resp.StatusCode != ref.StatusCode {
					t.Errorf("run %d: length %d status %d; want %d %d", i, resp.ContentLength, resp.StatusCode, ref.ContentLength, ref.StatusCode)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != c.body {
					t.Errorf("run %d: body %q %v; want %q", i, b, err, c.body)
				}
			}
			// A parse without RawHead into the same slot: no raw lines.
			resp, _, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/", nil),
				Options{ReadTimeout: 5 * time.Second, DropHopByHop: true, Slot: slot})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, ok := slot.RawHead(resp); ok || !reflect.DeepEqual(slot.Header(resp), ref.Header) {
				t.Errorf("a parse without RawHead: RawHead ok %v, Header %v", ok, resp.Header)
			}
		})
	}
}

// TestRawHeadSlotReuse: a slot reused for a smaller answer after a larger
// one (more fields, a Date, more than its arrays hold) keeps nothing of
// the first: no field, no Date, no lines.
func TestRawHeadSlotReuse(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nDate: Sun, 06 Dec 2026 06:06:40 GMT\r\nX-Old: 1\r\nContent-Length: 2\r\n" + numberedFields(20) + "\r\nok"
	small := "HTTP/1.1 200 OK\r\nX-New: 2\r\nContent-Length: 2\r\n\r\nok"
	slot := new(Slot)
	tr := newTransport(t)
	for i, a := range []string{small, big, small} {
		srv := newRawServer(t, serveCanned(a))
		resp, _, err := fetch(tr, mustReq(t, "GET", "http://"+srv.addr+"/", nil),
			Options{ReadTimeout: 5 * time.Second, DropHopByHop: true, Slot: slot, RawHead: true})
		if err != nil {
			t.Fatal(err)
		}
		lines, date, ok := slot.RawHead(resp)
		if a == big {
			if !ok || !date || len(lines) != 2 || slot.Get("X-Old") != "1" || slot.Get("X-N19") != "a" {
				t.Errorf("answer %d: %q %v %v", i, lines, date, ok)
			}
			continue
		}
		if !ok || date || !reflect.DeepEqual(lines, []string{"X-New: 2\r\n"}) || slot.Has("X-Old") || slot.Has("Date") || slot.Get("X-New") != "2" {
			t.Errorf("answer %d: %q date %v ok %v, X-Old %v", i, lines, date, ok, slot.Has("X-Old"))
		}
		if h := slot.Header(resp); !reflect.DeepEqual(h, http.Header{"X-New": {"2"}, "Content-Length": {"2"}}) {
			t.Errorf("answer %d: Header %v", i, h)
		}
	}
}

// TestRequestLinesSent: Options.Lines go out as they came in place of the
// Header's fields, but for those the client writes itself (Host,
// Connection, Content-Length, Transfer-Encoding), the hop-by-hop ones
// with DropHopByHop, and those Fields replace; without DropHopByHop a
// Connection line's close closes the upstream connection, as the
// Header's does.
func TestRequestLinesSent(t *testing.T) {
	heads := make(chan string, 4)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int) {
		for {
			head, err := readHead(br)
			if err != nil {
				return
			}
			body := make([]byte, 3)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			heads <- head + string(body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	var lines []wire.Line
	for _, l := range [][3]string{
		{"User-Agent", "user-agent: ua", "ua"},
		{"Keep-Alive", "Keep-Alive: timeout=5", "timeout=5"},
		{"X-Forwarded-For", "X-Forwarded-For: 6.6.6.6", "6.6.6.6"},
		{"Connection", "Connection: close", "close"},
		{"Content-Length", "Content-Length: 99", "99"},
		{"Transfer-Encoding", "Transfer-Encoding: chunked", "chunked"},
		{"Host", "Host: evil", "evil"},
		{"X-A", "X-A:  1 ", "1"},
		{"Te", "TE: trailers", "trailers"},
	} {
		lines = append(lines, wire.Line{Key: l[0], Text: l[1], Value: l[2]})
	}
	fields := []string{"X-Forwarded-For", "10.0.0.1, 127.0.0.1", "X-Real-Ip", "127.0.0.1"}
	tr := newTransport(t)
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{DropHopByHop: true, Fields: fields, Lines: lines},
			"POST /f HTTP/1.1\r\nHost: %s\r\nuser-agent: ua\r\nX-A:  1 \r\nX-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Real-Ip: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"},
		{Options{Lines: lines},
			"POST /f HTTP/1.1\r\nHost: %s\r\nuser-agent: ua\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 6.6.6.6\r\nX-A:  1 \r\nTE: trailers\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
	} {
		req := mustReq(t, "POST", "http://"+srv.addr+"/f", strings.NewReader("abc"))
		req.Header["X-Map"] = []string{"the lines replace the Header"}
		c.o.ReadTimeout = 5 * time.Second
		if _, b, err := fetch(tr, req, c.o); err != nil || b != "ok" {
			t.Fatalf("%q %v", b, err)
		}
		if got, want := <-heads, fmt.Sprintf(c.want, srv.addr); got != want {
			t.Errorf("DropHopByHop %v: sent\n%s\nwant\n%s", c.o.DropHopByHop, got, want)
		}
	}
}
