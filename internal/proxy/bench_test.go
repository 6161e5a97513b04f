package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/http1/server"
	"github.com/stargate-edge/stargate/internal/proxy"
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
