package keyauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

type fakeConsumers map[string]*plugin.Consumer

func (f fakeConsumers) ByName(string) (*plugin.Consumer, bool) { return nil, false }

func (f fakeConsumers) Lookup(p, id string) (*plugin.Consumer, bool) {
	c, ok := f[p+"/"+id]
	return c, ok
}

// BenchmarkKeyAuth measures the per-request cost of a successful lookup
// (header key, identity headers set).
func BenchmarkKeyAuth(b *testing.B) {
	impl, _ := newKeyAuth(map[string]any{})
	k := impl.(*keyAuth)
	cons := fakeConsumers{"key-auth/k1": {Username: "jack"}}
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("apikey", "k1")
	c := &plugin.Ctx{Req: req, Consumers: cons, RespHeader: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		c.Consumer = nil
		k.Rewrite(c)
	}
	if c.Consumer == nil || req.Header.Get("X-Consumer-Username") != "jack" {
		b.Fatal("not authenticated")
	}
}
