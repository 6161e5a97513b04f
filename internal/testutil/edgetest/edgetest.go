// Package edgetest runs a whole single-node Stargate in process for tests:
// a bolt store, the admin API, the compiled snapshot and the proxy
// listeners, all on loopback, plus echo upstreams that report what they
// received. Plugin and proxy tests drive real requests through it instead
// of each copying the wiring.
package edgetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
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
	logs      *syncBuffer
	stop      func()
}

// Close stops everything now (it also happens when the test ends), for
// tests that check what plugins do on shutdown.
func (e *Env) Close() { e.stop() }

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

// Logs is what the snapshot loader logged (objects left out and why).
func (e *Env) Logs() string { return e.logs.String() }

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
	logs := &syncBuffer{}
	loader := snapshot.New(snapshot.Options{Store: st, Upstreams: ups, Keyring: ring,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err := loader.Start(ctx); err != nil {
		t.Fatal(err)
	}
	adm := admin.New(admin.Options{Store: st, Keyring: ring, KeyRequired: false,
		CacheZones: map[string]string{"disk_cache_one": "disk", "memory_cache": "memory"},
		Applied:    loader.Served})
	if err := adm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(adm.Handler())
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	// The client shows answers as they are sent: no transparent
	// decompression, no redirect following.
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 256},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			client.CloseIdleConnections()
			srv.Close()
			as.Close()
			cancel()
			ups.Close()
			st.Close()
		})
	}
	t.Cleanup(stop)
	return &Env{stop: stop, T: t, AdminURL: as.URL + "/apisix/admin", HTTPURL: "http://" + srv.HTTPAddr(), HTTPSAddr: srv.HTTPSAddr(),
		Store: st, Loader: loader, Client: client, logs: logs}
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
	Took   time.Duration // from sending the request to the end of the body
}

// Route puts route id on uri with the plugins object plugins, proxying to
// the upstream node addr (host:port).
func (e *Env) Route(id, uri, addr, plugins string) {
	e.T.Helper()
	e.Put("/routes/"+id, fmt.Sprintf(`{"uri":%q,"plugins":%s,"upstream":{"nodes":{%q:1},"type":"roundrobin"}}`,
		uri, plugins, addr))
}

// Do sends a request through the proxy. hdr is name, value pairs; a "Host"
// pair sets the Host; the value "<none>" keeps the client from sending a
// default for that header (User-Agent).
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
		switch {
		case strings.EqualFold(hdr[i], "Host"):
			req.Host = hdr[i+1]
		case hdr[i+1] == "<none>":
			req.Header[hdr[i]] = nil
		default:
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	start := time.Now()
	res, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return Result{Status: res.StatusCode, Header: res.Header, Body: string(b), Took: time.Since(start)}
}

// Raw sends a hand-written HTTP/1.1 request (for what Go's client will
// not send, such as a repeated User-Agent); "\n" line ends are turned into
// CRLF unless req already has CRLF line ends (then it is sent byte for
// byte, for tests that count request bytes).
func (e *Env) Raw(req string) Result {
	e.T.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.HTTPURL, "http://"))
	if err != nil {
		e.T.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if !strings.Contains(req, "\r\n") {
		req = strings.ReplaceAll(req, "\n", "\r\n")
	}
	if _, err := io.WriteString(conn, req); err != nil {
		e.T.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Result{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// Try is Do for concurrent use: it returns errors instead of failing the
// test (t.Fatal must not be called from other goroutines).
func (e *Env) Try(method, path, body string, hdr ...string) (Result, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.HTTPURL+path, rd)
	if err != nil {
		return Result{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
		} else {
			req.Header.Add(hdr[i], hdr[i+1])
		}
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
	Name    string      `json:"name"`
	Method  string      `json:"method"`
	Host    string      `json:"host"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Body    string      `json:"body"`
	Headers http.Header `json:"headers"`
	Remote  string      `json:"remote"` // the upstream's view of the peer
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
			Query: r.URL.RawQuery, Body: string(body), Headers: r.Header, Remote: r.RemoteAddr})
	}))
	t.Cleanup(s.Close)
	u.Addr = strings.TrimPrefix(s.URL, "http://")
	return u
}

// Serve starts an upstream with handler h and returns its host:port.
func Serve(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// NewHandler starts an upstream running h, counting its requests.
func NewHandler(t testing.TB, h http.HandlerFunc) *Echo {
	t.Helper()
	u := &Echo{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	u.Addr = strings.TrimPrefix(s.URL, "http://")
	return u
}

// Name is the name of the Echo upstream that gave an answer, "" when the
// answer is not an Echo's.
func Name(body string) string {
	var s Seen
	if json.Unmarshal([]byte(body), &s) != nil {
		return ""
	}
	return s.Name
}

// Upstream is the JSON of a one-node roundrobin upstream on u.
func (u *Echo) Upstream() string {
	return fmt.Sprintf(`{"type":"roundrobin","nodes":{"%s":1}}`, u.Addr)
}

// Decode parses an Echo answer.
func Decode(t testing.TB, body string) Seen {
	t.Helper()
	var s Seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("not an echo answer: %q: %v", body, err)
	}
	return s
}

// Seen decodes an answer that came from an Echo upstream.
func (r Result) Seen(t testing.TB) Seen {
	t.Helper()
	var s Seen
	if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
		t.Fatalf("not an echo answer: %d %q: %v", r.Status, r.Body, err)
	}
	return s
}

// Rejected checks a rejection: its status, its exact body (body plus the
// newline APISIX's JSON messages end with) and header name, value pairs.
func Rejected(t testing.TB, r Result, status int, body string, hdr ...string) {
	t.Helper()
	if r.Status != status || r.Body != body+"\n" {
		t.Errorf("got %d %q, want %d %q", r.Status, r.Body, status, body+"\n")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if got := r.Header.Get(hdr[i]); got != hdr[i+1] {
			t.Errorf("%s = %q, want %q", hdr[i], got, hdr[i+1])
		}
	}
}
