package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stargate-edge/stargate/internal/admin"
)

// TestWriteNotServedInTime: when the local data plane does not confirm a
// write within its bound (a change recompiling very many routes), the
// write is still stored and answered with its usual status, and the answer
// says it is not served yet; a confirmed write carries no such warning.
func TestWriteNotServedInTime(t *testing.T) {
	var slow atomic.Bool
	var revs atomic.Int64
	e := newEnvWith(t, "bolt", func(o *admin.Options) {
		o.Applied = func(_ context.Context, rev int64) error {
			revs.Store(rev)
			if slow.Load() {
				return errors.New("revision not served after 2s")
			}
			return nil
		}
	})
	const notServed = "not served yet"
	res := e.do("PUT", "/upstreams/u1", `{"nodes":{"127.0.0.1:1980":1}}`, "")
	if res.status != http.StatusCreated || strings.Contains(res.header.Get("X-Stargate-Warning"), notServed) {
		t.Fatalf("confirmed write: %d %q", res.status, res.header.Get("X-Stargate-Warning"))
	}
	slow.Store(true)
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"PUT", "/upstreams/u1", `{"nodes":{"127.0.0.1:1981":1}}`, http.StatusOK},
		{"PATCH", "/upstreams/u1", `{"desc":"patched"}`, http.StatusOK},
		{"PUT", "/routes/r1", `{"uri":"/a","upstream_id":"u1"}`, http.StatusCreated},
		{"DELETE", "/routes/r1", ``, http.StatusOK},
	} {
		before := revs.Load()
		res := e.do(c.method, c.path, c.body, "")
		if res.status != c.status {
			t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, res.status, c.status, res.body)
		}
		if w := res.header.Get("X-Stargate-Warning"); !strings.Contains(w, notServed) {
			t.Errorf("%s %s: warning %q, want one saying %q", c.method, c.path, w, notServed)
		}
		if revs.Load() <= before {
			t.Errorf("%s %s: the data plane was not asked about the new revision", c.method, c.path)
		}
	}
	// The writes were stored all the same.
	res = e.do("GET", "/upstreams/u1", "", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), "127.0.0.1:1981") || !strings.Contains(string(res.body), "patched") {
		t.Fatalf("upstream after the unconfirmed writes: %d %s", res.status, res.body)
	}
	if res := e.do("GET", "/routes/r1", "", ""); res.status != http.StatusNotFound {
		t.Fatalf("deleted route: %d", res.status)
	}
}
