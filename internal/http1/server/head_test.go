package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
)

// dump answers with everything the handler sees of a request, headers
// in sorted order, and its field lines (RequestLines).
var dump = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	lines, ok := RequestLines(w, r)
	b, err := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %q %q %s host=%q cl=%d te=%v body=%q err=%v close=%v fields=%s lines=%v %q",
		r.Method, r.URL.Path, r.URL.RawQuery, r.Proto, r.Host, r.ContentLength, r.TransferEncoding, b, err, r.Close,
		rawhttp.Fields(r.Header), ok, lines)
})

// serveInput runs one connection over in and returns what the server
// wrote, its Date fields taken out. oneByte makes every read return a
// single byte, so that no head is ever found whole in the reader.
func serveInput(t testing.TB, in []byte, oneByte bool) string {
	return serveInputLimit(t, in, oneByte, 512)
}

// serveInputLimit is serveInput with a MaxHeaderBytes of limit.
func serveInputLimit(t testing.TB, in []byte, oneByte bool, limit int) string {
	s := &Server{Handler: dump, MaxHeaderBytes: limit}
	s.defaults()
	s.conns = map[*conn]struct{}{}
	fc := &fakeConn{r: bytes.NewReader(in)}
	c := s.newConn(fc)
	if oneByte {
		c.rwc = oneByteConn{fc}
	}
	c.serve()
	return dateLine.ReplaceAllString(fc.w.String(), "")
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

type oneByteConn struct{ *fakeConn }

func (c oneByteConn) Read(p []byte) (int, error) { return iotest.OneByteReader(c.fakeConn.r).Read(p) }

// TestHeadInOnePiece: a head found whole in the reader (bufferedHead,
// copied out in one piece) reads as the same head read line by line
// (readHeaderBlock), for line ends, pipelining, bodies that hold an empty
// line, leading empty lines and the size limit.
func TestHeadInOnePiece(t *testing.T) {
	long := strings.Repeat("v", 440)
	for _, in := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a?b=c HTTP/1.1\r\nHost: x\r\nUser-Agent: u\r\nDNT: 1\r\nsec-fetch-dest: document\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\n\r\n",
		"GET / HTTP/1.1\nHost: x\r\n\n",
		"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX:\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: y\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\na\r\n\r\nbcGET /3 HTTP/1.1\r\nHost: z\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "\r\n\r\n",   // under the limit
		"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "xx\r\n\r\n", // over it
		"GET / HTTP/1.1\r\nHost: x\r\n X: folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX Y: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGE", // answered, though the next request never ends
		// Repeats among the first 16 fields and past them.
		"GET / HTTP/1.1\r\nHost: x\r\nX-0: a\r\n" + numbered(1, 20) + "x-0: b\r\nX-18: c\r\nX-2: d\r\n\r\n",
	} {
		whole, lines := serveInput(t, []byte(in), false), serveInput(t, []byte(in), true)
		if whole != lines {
			t.Errorf("%q:\nwhole: %q\nlines: %q", in, whole, lines)
		}
		if !strings.HasPrefix(whole, "HTTP/1.1 ") && !strings.HasSuffix(in, "x\r\n") {
			t.Errorf("%q: no answer: %q", in, whole)
		}
	}
}

// FuzzHeadInOnePiece: any input gets the same answers whether its heads
// are found whole in the reader or read line by line.
func FuzzHeadInOnePiece(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\r\n\r\n",
		"\r\nGET / HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.HasPrefix(in, h2Preface) {
			return // HTTP/2 frames, not ours to check
		}
		if whole, lines := serveInput(t, in, false), serveInput(t, in, true); whole != lines {
			t.Fatalf("%q:\nwhole: %q\nlines: %q", in, whole, lines)
		}
	})
}

// TestLongFieldLines: a field line longer than the reader's 4 KiB buffer
// comes in pieces, and a last piece that is just CRLF (or LF) ends that
// line, not the head. Taken for the empty line, it dropped the fields
// after it and read the head's real end as the start of the body, whose
// last bytes then began the next request (a request smuggled past a front
// proxy). Each head here must give its fields, its body and the request
// after it, whether read line by line or byte by byte.
func TestLongFieldLines(t *testing.T) {
	for _, n := range []int{4000, 4092, 4093, 4094, 4095, 4096, 8188, 8189, 8190, 8191} {
		long := strings.Repeat("a", n)
		for _, in := range []string{
			"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX: " + long + "\r\nX-After: 1\r\n\r\nabcdeGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
			"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-After: 1\r\nX: " + long + "\r\n\r\nabcdeGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
			"POST / HTTP/1.1\nHost: h\nContent-Length: 5\nX: " + long + "\nX-After: 1\n\nabcdeGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
			"POST / HTTP/1.1\nHost: h\nContent-Length: 5\nX-After: 1\nX: " + long + "\n\nabcdeGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
		} {
			for _, oneByte := range []bool{false, true} {
				got := serveInputLimit(t, []byte(in), oneByte, 64<<10)
				want := []string{`POST "/"`, `body="abcde"`, `X-After=["1"]`, `X=["` + long + `"]`, `GET "/next"`}
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("line of %d bytes, one byte at a time %v: no %.40s in\n%.300s", n, oneByte, w, got)
					}
				}
				if c := strings.Count(got, "HTTP/1.1 200 OK\r\n"); c != 2 {
					t.Errorf("line of %d bytes, one byte at a time %v: %d answers", n, oneByte, c)
				}
			}
		}
	}
}

// TestTrailerLines: a chunked body's trailer lines are held to a header
// field's syntax: a line that is not "name: value" fails the body (the
// handler's read errs), as net/http refuses it; well-formed trailers are
// read and dropped.
func TestTrailerLines(t *testing.T) {
	for trailer, ok := range map[string]bool{
		"X-T: 1\r\n": true, "X-T:\r\n": true, "X-T: 1\r\nX-U: 2\r\n": true,
		"0\r\n": false, ": v\r\n": false, "X T: 1\r\n": false, " X-T: 1\r\n": false, "X-T: a\x00b\r\n": false,
	} {
		in := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" + trailer + "\r\n"
		got := serveInputLimit(t, []byte(in), false, 64<<10)
		if read := strings.Contains(got, `body="abc" err=<nil>`); read != ok {
			t.Errorf("trailer %q: %.300s", trailer, got)
		}
	}
}

// numbered is the field lines "X-from: v" to "X-to-1: v".
func numbered(from, to int) string {
	s := ""
	for i := from; i < to; i++ {
		s += fmt.Sprintf("X-%d: v\r\n", i)
	}
	return s
}

// TestRepeatedFields: a field that comes again, among the first 16
// fields (compared with the keys so far) or past them (looked up in the
// map), adds its value to the first one's, whatever its spelling.
func TestRepeatedFields(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: x\r\nX-0: a\r\n" + numbered(1, 20) + "x-0: b\r\nX-18: c\r\nX-2: d\r\n\r\n"
	got := serveInputLimit(t, []byte(in), false, 64<<10)
	for _, w := range []string{`X-0=["a" "b"]`, `X-18=["v" "c"]`, `X-2=["v" "d"]`, `X-19=["v"]`, "lines=false"} {
		if !strings.Contains(got, w) {
			t.Errorf("no %s in %s", w, got)
		}
	}
}
