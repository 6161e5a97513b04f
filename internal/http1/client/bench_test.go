package client

import (
	"bufio"
	"context"
	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The benchmarks fetch a 1 KB body over loopback from many goroutines.
// Allocations are counted process-wide, so the server's share is included
// and identical for both clients; the "raw" server is a minimal canned
// responder that allocates nothing per request, isolating the client.

var payload = strings.Repeat("x", 1024)

func benchServers(b *testing.B) map[string]string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, payload)
	}))
	b.Cleanup(srv.Close)
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n" + payload)
	raw := newRawServer(b, func(c net.Conn, br *bufio.Reader, _ int) {
		rawhttp.ServeCanned(c, br, resp)
	})
	return map[string]string{"server=nethttp": srv.URL + "/bench", "server=raw": "http://" + raw.addr + "/bench"}
}

// runBench: with ctx, each request carries a cancellable context, as the
// proxy's do (the client then arms a context.AfterFunc per request).
func runBench(b *testing.B, rt http.RoundTripper, url string, ctx bool) {
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Error(err)
			return
		}
		if ctx {
			c, cancel := context.WithCancel(context.Background())
			defer cancel()
			req = req.WithContext(c)
		}
		req.Header["User-Agent"] = nil
		for pb.Next() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != 1024 {
				b.Errorf("read %d, %v", n, err)
				return
			}
		}
	})
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, name := range []string{"server=nethttp", "server=raw", "server=raw,ctx"} {
		b.Run(name, func(b *testing.B) {
			url := benchServers(b)[strings.TrimSuffix(name, ",ctx")]
			tr := &Transport{MaxIdlePerHost: 256}
			defer tr.CloseIdleConnections()
			runBench(b, tr, url, strings.HasSuffix(name, ",ctx"))
		})
	}
}

func BenchmarkStdTransport(b *testing.B) {
	for _, name := range []string{"server=nethttp", "server=raw", "server=raw,ctx"} {
		b.Run(name, func(b *testing.B) {
			url := benchServers(b)[strings.TrimSuffix(name, ",ctx")]
			tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
			defer tr.CloseIdleConnections()
			runBench(b, tr, url, strings.HasSuffix(name, ",ctx"))
		})
	}
}
