package snapshot_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/proxy/router"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
)

func setup(t testing.TB) (store.Store, *snapshot.Loader, context.Context) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ups := upstream.NewManager(nil)
	t.Cleanup(func() { cancel(); ups.Close(); st.Close() })
	return st, snapshot.New(snapshot.Options{Store: st, Upstreams: ups}), ctx
}

func put(t testing.TB, st store.Store, key, val string) int64 {
	t.Helper()
	kv, err := st.Put(context.Background(), key, []byte(val))
	if err != nil {
		t.Fatal(err)
	}
	return kv.ModRevision
}

func match(s *snapshot.Snapshot, path string) *snapshot.Route {
	m, ok := s.Router.Match(&router.Request{Method: "GET", Path: path})
	if !ok {
		return nil
	}
	return m.Route.Target.(*snapshot.Route)
}

// TestBadObjectsAreLeftOut: broken objects are skipped and counted, the
// rest is served, and fixing an object brings it in.
func TestBadObjectsAreLeftOut(t *testing.T) {
	st, l, ctx := setup(t)
	put(t, st, "/apisix/upstreams/u", `{"nodes":{"127.0.0.1:1":1}}`)
	put(t, st, "/apisix/routes/good", `{"uri":"/good","upstream_id":"u"}`)
	put(t, st, "/apisix/routes/notjson", `{"uri":`)
	put(t, st, "/apisix/routes/nosvc", `{"uri":"/nosvc","service_id":"missing"}`)
	put(t, st, "/apisix/routes/badvars", `{"uri":"/badvars","upstream_id":"u","vars":[["arg_x","nope","1"]]}`)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s := l.Current()
	if match(s, "/good") == nil {
		t.Fatal("good route not served")
	}
	for _, p := range []string{"/nosvc", "/badvars"} {
		if match(s, p) != nil {
			t.Errorf("%s served", p)
		}
	}
	if s.Errors != 3 {
		t.Errorf("errors = %d, want 3", s.Errors)
	}
	// Fix one at run time.
	rev := put(t, st, "/apisix/services/missing", `{"upstream_id":"u"}`)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.WaitRevision(wctx, rev); err != nil {
		t.Fatal(err)
	}
	s = l.Current()
	if r := match(s, "/nosvc"); r == nil || r.UpstreamIn(s) == nil {
		t.Fatal("route not served once its service exists")
	}
	if s.Errors != 2 {
		t.Errorf("errors = %d, want 2", s.Errors)
	}
}

// TestUpstreamChange: changing an upstream reaches the routes using it
// directly and through a service at once, without recompiling any route
// (a shared upstream may have 100k routes).
func TestUpstreamChange(t *testing.T) {
	st, l, ctx := setup(t)
	put(t, st, "/apisix/upstreams/u", `{"nodes":{"127.0.0.1:1":1}}`)
	put(t, st, "/apisix/upstreams/other", `{"nodes":{"127.0.0.1:3":1}}`)
	put(t, st, "/apisix/services/s", `{"upstream_id":"u"}`)
	put(t, st, "/apisix/routes/direct", `{"uri":"/direct","upstream_id":"u"}`)
	put(t, st, "/apisix/routes/via", `{"uri":"/via","service_id":"s"}`)
	put(t, st, "/apisix/routes/other", `{"uri":"/other","upstream_id":"other"}`)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[string]*snapshot.Route{}
	for _, p := range []string{"/direct", "/via", "/other"} {
		before[p] = match(l.Current(), p)
	}
	rev := put(t, st, "/apisix/upstreams/u", `{"nodes":{"127.0.0.1:2":1}}`)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.WaitRevision(wctx, rev); err != nil {
		t.Fatal(err)
	}
	s := l.Current()
	for _, p := range []string{"/direct", "/via"} {
		r := match(s, p)
		if r == nil || r.UpstreamIn(s) == nil || r.UpstreamIn(s).Nodes()[0].Addr != "127.0.0.1:2" {
			t.Errorf("%s does not use the new upstream: %+v", p, r)
		}
	}
	for p, r := range before {
		if match(s, p) != r {
			t.Errorf("%s was recompiled for an upstream change", p)
		}
	}
	// A service that switches upstream does recompile its routes.
	rev = put(t, st, "/apisix/services/s", `{"upstream_id":"other"}`)
	if err := l.WaitRevision(wctx, rev); err != nil {
		t.Fatal(err)
	}
	s = l.Current()
	if r := match(s, "/via"); r == nil || r.UpstreamIn(s).Nodes()[0].Addr != "127.0.0.1:3" {
		t.Errorf("/via did not follow its service to upstream other: %+v", r)
	}
	// A write outside /apisix/ still advances the served revision.
	rev = put(t, st, "/stargate/dns/zones/x", `{}`)
	if err := l.WaitRevision(wctx, rev); err != nil {
		t.Fatal(err)
	}
}
