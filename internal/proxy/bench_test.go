package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/http1/server"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/testutil/rawhttp"
)

// nullWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the pipeline and the upstream round trip, not a client.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(int)             {}
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkPipeline: one proxied GET (route match, plugins none, upstream
// round trip over a kept-alive loopback connection, 1 KiB answer) through
// the handler. Profile it with -cpuprofile to see the per-request cost
// without a load generator on the same CPUs.
func BenchmarkPipeline(b *testing.B) {
	e := newEnv(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	up := &server.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{"1024"}
		io.WriteString(w, body)
	})}
	go up.Serve(ln)
	b.Cleanup(func() { up.Close() })
	e.put("/routes/b", fmt.Sprintf(`{"uri":"/bench","upstream":{"nodes":{"%s":1}}}`, ln.Addr()))
	h := proxy.NewHandler(e.loader, nil, false)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest("GET", "http://bench.example/bench", nil)
			r.RemoteAddr = "127.0.0.1:5555"
			w := &nullWriter{h: http.Header{}}
			h.ServeHTTP(w, r)
		}
	})
}

func (w *nullWriter) ReadFrom(r io.Reader) (int64, error) {
	var buf [4096]byte
	var n int64
	for {
		m, err := r.Read(buf[:])
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// rawUpstream is a 1 KiB origin that allocates nothing per request, so a
// profile of BenchmarkServe shows Stargate's own cost.
func rawUpstream(b *testing.B) string {
	return rawhttp.Upstream(b, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n"+strings.Repeat("x", 1024)))
}

// BenchmarkServe: keep-alive GETs through the real plain-HTTP listener and
// pipeline to a raw upstream, from raw client connections (no net/http on
// either side), so -memprofile and -cpuprofile show Stargate alone.
func BenchmarkServe(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchServe(b, `{}`, "") })
	// The plugin-cost route of bench/proxy: authentication, a rate limit
	// and metrics on every request.
	b.Run("key-auth+limit-count+prometheus", func(b *testing.B) {
		benchServe(b, `{"key-auth":{},"limit-count":{"count":1000000000,"time_window":60},"prometheus":{}}`, "apikey: bench-key\r\n")
	})
}

func benchServe(b *testing.B, plugins, hdr string) {
	e := newEnv(b)
	e.put("/consumers/bench", `{"username":"bench","plugins":{"key-auth":{"key":"bench-key"}}}`)
	e.put("/routes/b", fmt.Sprintf(`{"uri":"/bench","plugins":%s,"upstream":{"nodes":{"%s":1}}}`, plugins, rawUpstream(b)))
	addr := strings.TrimPrefix(e.httpURL, "http://")
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n" + hdr + "\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReaderSize(c, 8192)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != 200 {
				b.Errorf("status %d, %v", res.StatusCode, err)
				return
			}
			res.Body.Close()
		}
	})
}
