package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rawServer is a loopback TCP server whose handler writes hand-crafted
// bytes. It counts accepted connections.
type rawServer struct {
	ln    net.Listener
	addr  string
	conns atomic.Int32
	wg    sync.WaitGroup
	mu    sync.Mutex
	open  map[net.Conn]bool
}

// newRawServer serves each accepted connection with handle (n is the
// connection's 1-based number); the connection is closed when handle
// returns and on cleanup.
func newRawServer(t testing.TB, handle func(c net.Conn, br *bufio.Reader, n int)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, addr: ln.Addr().String(), open: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1))
			s.mu.Lock()
			s.open[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					c.Close()
					s.mu.Lock()
					delete(s.open, c)
					s.mu.Unlock()
				}()
				handle(c, bufio.NewReader(c), n)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// readReq reads one request (and its body) from br.
func readReq(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(req.Body)
	return req, b, err
}

// readHead reads one request head, through its empty line, as it came.
func readHead(br *bufio.Reader) (string, error) {
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String(), nil
		}
	}
}

// serveCanned answers every request on the connection with resp.
func serveCanned(resp string) func(net.Conn, *bufio.Reader, int) {
	return func(c net.Conn, br *bufio.Reader, _ int) {
		for {
			if _, _, err := readReq(br); err != nil {
				return
			}
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	}
}

func newTransport(t testing.TB) *Transport {
	tr := &Transport{MaxIdlePerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func mustReq(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// fetch performs req and reads the whole body.
func fetch(tr *Transport, req *http.Request, o Options) (*http.Response, string, error) {
	resp, err := tr.Do(req, o)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func idleCount(tr *Transport) int {
	n := 0
	for _, sh := range tr.allShards() {
		sh.mu.Lock()
		for _, l := range sh.idle {
			n += len(l.conns)
		}
		sh.mu.Unlock()
	}
	return n
}

// fakeConn is an in-memory net.Conn whose reads come from a fixed byte
// string and whose writes are discarded; reads never block, so a fuzzed
// response cannot hang the test.
type fakeConn struct {
	r      *strings.Reader
	closed atomic.Bool
}

func (f *fakeConn) Read(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, net.ErrClosed
	}
	return f.r.Read(p)
}

func (f *fakeConn) Write(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, net.ErrClosed
	}
	return len(p), nil
}
func (f *fakeConn) Close() error                       { f.closed.Store(true); return nil }
func (f *fakeConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(t time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

func fakeDial(data string) func(context.Context, string, string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) {
		return &fakeConn{r: strings.NewReader(data)}, nil
	}
}

// numberedFields is n header lines "X-N0: a" to "X-N<n-1>: a": more
// fields than a parse's fixed arrays hold.
func numberedFields(n int) string {
	s := ""
	for i := range n {
		s += fmt.Sprintf("X-N%d: a\r\n", i)
	}
	return s
}
