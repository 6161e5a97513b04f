package httplogger

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a whole single-node Stargate in process: store, admin API, the
// compiled snapshot and the proxy listener, all on loopback (adapted from
// internal/proxy's tests).
type env struct {
	t        *testing.T
	adminURL string
	httpURL  string
	client   *http.Client
	close    func()
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
	e := &env{t: t, adminURL: as.URL + "/apisix/admin", httpURL: "http://" + srv.HTTPAddr(),
		client: &http.Client{Transport: &http.Transport{}}}
	var once sync.Once
	e.close = func() {
		once.Do(func() {
			e.client.CloseIdleConnections()
			srv.Close()
			as.Close()
			cancel()
			ups.Close()
			st.Close()
		})
	}
	t.Cleanup(e.close)
	return e
}

func (e *env) admin(method, path, body string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.adminURL+path, strings.NewReader(body))
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
}

func (e *env) put(path, body string) { e.t.Helper(); e.admin("PUT", path, body) }

type result struct {
	status  int
	header  http.Header
	body    string
	elapsed time.Duration
}

func (e *env) do(method, path, body string, hdr ...string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.httpURL+path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	t0 := time.Now()
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(b), time.Since(t0)}
}

func (e *env) get(path string, hdr ...string) result {
	e.t.Helper()
	return e.do("GET", path, "", hdr...)
}

// upstreamAddr is a real upstream answering with a fixed JSON body and a
// custom header.
func upstreamAddr(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(upstreamServer(t).URL, "http://")
}

func upstreamServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "yes")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// collector is a real HTTP log collector on loopback.
type collector struct {
	t     *testing.T
	srv   *httptest.Server
	posts chan post
	mu    sync.Mutex
	count int
	// status answers each POST (200 unless set); block, when set, holds
	// each POST until it is closed.
	status int
	block  chan struct{}
}

type post struct {
	at                  time.Time
	method, path, query string
	contentType, auth   string
	body                []byte
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{t: t, posts: make(chan post, 1000), status: 200}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.count++
		status, block := c.status, c.block
		c.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		c.posts <- post{at: time.Now(), method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
			contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), body: b}
		w.WriteHeader(status)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) attempts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// next waits for the next POST.
func (c *collector) next(within time.Duration) post {
	c.t.Helper()
	select {
	case p := <-c.posts:
		return p
	case <-time.After(within):
		c.t.Fatalf("no POST within %v", within)
	}
	return post{}
}

// none checks that no POST arrives for d.
func (c *collector) none(d time.Duration) {
	c.t.Helper()
	select {
	case p := <-c.posts:
		c.t.Fatalf("unexpected POST: %s", p.body)
	case <-time.After(d):
	}
}

// entries decodes a JSON-array batch.
func (p post) entries(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(p.body, &out); err != nil {
		t.Fatalf("batch is not a JSON array: %v: %s", err, p.body)
	}
	return out
}

// entry decodes a single-entry POST (batch_max_size 1).
func (p post) entry(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(p.body, &out); err != nil {
		t.Fatalf("POST is not a JSON object: %v: %s", err, p.body)
	}
	return out
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
	c.Consumer = &plugin.Consumer{Username: name, GroupID: "vip"}
}

func init() {
	plugin.Register(plugin.Definition{Name: "test-consumer", Priority: 2550,
		New: func(map[string]any) (any, error) { return testAuth{}, nil }})
}

// newGzipUpstream answers with a gzip-encoded body.
func newGzipUpstream(t *testing.T, gz []byte) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gz)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}
