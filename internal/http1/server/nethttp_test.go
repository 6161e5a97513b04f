package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
)

// describeRequest is what both parsers must agree on about a request
// they both accept: its line, Host, framing, body and fields.
func describeRequest(r *http.Request, body []byte) string {
	return fmt.Sprintf("%s %q %q %s host=%q cl=%d te=%v close=%v body=%q %s",
		r.Method, r.URL.Path, r.URL.RawQuery, r.Proto, r.Host, r.ContentLength, r.TransferEncoding, r.Close, body,
		rawhttp.Fields(r.Header, "Host"))
}

// ours serves in on one connection and returns what the handler saw of
// each request, in order, up to the first the server refused or whose
// body it could not read (either ends the connection).
func ours(t testing.TB, in []byte) []string {
	var seen []string
	refused := false
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			refused = true // the connection ends with this request
		}
		if !refused {
			seen = append(seen, describeRequest(r, b))
		}
	})}
	s.defaults()
	s.conns = map[*conn]struct{}{}
	fc := &fakeConn{r: bytes.NewReader(in)}
	s.newConn(fc).serve()
	return seen
}

// theirs reads the requests in in with net/http's parser, up to the
// first it refuses or whose body it cannot read.
func theirs(in []byte) []string {
	var seen []string
	br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return seen
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return seen
		}
		seen = append(seen, describeRequest(r, b))
		if r.Close {
			return seen
		}
	}
}

// stretch puts n bytes of "a" where in has its first '~': the fuzzer
// rarely writes lines of thousands of bytes, and parsers break at their
// buffers' edges (TestLongFieldLines).
func stretch(in []byte, n uint16) []byte {
	i := bytes.IndexByte(in, '~')
	if i < 0 {
		return in
	}
	return slices.Concat(in[:i], bytes.Repeat([]byte("a"), int(n)), in[i+1:])
}

// FuzzRequestFraming: where Stargate's listener and net/http's parser
// both accept a stream of requests, they read the same requests from it:
// the same lines, fields, bodies and boundaries. A disagreement on where
// one request ends and the next begins is request smuggling's first
// step; Stargate may refuse more than net/http does (nginx's rules), but
// never read a stream differently.
func FuzzRequestFraming(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: y\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://h/p HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\nHost: x\nContent-Length: 5\nX: ~\n\nabcdeGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nCookie: a=1\r\n\r\n",
	} {
		f.Add([]byte(s), uint16(4093))
	}
	f.Fuzz(func(t *testing.T, in []byte, n uint16) {
		in = stretch(in, n%9000)
		a, b := ours(t, in), theirs(in)
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				t.Fatalf("request %d of %.400q:\nStargate: %.400s\nnet/http: %.400s", i, in, a[i], b[i])
			}
		}
	})
}
