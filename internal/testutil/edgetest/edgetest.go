// Package edgetest runs a whole single-node Stargate in process for tests:
// a bolt store, the admin API, the compiled snapshot and the proxy
// listeners, all on loopback, plus echo upstreams that report what they
// received. Plugin and proxy tests drive real requests through it instead
// of each copying the wiring.
package edgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// Env is one running Stargate. The admin API answers a write only once the
// data plane serves it, so a request right after Put sees the change.
type Env struct {
	T         testing.TB
	AdminURL  string // .../apisix/admin
	HTTPURL   string // http://127.0.0.1:port of the proxy
	HTTPSAddr string
	Store     store.Store
	Loader    *snapshot.Loader
	Client    *http.Client
}

// New starts an Env; everything stops at the end of the test.
func New(t testing.TB) *Env {
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
	adm := admin.New(admin.Options{Store: st, Keyring: ring, KeyRequired: false,
		CacheZones: map[string]string{"disk_cache_one": "disk", "memory_cache": "memory"},
		Applied: func(ctx context.Context, rev int64) {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_ = loader.WaitRevision(c, rev)
		}})
	if err := adm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(adm.Handler())
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(func() {
		srv.Close()
		as.Close()
		cancel()
		ups.Close()
		st.Close()
		client.CloseIdleConnections()
	})
	return &Env{T: t, AdminURL: as.URL + "/apisix/admin", HTTPURL: "http://" + srv.HTTPAddr(), HTTPSAddr: srv.HTTPSAddr(),
		Store: st, Loader: loader, Client: client}
}

// Admin sends one admin request and returns status and body.
func (e *Env) Admin(method, path, body string) (int, string) {
	e.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.AdminURL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	res, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Put writes an object through the admin API and fails the test unless it
// is accepted.
func (e *Env) Put(path, body string) {
	e.T.Helper()
	if code, b := e.Admin("PUT", path, body); code != 200 && code != 201 {
		e.T.Fatalf("PUT %s: %d %s", path, code, b)
	}
}

// Delete removes an object through the admin API.
func (e *Env) Delete(path string) {
	e.T.Helper()
	if code, b := e.Admin("DELETE", path, ""); code != 200 {
		e.T.Fatalf("DELETE %s: %d %s", path, code, b)
	}
}

// Result is one proxied answer.
type Result struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request through the proxy. hdr is name, value pairs; a "Host"
// pair sets the Host.
func (e *Env) Do(method, path, body string, hdr ...string) Result {
	e.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.HTTPURL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
		} else {
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	res, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Result{res.StatusCode, res.Header, string(b)}
}

// Get is Do for a GET without body.
func (e *Env) Get(path string, hdr ...string) Result {
	e.T.Helper()
	return e.Do("GET", path, "", hdr...)
}

// Echo is an upstream that answers 200 with a JSON description of the
// request it received.
type Echo struct {
	Addr string // host:port
	hits atomic.Int64
}

// Hits is the number of requests the upstream received.
func (u *Echo) Hits() int64 { return u.hits.Load() }

// Seen is what an Echo upstream reports about a request.
type Seen struct {
	Name    string              `json:"name"`
	Method  string              `json:"method"`
	Host    string              `json:"host"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Body    string              `json:"body"`
	Headers map[string][]string `json:"headers"`
}

// Header returns the first value of a request header the upstream saw.
func (s Seen) Header(name string) string {
	v := s.Headers[http.CanonicalHeaderKey(name)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// NewEcho starts an echo upstream named name.
func NewEcho(t testing.TB, name string) *Echo {
	t.Helper()
	u := &Echo{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Seen{Name: name, Method: r.Method, Host: r.Host, Path: r.URL.Path,
			Query: r.URL.RawQuery, Body: string(body), Headers: r.Header})
	}))
	t.Cleanup(s.Close)
	u.Addr = strings.TrimPrefix(s.URL, "http://")
	return u
}

// Upstream is the JSON of a one-node roundrobin upstream on u.
func (u *Echo) Upstream() string { return fmt.Sprintf(`{"type":"roundrobin","nodes":{"%s":1}}`, u.Addr) }

// Decode parses an Echo answer.
func Decode(t testing.TB, body string) Seen {
	t.Helper()
	var s Seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("not an echo answer: %q: %v", body, err)
	}
	return s
}
