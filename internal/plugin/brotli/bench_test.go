package brotli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

type noVars struct{}

func (noVars) Var(string) (string, bool) { return "", false }

// BenchmarkBrotli measures one response through the header and body
// filters: the decision, a pooled encoder, a 20 KB HTML page.
func BenchmarkBrotli(b *testing.B) {
	page := []byte("<html><body>" + strings.Repeat("<p>Stargate speaks APISIX, quickly.</p>\n", 500) + "</body></html>")
	for _, level := range []string{"1", "6"} {
		b.Run("level"+level, func(b *testing.B) {
			impl, _ := newCompressor(map[string]any{"comp_level": json.Number(level)})
			c := impl.(*compressor)
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Accept-Encoding", "br")
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				ctx := &plugin.Ctx{Req: req, Vars: noVars{}, RespHeader: http.Header{}}
				h := http.Header{"Content-Type": {"text/html"}}
				c.HeaderFilter(ctx, 200, h)
				w := c.WrapBody(ctx, 200, h, io.Discard)
				_, _ = w.Write(page)
				_ = w.Close()
			}
		})
	}
}
