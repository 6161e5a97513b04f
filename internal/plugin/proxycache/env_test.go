package proxycache_test

// The in-process Stargate the tests run requests through: bolt store,
// admin API, snapshot loader and proxy on loopback, with cache zones
// published the way cmd/stargate publishes them (adapted from
// internal/proxy's tests), and an origin that counts what it gets.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/cache"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

type env struct {
	t        testing.TB
	loader   *snapshot.Loader
	adminURL string
	httpURL  string
	client   *http.Client
	mem      *cache.Zone
	disk     *cache.Zone
}

// newEnv starts a Stargate whose zones are "memory_cache" (memory) and
// "disk_cache_one" (disk, in diskDir; a fresh directory when empty).
func newEnv(t testing.TB, diskDir string) *env {
	t.Helper()
	if diskDir == "" {
		diskDir = t.TempDir()
	}
	mem, err := cache.Open(cache.Config{Name: "memory_cache", Kind: cache.KindMemory, Size: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	disk, err := cache.Open(cache.Config{Name: "disk_cache_one", Kind: cache.KindDisk, Size: 256 << 20, Dir: diskDir})
	if err != nil {
		t.Fatal(err)
	}
	cache.SetZones(mem, disk)
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
		CacheZones: map[string]string{"memory_cache": "memory", "disk_cache_one": "disk", "ghost_zone": "memory"},
		Applied:    loader.Served})
	if err := adm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(adm.Handler())
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Close()
		as.Close()
		cancel()
		ups.Close()
		st.Close()
		mem.Close()
		disk.Close()
		cache.SetZones()
	})
	return &env{t: t, loader: loader, adminURL: as.URL + "/apisix/admin", httpURL: "http://" + srv.HTTPAddr(), client: client, mem: mem, disk: disk}
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

type result struct {
	status int
	header http.Header
	body   string
}

func (r result) cache() string { return r.header.Get("Apisix-Cache-Status") }

func (e *env) do(method, path string, hdr ...string) result {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.httpURL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(b)}
}

func (e *env) get(path string, hdr ...string) result {
	e.t.Helper()
	return e.do("GET", path, hdr...)
}

// origin is an upstream that counts requests per path and answers with
// the handler a test sets for the path.
type origin struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   map[string]int
	// last request headers per path
	last     map[string]http.Header
	lastMeth map[string]string
	handlers map[string]func(w http.ResponseWriter, r *http.Request, n int)
}

func newOrigin(t testing.TB) *origin {
	o := &origin{n: map[string]int{}, last: map[string]http.Header{}, lastMeth: map[string]string{},
		handlers: map[string]func(http.ResponseWriter, *http.Request, int){}}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.n[r.URL.Path]++
		n := o.n[r.URL.Path]
		o.last[r.URL.Path] = r.Header.Clone()
		o.lastMeth[r.URL.Path] = r.Method
		h := o.handlers[r.URL.Path]
		o.mu.Unlock()
		if h == nil {
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "%s #%d", r.URL.Path, n)
			return
		}
		h(w, r, n)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) addr() string { return strings.TrimPrefix(o.srv.URL, "http://") }

func (o *origin) handle(path string, h func(w http.ResponseWriter, r *http.Request, n int)) {
	o.mu.Lock()
	o.handlers[path] = h
	o.mu.Unlock()
}

func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[path]
}

func (o *origin) lastHeader(path string) http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last[path]
}

func (o *origin) lastMethod(path string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastMeth[path]
}
