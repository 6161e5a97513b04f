package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// BenchmarkHeaderFilter is the per-response cost of a listed origin.
func BenchmarkHeaderFilter(b *testing.B) {
	impl, err := newCORS(map[string]any{"allow_origins": "http://a.com,http://b.com", "allow_methods": "GET,POST",
		"expose_headers": "X-Id"})
	if err != nil {
		b.Fatal(err)
	}
	c := impl.(*cors)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Origin", "http://b.com")
	ctx := &plugin.Ctx{Req: req}
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		clear(h)
		c.HeaderFilter(ctx, 200, h)
	}
}
