package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/stargate-edge/stargate/internal/http1/evloop"
)

// start serves h on a loopback port and returns its address.
func start(t testing.TB, h http.Handler, tune ...func(*Server)) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, H2C: true, ReadHeaderTimeout: 2 * time.Second}
	for _, f := range tune {
		f(s)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), s
}

// echo answers with what it saw of the request.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(499)
		return
	}
	keys := []string{}
	for k, v := range r.Header {
		keys = append(keys, k+"="+strings.Join(v, "|"))
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %s %s host=%s cl=%d te=%v body=%q raw=%q",
		r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.ContentLength, r.TransferEncoding, b, r.RequestURI)
})

// exchange writes req on a fresh connection and returns everything the
// server sent until it closed or went quiet.
func exchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestRequestParsing(t *testing.T) {
	addr, _ := start(t, echo)
	for _, c := range []struct {
		desc, req string
		want      []string // substrings of the answer, in order
		closed    bool     // the server ends the connection afterwards
	}{
		{"simple", "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"HTTP/1.1 200 OK\r\n", "Content-Length: ", "GET /a b=c host=x cl=0"}, false},
		{"bare LF lines", "GET / HTTP/1.1\nHost: x\n\n", []string{"HTTP/1.1 200"}, false},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 200"}, false},
		{"escaped path", "GET /a%2Fb%20c?q=%20 HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"GET /a/b c q=%20", `raw="/a%2Fb%20c?q=%20"`}, false},
		{"absolute form wins over Host", "GET http://real.example/p HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"GET /p  host=real.example"}, false},
		{"content-length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
			[]string{`cl=5 te=[] body="hello"`}, false},
		{"identical repeated lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
			[]string{`body="hi"`}, false},
		{"chunked body with extension and trailer", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
			[]string{`cl=-1 te=[chunked] body="abcde"`}, false},
		{"http/1.0 closes", "GET / HTTP/1.0\r\n\r\n", []string{"HTTP/1.1 200", "Connection: close"}, true},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"Connection: keep-alive"}, false},
		{"connection close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []string{"Connection: close"}, true},
		{"HEAD has no body", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 200"}, false},

		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"differing lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", []string{"HTTP/1.1 400"}, true},
		{"signed length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", []string{"HTTP/1.1 400"}, true},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", []string{"HTTP/1.1 501"}, true},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"no host", "GET / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"bad method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"HTTP/2.0 line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 505"}, true},
		{"garbage version", "GET / FOO\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 400"}, true},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", []string{"HTTP/1.1 431"}, true},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", []string{"HTTP/1.1 499"}, true},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", []string{"HTTP/1.1 405"}, true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			req := c.req
			if !c.closed {
				// a second request proves the connection stayed usable
				req += "GET /again HTTP/1.1\r\nHost: x\r\n\r\n"
			}
			got := exchange(t, addr, req)
			rest := got
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("answer lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			again := strings.Contains(got, "GET /again")
			if c.closed && strings.Count(got, "HTTP/1.1 ") > 1 {
				t.Errorf("more than one answer on a connection that should close:\n%s", got)
			}
			if !c.closed && !again {
				t.Errorf("second request not served:\n%s", got)
			}
		})
	}
}

// TestResponseFraming: the length a handler declares, a small body of
// unknown length (gets a Content-Length), a large or flushed one (chunked),
// HTTP/1.0 (close-delimited) and bodiless statuses.
func TestResponseFraming(t *testing.T) {
	big := strings.Repeat("x", 10000)
	filePath := filepath.Join(t.TempDir(), "obj")
	fileData := strings.Repeat("0123456789", 3000)
	if err := os.WriteFile(filePath, []byte(fileData), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "abc")
		case "/small":
			io.WriteString(w, "hello")
		case "/big":
			io.WriteString(w, big)
		case "/flushed":
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		case "/204":
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(204)
			io.WriteString(w, "ignored")
		case "/304":
			w.WriteHeader(304)
		case "/empty":
		case "/readfrom":
			w.Header().Set("Content-Length", "5")
			w.(io.ReaderFrom).ReadFrom(strings.NewReader("12345"))
		case "/file":
			f, err := os.Open(filePath)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			f.Seek(3, io.SeekStart)
			w.Header().Set("Content-Length", "20000")
			io.Copy(w, &io.LimitedReader{R: f, N: 20000}) // the disk cache's body shape
		case "/sendfileat":
			fd, err := syscall.Open(filePath, syscall.O_RDONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer syscall.Close(fd)
			w.Header().Set("Content-Length", "20000")
			if n, err := w.(interface {
				SendFileAt(int, int64, int64) (int64, error)
			}).SendFileAt(fd, 5, 20000); n != 20000 || err != nil {
				t.Errorf("SendFileAt: %d %v", n, err)
			}
		case "/interim":
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(103)
			io.WriteString(w, "done")
		}
	}))
	for _, c := range []struct {
		path, proto string
		status      int
		body        string
		cl          int64
		te          []string
	}{
		{"/declared", "1.1", 200, "abc", 3, nil},
		{"/small", "1.1", 200, "hello", 5, nil},
		{"/big", "1.1", 200, big, -1, []string{"chunked"}},
		{"/flushed", "1.1", 200, "ab", -1, []string{"chunked"}},
		{"/204", "1.1", 204, "", 0, nil},
		{"/304", "1.1", 304, "", 0, nil},
		{"/empty", "1.1", 200, "", 0, nil},
		{"/readfrom", "1.1", 200, "12345", 5, nil},
		{"/interim", "1.1", 200, "done", 4, nil},
		{"/file", "1.1", 200, fileData[3:20003], 20000, nil},
		{"/sendfileat", "1.1", 200, fileData[5:20005], 20000, nil},
		{"/big", "1.0", 200, big, -1, nil},
	} {
		t.Run(c.path+"@"+c.proto, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET %s HTTP/%s\r\nHost: x\r\n\r\n", c.path, c.proto)
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			for err == nil && res.StatusCode < 200 {
				res, err = http.ReadResponse(br, nil) // after an interim answer
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != c.status || string(b) != c.body || res.ContentLength != c.cl ||
				fmt.Sprint(res.TransferEncoding) != fmt.Sprint(c.te) {
				t.Errorf("got %d cl=%d te=%v body %d bytes, want %d cl=%d te=%v body %d bytes",
					res.StatusCode, res.ContentLength, res.TransferEncoding, len(b), c.status, c.cl, c.te, len(c.body))
			}
			if res.Header.Get("Date") == "" {
				t.Error("no Date header")
			}
		})
	}
}

// TestPipelining: requests sent back to back are answered in order and
// flushed together.
func TestPipelining(t *testing.T) {
	addr, _ := start(t, echo)
	var req strings.Builder
	for i := range 50 {
		fmt.Fprintf(&req, "POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d", i, i%10)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Write([]byte(req.String()))
	br := bufio.NewReader(c)
	for i := range 50 {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		if want := fmt.Sprintf("POST /p%d  host=x cl=1 te=[] body=%q", i, fmt.Sprint(i%10)); !strings.HasPrefix(string(b), want) {
			t.Fatalf("response %d: %q, want prefix %q", i, b, want)
		}
	}
}

// TestUnreadBody: a handler that ignores a small body keeps the
// connection; a huge unread body closes it.
func TestUnreadBody(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	small := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /two HTTP/1.1\r\nHost: x\r\n\r\n"
	if got := exchange(t, addr, small); strings.Count(got, "HTTP/1.1 200") != 2 {
		t.Errorf("small unread body: %q", got)
	}
	huge := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 10<<20)
	got := exchange(t, addr, huge+"abc")
	if strings.Count(got, "HTTP/1.1 200") != 1 || !strings.Contains(got, "Connection: close") {
		t.Errorf("huge unread body: %q", got)
	}
}

// TestExpectContinue: the interim answer is sent when the handler reads,
// and the real client (net/http) completes the upload.
func TestExpectContinue(t *testing.T) {
	addr, _ := start(t, echo)
	req, _ := http.NewRequest("PUT", "http://"+addr+"/up", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	t0 := time.Now()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `body="payload"`) || time.Since(t0) > 3*time.Second {
		t.Errorf("got %q after %v", b, time.Since(t0))
	}
}

// TestKeepAliveClient: net/http's client reuses one connection for many
// requests.
func TestKeepAliveClient(t *testing.T) {
	var conns atomic.Int32
	addr, _ := start(t, echo, func(s *Server) {
		s.StateChange = func(_, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
	})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	for i := range 100 {
		res, err := cl.Post("http://"+addr+"/k", "text/plain", strings.NewReader(strings.Repeat("z", i)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 100 sequential requests", n)
	}
}

// TestH2C: an HTTP/2 prior-knowledge client is handed to HTTP/2.
func TestH2C(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
		return net.Dial(network, a)
	}}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "HTTP/2.0 /h2" {
		t.Errorf("got %q", b)
	}
	// A short HTTP/1.1 request that starts like the preface is not held.
	if got := exchange(t, addr, "PUT / HTTP/1.0\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("short request: %q", got)
	}
}

// TestHijack: the connection (with bytes already buffered) goes to the
// handler, as WebSocket proxying needs.
func TestHijack(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo:" + line)
		rw.Flush()
	}))
	got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nping\n")
	if !strings.HasPrefix(got, "HTTP/1.1 101") || !strings.HasSuffix(got, "echo:ping\n") {
		t.Errorf("got %q", got)
	}
}

// TestTimeouts: a stalled header is cut off, and an idle keep-alive
// connection is closed.
func TestTimeouts(t *testing.T) {
	addr, _ := start(t, echo, func(s *Server) {
		s.ReadHeaderTimeout = 200 * time.Millisecond
		s.IdleTimeout = 300 * time.Millisecond
	})
	for _, c := range []struct{ desc, req string }{
		{"stalled header", "GET / HTTP/1.1\r\nHost: x\r\n"},
		{"idle after a request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte(c.req))
			_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			t0 := time.Now()
			io.Copy(io.Discard, conn)
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("connection held %v", d)
			}
		})
	}
}

// TestShutdown: idle connections are closed, an in-flight request
// finishes, and Serve returns ErrServerClosed.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	})}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()
	idle, _ := net.Dial("tcp", addr)
	defer idle.Close()
	fmt.Fprint(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	http.ReadResponse(bufio.NewReader(idle), nil)

	var wg sync.WaitGroup
	var slowAnswer string
	wg.Add(1)
	go func() {
		defer wg.Done()
		slowAnswer = exchangeNoT(addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	}()
	<-entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// the idle connection is closed promptly
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Error("idle connection still open after Shutdown")
	}
	close(release)
	wg.Wait()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if !strings.Contains(slowAnswer, "done") || !strings.Contains(slowAnswer, "Connection: close") {
		t.Errorf("in-flight request answered %q", slowAnswer)
	}
}

func exchangeNoT(addr, req string, wait time.Duration) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.Write([]byte(req))
	_ = c.SetReadDeadline(time.Now().Add(wait))
	b, _ := io.ReadAll(c)
	return string(b)
}

// FuzzRequest feeds arbitrary bytes as a connection's input: the server
// never panics or hangs, and every answer it writes parses as HTTP/1.1.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"GET http://h/p HTTP/1.0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &Server{Handler: echo}
		s.defaults()
		s.conns = map[*conn]struct{}{}
		fc := &fakeConn{r: bytes.NewReader(in)}
		c := s.newConn(fc)
		done := make(chan struct{})
		go func() { defer close(done); c.serve() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection goroutine did not end")
		}
		if bytes.HasPrefix(in, h2Preface) {
			return // HTTP/2 frames, not ours to check
		}
		out := fc.w.Bytes()
		br := bufio.NewReader(bytes.NewReader(out))
		for {
			if _, err := br.Peek(1); err != nil {
				break
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("unparsable answer: %v\n%q", err, out)
			}
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				t.Fatalf("unreadable body: %v\n%q", err, out)
			}
			res.Body.Close()
		}
	})
}

// fakeConn is a connection whose input is a fixed byte string (then EOF)
// and whose output is recorded.
type fakeConn struct {
	r *bytes.Reader
	w bytes.Buffer
}

func (f *fakeConn) Read(p []byte) (int, error)       { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error)      { return f.w.Write(p) }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// RemoteAddrPort gives what parsing the request's RemoteAddr gives, over
// IPv4 and IPv6, on loops and on goroutines; not for a rewritten address.
func TestRemoteAddrPort(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, ip, ok := RemoteAddrPort(w, r.RemoteAddr)
		want, err := netip.ParseAddrPort(r.RemoteAddr)
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		_, _, okRewritten := RemoteAddrPort(w, "192.0.2.1:80")
		if !ok || err != nil || ap != want || ip != host || okRewritten {
			fmt.Fprintf(w, "got %v %q %v, parsed %v %q (%v), rewritten ok %v", ap, ip, ok, want, host, err, okRewritten)
			return
		}
		io.WriteString(w, "same")
	})
	// net.IPv4 is the 16-byte form, as a dual-stack socket reports an
	// IPv4 client: the address must still come out as IPv4.
	fc := &fakeConn{r: bytes.NewReader([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))}
	fs := &Server{Handler: h}
	fs.defaults()
	fs.conns = map[*conn]struct{}{}
	fs.newConn(fc).serve()
	if got := fc.w.String(); !strings.HasSuffix(got, "\r\n\r\nsame") {
		t.Errorf("16-byte IPv4 address: %q", got)
	}
	for _, network := range []string{"127.0.0.1:0", "[::1]:0"} {
		for _, loops := range []bool{false, true} {
			ln, err := net.Listen("tcp", network)
			if err != nil {
				t.Logf("%s: %v (skipped)", network, err)
				continue
			}
			s := &Server{Handler: h, ReadHeaderTimeout: 2 * time.Second}
			if loops && evloop.Supported {
				g, err := evloop.NewGroup(1, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer g.Close()
				s.Loops = g
			}
			go s.Serve(ln)
			got := exchange(t, ln.Addr().String(), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			s.Close()
			if !strings.HasSuffix(got, "\r\n\r\nsame") {
				t.Errorf("%s, loops %v: %q", network, loops, got)
			}
		}
	}
}

// TestLargeResponseHead: a response head larger than the write buffer,
// alone or behind a pipelined answer still in the buffer, and an interim
// answer's head likewise, arrive whole and in order. The head is appended
// to the buffer's free space; one that outgrows it takes another path.
func TestLargeResponseHead(t *testing.T) {
	const fieldLen = 1500 // three fields outgrow the 4 KiB buffer
	value := func(i int) string { return strings.Repeat(string(rune('a'+i)), fieldLen) }
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/h/"))
		if r.URL.Query().Has("interim") {
			w.Header().Set("Link", strings.Repeat("l", 5000))
			w.WriteHeader(103)
			w.Header().Del("Link")
		}
		for i := range n {
			w.Header().Set(fmt.Sprintf("X-Big-%d", i), value(i))
		}
		io.WriteString(w, "ok"+r.URL.Path)
	}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	paths := []string{"/h/1", "/h/5", "/h/0", "/h/4?interim", "/h/2"}
	var reqs strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&reqs, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
	}
	if _, err := io.WriteString(conn, reqs.String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	for _, p := range paths {
		res, err := http.ReadResponse(br, nil)
		if err == nil && strings.HasSuffix(p, "?interim") {
			if res.StatusCode != 103 || len(res.Header.Get("Link")) != 5000 {
				t.Errorf("%s: interim %d with Link of %d bytes", p, res.StatusCode, len(res.Header.Get("Link")))
			}
			res, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, err := io.ReadAll(res.Body)
		path, _, _ := strings.Cut(p, "?")
		if err != nil || string(b) != "ok"+path || res.StatusCode != 200 {
			t.Fatalf("%s: %d %q %v", p, res.StatusCode, b, err)
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(path, "/h/"))
		for i := range n {
			if got := res.Header.Get(fmt.Sprintf("X-Big-%d", i)); got != value(i) {
				t.Errorf("%s: X-Big-%d has %d bytes, want %d of %q", p, i, len(got), fieldLen, rune('a'+i))
			}
		}
		if res.Header.Get("X-Big-"+strconv.Itoa(n)) != "" || res.Header.Get("Date") == "" {
			t.Errorf("%s: header %v", p, res.Header)
		}
	}
}

// TestHeaderFieldsLikeNetHTTP: the header map the handler sees (names
// canonicalised, repeated fields in order, past the sixteen names the
// parser compares directly) is what net/http's own parser makes of the
// same request.
func TestHeaderFieldsLikeNetHTTP(t *testing.T) {
	dump := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			fmt.Fprintf(w, "%s=%q\n", k, r.Header[k])
		}
		fmt.Fprintf(w, "host=%s\n", r.Host)
	})
	addr, _ := start(t, dump)
	var many strings.Builder
	for i := range 20 {
		fmt.Fprintf(&many, "x-n%d: %d\r\n", i, i)
	}
	for _, fields := range []string{
		"host: x\r\nuser-agent: a\r\nACCEPT: */*\r\nX-Real-IP: 1.2.3.4\r\nCookie: a=1\r\ncookie: b=2\r\nETag: \"e\"\r\n",
		"Host: x\r\n" + many.String() + "X-N3: again\r\nx-n19: again\r\nX-N0: third\r\n",
		"Host: x\r\nAccept-Encoding: gzip\r\nAccept-Encoding: br\r\nVia: 1.1 a\r\nVIA: 1.1 b\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n",
	} {
		req := "GET / HTTP/1.1\r\n" + fields + "\r\n"
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(req)))
		if err != nil {
			t.Fatal(err)
		}
		var wantBody strings.Builder
		for _, k := range slices.Sorted(maps.Keys(want.Header)) {
			fmt.Fprintf(&wantBody, "%s=%q\n", k, want.Header[k])
		}
		fmt.Fprintf(&wantBody, "host=%s\n", want.Host)
		got := exchange(t, addr, req)
		if _, body, _ := strings.Cut(got, "\r\n\r\n"); body != wantBody.String() {
			t.Errorf("for %q:\ngot  %s\nwant %s", fields, body, wantBody.String())
		}
	}
}

// TestResponseFieldsSanitised: a CR or LF in a handler's header value
// (a plugin's configured header, say) becomes a space and cannot split
// the response; other controls pass as they are; a field with an invalid
// name is left out.
func TestResponseFieldsSanitised(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Split"] = []string{"a\r\nSet-Cookie: evil=1", "b\nc", "tab\there"}
		w.Header()["Bad Name"] = []string{"x"}
		w.Header()["X-Long"] = []string{strings.Repeat("v", 40) + "\r" + strings.Repeat("w", 9)}
		io.WriteString(w, "ok")
	}))
	got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	head, body, _ := strings.Cut(got, "\r\n\r\n")
	for _, want := range []string{"\r\nX-Split: a  Set-Cookie: evil=1\r\n", "\r\nX-Split: b c\r\n", "\r\nX-Split: tab\there\r\n",
		"\r\nX-Long: " + strings.Repeat("v", 40) + " " + strings.Repeat("w", 9) + "\r\n"} {
		if !strings.Contains(head+"\r\n", want) {
			t.Errorf("head lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "\r\nSet-Cookie") || strings.Contains(head, "Bad Name") || body != "ok" {
		t.Errorf("head:\n%s\nbody %q", head, body)
	}
}

// TestOwnDateAndConnection: the server adds Date, and Connection where
// needed, unless the handler has the field, even empty (net/http's way
// to suppress Date).
func TestOwnDateAndConnection(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nodate":
			w.Header()["Date"] = nil
		case "/mydate":
			w.Header().Set("Date", "Thu, 01 Jan 1970 00:00:00 GMT")
		case "/myconn":
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	}))
	for _, c := range []struct {
		path, proto string
		want, not   []string
	}{
		{"/plain", "1.1", []string{"\r\nDate: "}, []string{"Connection:"}},
		{"/nodate", "1.1", nil, []string{"Date:"}},
		{"/mydate", "1.1", []string{"\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"}, []string{"Connection:"}},
		{"/plain", "1.0", []string{"\r\nDate: ", "\r\nConnection: close\r\n"}, nil},
		{"/myconn", "1.1", []string{"\r\nConnection: close\r\n", "\r\nDate: "}, nil},
	} {
		got := exchange(t, addr, "GET "+c.path+" HTTP/"+c.proto+"\r\nHost: x\r\n\r\n")
		head, _, _ := strings.Cut(got, "\r\n\r\n")
		for _, w := range c.want {
			if !strings.Contains(head+"\r\n", w) {
				t.Errorf("%s %s: no %q in\n%s", c.path, c.proto, w, head)
			}
		}
		for _, n := range c.not {
			if strings.Contains(head, n) || strings.Count(head, "Date:") > 1 || strings.Count(head, "Connection:") > 1 {
				t.Errorf("%s %s: %q or a repeat in\n%s", c.path, c.proto, n, head)
			}
		}
	}
}

// TestHandlerClose: a handler's "Connection: close" ends the connection
// after its answer, whether the answer's length is known, computed or
// chunked.
func TestHandlerClose(t *testing.T) {
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", "2")
			io.WriteString(w, "ok")
		case "/small":
			io.WriteString(w, "ok")
		case "/big":
			io.WriteString(w, strings.Repeat("x", 10000))
		case "/nobody":
			w.WriteHeader(204)
		}
	}))
	for _, path := range []string{"/declared", "/small", "/big", "/nobody"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		io.Copy(io.Discard, res.Body)
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s: after the answer, %v instead of the connection's end", path, err)
		}
		c.Close()
	}
}
