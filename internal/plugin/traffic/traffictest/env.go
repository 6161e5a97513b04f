// Package traffictest runs a whole single-node Stargate in process for the
// traffic plugins' tests: bolt store, admin API, snapshot loader and the
// proxy on loopback, with real upstream servers.
package traffictest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// Env is one in-process Stargate.
type Env struct {
	T        testing.TB
	AdminURL string
	URL      string // the plain HTTP proxy listener
	Loader   *snapshot.Loader
	Client   *http.Client
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// New starts an Env, stopped when the test ends.
func New(t testing.TB) *Env {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := tlscert.NewKeyring(bytes.Repeat([]byte{3}, 32))
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ups := upstream.NewManager(nil)
	loader := snapshot.New(snapshot.Options{Store: st, Upstreams: ups, Keyring: ring, Logger: log})
	if err := loader.Start(ctx); err != nil {
		t.Fatal(err)
	}
	adm := admin.New(admin.Options{Store: st, Keyring: ring, KeyRequired: false,
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
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		as.Close()
		cancel()
		ups.Close()
		st.Close()
	})
	return &Env{T: t, AdminURL: as.URL + "/apisix/admin", URL: "http://" + srv.HTTPAddr(), Loader: loader,
		Client: &http.Client{Transport: tr, Timeout: 20 * time.Second}, logs: logs}
}

// Logs is what the snapshot loader logged (objects left out and why).
func (e *Env) Logs() string { return e.logs.String() }

// Admin sends an admin API request and returns its status and body.
func (e *Env) Admin(method, path, body string) (int, string) {
	e.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.AdminURL+path, rd)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Put writes an admin object and fails the test unless it was accepted.
func (e *Env) Put(path, body string) {
	e.T.Helper()
	if code, b := e.Admin("PUT", path, body); code != 200 && code != 201 {
		e.T.Fatalf("PUT %s: %d %s", path, code, b)
	}
}

// Del deletes an admin object.
func (e *Env) Del(path string) {
	e.T.Helper()
	if code, b := e.Admin("DELETE", path, ""); code != 200 {
		e.T.Fatalf("DELETE %s: %d %s", path, code, b)
	}
}

// Result is a proxied answer.
type Result struct {
	Status int
	Header http.Header
	Body   string
	Took   time.Duration
}

// Get sends GET path through the proxy with header name/value pairs.
func (e *Env) Get(path string, hdr ...string) Result {
	e.T.Helper()
	r, err := e.Do("GET", path, hdr...)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Do sends a request through the proxy; safe for concurrent use (it does
// not call t.Fatal).
func (e *Env) Do(method, path string, hdr ...string) (Result, error) {
	req, _ := http.NewRequest(method, e.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	start := time.Now()
	res, err := e.Client.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return Result{Status: res.StatusCode, Header: res.Header, Body: string(b), Took: time.Since(start)}, err
}

// Upstream is a real HTTP server on loopback.
type Upstream struct {
	Addr string
	Hits atomic.Int64
	srv  *httptest.Server
}

// Echo starts an upstream answering 200 with {"name":name,"path":...}.
func Echo(t testing.TB, name string) *Upstream {
	return Handler(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"name": name, "path": r.URL.Path, "host": r.Host})
	})
}

// Handler starts an upstream running h.
func Handler(t testing.TB, h http.HandlerFunc) *Upstream {
	t.Helper()
	u := &Upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.Hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(u.srv.Close)
	u.Addr = strings.TrimPrefix(u.srv.URL, "http://")
	return u
}

// Nodes is the upstream as an inline upstream object.
func (u *Upstream) Nodes() string {
	return fmt.Sprintf(`{"type":"roundrobin","nodes":{"%s":1}}`, u.Addr)
}

// Name returns the "name" field of an Echo answer.
func Name(body string) string {
	var m map[string]string
	if json.Unmarshal([]byte(body), &m) != nil {
		return ""
	}
	return m["name"]
}
