package httplogger

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stargate-edge/stargate/internal/plugin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
