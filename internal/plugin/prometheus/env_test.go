package prometheus_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// env is a whole single-node Stargate in process: store, admin API, the
// compiled snapshot and the proxy listener, all on loopback (adapted from
// internal/proxy's tests).
type env struct {
	t        *testing.T
	adminURL string
	httpAddr string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := tlscert.NewKeyring(bytes.Repeat([]byte{3}, 32))
	ctx, cancel := context.WithCancel(context.Background())
	ups := upstream.NewManager(nil)
	loader := snapshot.New(snapshot.Options{Store: st, Upstreams: ups, Keyring: ring})
	if err := loader.Start(ctx); err != nil {
		t.Fatal(err)
	}
	adm := admin.New(admin.Options{Store: st, Keyring: ring,
		Applied: func(ctx context.Context, rev int64) {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_ = loader.WaitRevision(c, rev)
		}})
	if err := adm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(adm.Handler())
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		as.Close()
		cancel()
		ups.Close()
		st.Close()
	})
	return &env{t: t, adminURL: as.URL + "/apisix/admin", httpAddr: srv.HTTPAddr()}
}

func (e *env) put(path, body string) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.adminURL+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 && res.StatusCode != 201 {
		e.t.Fatalf("PUT %s: %d %s", path, res.StatusCode, b)
	}
}

// raw sends one HTTP/1.1 request written byte for byte, so that the test
// knows its exact length, and returns the status and body.
func (e *env) raw(req string) (int, []byte) {
	e.t.Helper()
	c, err := net.Dial("tcp", e.httpAddr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, b
}

// echo is an upstream answering with a fixed JSON body.
func echo(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path})
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// testAuth is a stand-in auth plugin: X-Consumer names the consumer, and a
// request without it is rejected with 401 in the rewrite phase.
type testAuth struct{}

func (testAuth) Rewrite(c *plugin.Ctx) {
	name := c.Req.Header.Get("X-Consumer")
	if name == "" {
		c.Exit(http.StatusUnauthorized, []byte(`{"message":"Missing consumer"}`))
		return
	}
	c.Consumer = &plugin.Consumer{Username: name}
}

func init() {
	plugin.Register(plugin.Definition{Name: "test-consumer", Priority: 2550,
		New: func(map[string]any) (any, error) { return testAuth{}, nil }})
}
