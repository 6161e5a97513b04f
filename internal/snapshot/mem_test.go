package snapshot_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/proxy/router"
)

// BenchmarkMemoryPerRoute loads 20,000 routes shaped like the proxy
// benchmark's and reports the Go heap the compiled snapshot holds per
// route (run with -memprofile to see by whom).
func BenchmarkMemoryPerRoute(b *testing.B) {
	const n = 20000
	st, l, ctx := setup(b)
	put(b, st, "/apisix/upstreams/u1", `{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}`)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				body := fmt.Sprintf(`{"id":"r-%06d","uri":"/r/%d","hosts":["h%d.bench.test"],"upstream_id":"u1","create_time":1796454789,"update_time":1796454789}`, i, i, i%100)
				if _, err := st.Put(context.Background(), fmt.Sprintf("/apisix/routes/r-%06d", i), []byte(body)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := l.Start(ctx); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	last := &router.Request{Method: "GET", Host: fmt.Sprintf("h%d.bench.test", (n-1)%100), Path: fmt.Sprintf("/r/%d", n-1)}
	for {
		if _, ok := l.Current().Router.Match(last); ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the last route was never served")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "heap-B/route")
	// Objects are what every garbage collection has to mark.
	b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "heap-objects/route")
	runtime.KeepAlive(l)
}
