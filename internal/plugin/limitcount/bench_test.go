package limitcount

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

type benchVars map[string]string

func (m benchVars) Var(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// BenchmarkAccess: the per-request cost of limit-count on one hot key
// (the shape of the key-auth + limit-count + prometheus benchmark),
// in parallel.
func BenchmarkAccess(b *testing.B) {
	for _, wt := range []string{"fixed", "sliding"} {
		b.Run(wt, func(b *testing.B) {
			conf := map[string]any{"count": json.Number("1000000000"), "time_window": json.Number("60"), "window_type": wt}
			impl, err := newLimiter(conf, plugin.Env{Key: "routes/bench-" + wt})
			if err != nil {
				b.Fatal(err)
			}
			l := impl.(*limiter)
			vars := benchVars{"remote_addr": "127.0.0.1"}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c := &plugin.Ctx{Vars: vars, RespHeader: http.Header{}}
				for pb.Next() {
					l.Access(c)
				}
			})
		})
	}
}
