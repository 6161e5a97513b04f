package gzip

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

// BenchmarkGzip measures one response through the body filter: the
// decision, a pooled encoder, a 20 KB HTML page.
func BenchmarkGzip(b *testing.B) {
	page := []byte("<html><body>" + strings.Repeat("<p>Stargate speaks APISIX, quickly.</p>\n", 500) + "</body></html>")
	for _, level := range []int{1, 6} {
		b.Run("level"+string(rune('0'+level)), func(b *testing.B) {
			impl, _ := newCompressor(map[string]any{"comp_level": json.Number(string(rune('0' + level)))})
			c := impl.(*compressor)
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			ctx := &plugin.Ctx{Req: req, Vars: noVars{}, RespHeader: http.Header{}}
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				h := http.Header{"Content-Type": {"text/html"}}
				w := c.WrapBody(ctx, 200, h, io.Discard)
				_, _ = w.Write(page)
				_ = w.Close()
			}
		})
	}
}
