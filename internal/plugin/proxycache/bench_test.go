package proxycache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/proxy"
)

// discardWriter is the cheapest http.ResponseWriter: what the pipeline
// itself costs, without a connection.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// BenchmarkHit measures the proxy pipeline answering a cache HIT (route
// match, plugin chain, lookup, headers, body), per zone kind and size.
func BenchmarkHit(b *testing.B) {
	for _, strategy := range []string{"memory", "disk"} {
		for _, size := range []int{1 << 10, 100 << 10} {
			b.Run(fmt.Sprintf("%s/%dKB", strategy, size>>10), func(b *testing.B) {
				e := newEnv(b, "")
				payload := strings.Repeat("x", size)
				o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=3600")
					w.Header().Set("Content-Type", "text/plain")
					io.WriteString(w, payload)
				}))
				defer o.Close()
				zone := map[string]string{"memory": "memory_cache", "disk": "disk_cache_one"}[strategy]
				e.put("/routes/1", fmt.Sprintf(`{"uri":"/obj","host":"bench.test","plugins":{"proxy-cache":{"cache_strategy":%q,"cache_zone":%q}},"upstream":{"nodes":{"%s":1}}}`,
					strategy, zone, strings.TrimPrefix(o.URL, "http://")))
				h := proxy.NewHandler(e.loader, nil, false)
				req := httptest.NewRequest("GET", "http://bench.test/obj", nil)
				req.RemoteAddr = "127.0.0.1:1234"
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				w = &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.h.Get("Apisix-Cache-Status") != "HIT" || w.n != size {
					b.Fatalf("not a hit: %v %d", w.h, w.n)
				}
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w := &discardWriter{h: make(http.Header, 8)}
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}
