package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stargate-edge/stargate/internal/admin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/store/etcdstore"
	"github.com/stargate-edge/stargate/internal/tenant"
	"github.com/stargate-edge/stargate/internal/testutil/etcdtest"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

const (
	adminKey  = "test-admin-key"
	viewerKey = "test-viewer-key"
)

// env is one admin API on a real loopback HTTP server over a real bolt store.
type env struct {
	t   *testing.T
	url string
	st  store.Store
	srv *admin.Server
}

// newEnv is an env on the embedded store.
func newEnv(t *testing.T) *env { return newEnvWith(t, "bolt") }

// backends runs a scenario on both store backends: the admin API must
// behave identically on each.
func backends(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("bolt", func(t *testing.T) { f(t, newEnvWith(t, "bolt")) })
	t.Run("etcd", func(t *testing.T) {
		if testing.Short() {
			t.Skip("etcd backend runs in the full suite")
		}
		f(t, newEnvWith(t, "etcd"))
	})
}

var (
	etcdOnce sync.Once
	etcdSrv  *etcdtest.Server
	etcdErr  error
	etcdSeq  atomic.Int64
)

// TestMain stops the shared etcd server, if a test started one.
func TestMain(m *testing.M) {
	code := m.Run()
	if etcdSrv != nil {
		_ = etcdSrv.Stop()
	}
	os.Exit(code)
}

func openStore(t *testing.T, backend string) store.Store {
	t.Helper()
	if backend == "etcd" {
		etcdOnce.Do(func() { etcdSrv, etcdErr = etcdtest.StartServer() })
		etcdtest.Check(t, etcdErr)
		st, err := etcdstore.New(context.Background(), etcdstore.Config{
			Endpoints: etcdSrv.Endpoints(),
			Prefix:    fmt.Sprintf("/admintest/%06d", etcdSeq.Add(1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// cheapArgon keeps password hashing fast in tests.
var cheapArgon = tenant.ArgonParams{Time: 1, MemoryKiB: 64, Threads: 1}

func newEnvWith(t *testing.T, backend string, mods ...func(*admin.Options)) *env {
	t.Helper()
	st := openStore(t, backend)
	ring, err := tlscert.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	opts := admin.Options{
		Store: st, KeyRequired: true, Keyring: ring, Version: "test",
		Keys:       []admin.Key{{Name: "a", Key: adminKey, Role: admin.RoleAdmin}, {Name: "v", Key: viewerKey, Role: admin.RoleViewer}},
		CacheZones: map[string]string{"disk_cache_one": "disk", "memory_cache": "memory"},
		Accounts:   admin.AccountOptions{Argon: cheapArgon},
	}
	for _, m := range mods {
		m(&opts)
	}
	srv := admin.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		st.Close()
	})
	return &env{t: t, url: hs.URL, st: st, srv: srv}
}

// step is one request of a scenario and what must come back.
type step struct {
	desc   string
	method string
	path   string // below /apisix/admin
	body   string
	key    string // "" = admin key, "-" = none
	status int
	// want: a JSON document compared exactly (times and indexes zeroed),
	// or, when it starts with "~", a substring of the body.
	want string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path, body, key string) response {
	e.t.Helper()
	return e.doWith(method, path, body, key, nil)
}

// doWith is do with extra request headers.
func (e *env) doWith(method, path, body, key string, hdr map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.url + "/apisix/admin" + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	switch key {
	case "":
		req.Header.Set("X-API-KEY", adminKey)
	case "-":
	default:
		req.Header.Set("X-API-KEY", key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// run executes steps in order; they share the env's state.
func (e *env) run(steps []step) {
	e.t.Helper()
	for _, s := range steps {
		r := e.do(s.method, s.path, s.body, s.key)
		if r.status != s.status {
			e.t.Errorf("%s: %s %s: status %d, want %d; body %s", s.desc, s.method, s.path, r.status, s.status, r.body)
			continue
		}
		if s.want == "" {
			continue
		}
		if strings.HasPrefix(s.want, "~") {
			if !strings.Contains(string(r.body), s.want[1:]) {
				e.t.Errorf("%s: body %s does not contain %q", s.desc, r.body, s.want[1:])
			}
			continue
		}
		if diff := cmp.Diff(normalize(e.t, []byte(s.want)), normalize(e.t, r.body)); diff != "" {
			e.t.Errorf("%s: %s %s: body mismatch (-want +got):\n%s", s.desc, s.method, s.path, diff)
		}
	}
}

// normalize decodes JSON and zeroes the fields that vary per run.
func normalize(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				switch k {
				case "create_time", "update_time", "createdIndex", "modifiedIndex":
					x[k] = 0.0
				default:
					x[k] = walk(e)
				}
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		}
		return v
	}
	return walk(v)
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.body)
	}
	return m
}
