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

const wsHandshake = "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Real-IP: 6.6.6.6\r\n\r\n"

// TestWebSocketEdges: the WebSocket path under a silent, refusing or
// confused upstream and an idle or busy tunnel, with the read timeout at
// 1 s. Before, a silent upstream and an idle tunnel held the client
// forever, a refusal skipped the response phase and a client's
// X-Real-IP reached the upstream, and a handshake that failed after the
// upstream's 101 was counted twice (a least_conn node went to -1
// requests in flight).
func TestWebSocketEdges(t *testing.T) {
	heads := make(chan string, 16)
	up := scriptedUpstream(t, func(c net.Conn, head string) {
		heads <- head
		switch path := strings.Fields(head)[1]; path {
		case "/silent":
			time.Sleep(3 * time.Second)
		case "/refused":
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nX-Secret: internal\r\n\r\nno")
		case "/refused-stalls":
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nhello")
			time.Sleep(3 * time.Second)
		case "/h2c":
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
			time.Sleep(time.Second)
		default: // a tunnel that echoes
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_, _ = io.Copy(c, c)
		}
		c.Close()
	})
	e := newEnv(t)
	e.put("/upstreams/u", fmt.Sprintf(`{"type":"least_conn","timeout":{"connect":1,"send":1,"read":1},"nodes":{"%s":1}}`, up))
	e.put("/routes/r", `{"uri":"/*","enable_websocket":true,"upstream_id":"u",
		"plugins":{"response-rewrite":{"headers":{"set":{"X-Filtered":"1"},"remove":["X-Secret"]}}}}`)

	handshake := func(t *testing.T, path string) (net.Conn, *bufio.Reader, *http.Response, time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", strings.TrimPrefix(e.httpURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		t0 := time.Now()
		fmt.Fprintf(c, wsHandshake, path)
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer after %v: %v", time.Since(t0), err)
		}
		return c, br, res, time.Since(t0)
	}

	t.Run("silent upstream: 504 after the read timeout", func(t *testing.T) {
		_, _, res, d := handshake(t, "/silent")
		if res.StatusCode != http.StatusGatewayTimeout || d < 900*time.Millisecond || d > 2500*time.Millisecond {
			t.Errorf("%d after %v", res.StatusCode, d)
		}
		<-heads
	})
	t.Run("refused: an answer like any other", func(t *testing.T) {
		_, _, res, _ := handshake(t, "/refused")
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 403 || string(b) != "no" || res.Header.Get("X-Filtered") != "1" || res.Header.Get("X-Secret") != "" {
			t.Errorf("%d %q %v", res.StatusCode, b, res.Header)
		}
		head := <-heads
		if !strings.Contains(head, "X-Real-Ip: 127.0.0.1\r\n") || strings.Contains(head, "6.6.6.6") {
			t.Errorf("the upstream saw:\n%s", head)
		}
		if !strings.Contains(head, "Upgrade: websocket\r\n") || !strings.Contains(head, "Connection: Upgrade\r\n") {
			t.Errorf("the upgrade was not passed on:\n%s", head)
		}
	})
	t.Run("refusal whose body stalls: cut after the read timeout", func(t *testing.T) {
		_, _, res, took := handshake(t, "/refused-stalls")
		<-heads
		t0 := time.Now()
		b, err := io.ReadAll(res.Body)
		if d := took + time.Since(t0); res.StatusCode != 403 || err == nil || string(b) != "hello" || d > 2500*time.Millisecond {
			t.Errorf("%d %q %v after %v", res.StatusCode, b, err, d)
		}
	})
	t.Run("switched to another protocol: 502", func(t *testing.T) {
		_, _, res, _ := handshake(t, "/h2c")
		if res.StatusCode != http.StatusBadGateway {
			t.Errorf("%d", res.StatusCode)
		}
		<-heads
	})
	t.Run("idle tunnel closed after the read timeout", func(t *testing.T) {
		c, br, res, _ := handshake(t, "/idle")
		<-heads
		if res.StatusCode != 101 || res.Header.Get("X-Filtered") != "1" {
			t.Fatalf("%d %v", res.StatusCode, res.Header)
		}
		io.WriteString(c, "ping")
		got := make([]byte, 4)
		if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
			t.Fatalf("echo %q %v", got, err)
		}
		t0 := time.Now()
		_, err := br.ReadByte()
		if d := time.Since(t0); err == nil || d < 900*time.Millisecond || d > 2500*time.Millisecond {
			t.Errorf("tunnel ended after %v: %v", d, err)
		}
	})
	t.Run("busy tunnel outlives the timeout", func(t *testing.T) {
		c, br, res, _ := handshake(t, "/busy")
		<-heads
		if res.StatusCode != 101 {
			t.Fatalf("%d", res.StatusCode)
		}
		for i := 0; i < 8; i++ { // 2.4 s, never 1 s quiet
			time.Sleep(300 * time.Millisecond)
			fmt.Fprintf(c, "%d", i)
			b, err := br.ReadByte()
			if err != nil || b != byte('0'+i) {
				t.Fatalf("message %d: %q %v", i, b, err)
			}
		}
	})

	time.Sleep(100 * time.Millisecond)
	u, ok := e.loader.Current().Upstream("u")
	if !ok {
		t.Fatal("no upstream u")
	}
	if n := u.Status()[0].Active; n != 0 {
		t.Errorf("%d requests in flight on the node after all ended", n)
	}
}
