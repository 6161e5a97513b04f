package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// raw sends bytes on a fresh connection and returns the first response's
// status line ("" if the server closed without answering).
func raw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return ""
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestEdgeDefences: requests that smuggle, overflow or stall are refused
// before they reach an upstream.
func TestEdgeDefences(t *testing.T) {
	e := newEnv(t)
	a, hits := echo(t, "a")
	e.put("/routes/all", fmt.Sprintf(`{"uri":"/*","upstream":{"nodes":{"%s":1}}}`, a))
	addr := strings.TrimPrefix(e.httpURL, "http://")
	for _, c := range []struct {
		desc, req, wantPrefix string
	}{
		{"plain request works", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200"},
		{"two different Content-Lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "HTTP/1.1 400"},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501"},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 128<<10) + "\r\n\r\n", "HTTP/1.1 431"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", "HTTP/1.1 400"},
		{"no host on 1.1", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			before := *hits
			got := raw(t, addr, c.req)
			if !strings.HasPrefix(got, c.wantPrefix) {
				t.Errorf("got %q, want %s", got, c.wantPrefix)
			}
			if c.wantPrefix != "HTTP/1.1 200" && *hits != before {
				t.Errorf("refused request reached the upstream")
			}
		})
	}
}

// TestCLAndTE: Content-Length together with Transfer-Encoding is refused
// with 400 and the connection closed, as nginx does (RFC 9112 section
// 6.1 allows it; a proxy that forwards either framing risks smuggling):
// neither the request nor the one hidden behind the bogus length reaches
// the upstream.
func TestCLAndTE(t *testing.T) {
	e := newEnv(t)
	a, hits := echo(t, "a")
	e.put("/routes/all", fmt.Sprintf(`{"uri":"/*","upstream":{"nodes":{"%s":1}}}`, a))
	addr := strings.TrimPrefix(e.httpURL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	smuggle := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	req := "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: " + fmt.Sprint(5+len(smuggle)) +
		"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !res.Close {
		t.Errorf("status %d close=%v, want 400 and close", res.StatusCode, res.Close)
	}
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Error("a second response followed: the hidden request was served")
	}
	if *hits != 0 {
		t.Errorf("upstream saw %d requests", *hits)
	}
}

// TestSlowloris: a client that never finishes its headers is cut off by
// the header read timeout instead of holding the connection.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout")
	}
	e := newEnv(t)
	addr := strings.TrimPrefix(e.httpURL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	t0 := time.Now()
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	if d := time.Since(t0); d > 12*time.Second {
		t.Errorf("connection held for %v", d)
	}
	_ = http.StatusOK
}
