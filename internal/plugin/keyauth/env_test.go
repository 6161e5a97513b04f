package keyauth_test

// The in-process Stargate the tests run requests through: bolt store,
// admin API, snapshot loader and proxy on loopback, with echo upstreams
// (adapted from internal/proxy's tests).

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

type env struct {
	t        *testing.T
	adminURL string
	httpURL  string
	client   *http.Client
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
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Close()
		as.Close()
		cancel()
		ups.Close()
		st.Close()
	})
	return &env{t: t, adminURL: as.URL + "/apisix/admin", httpURL: "http://" + srv.HTTPAddr(), client: client}
}

// put writes an admin object; the admin API answers once the data plane
// serves it.
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

// upstreamSaw decodes what the echo upstream received.
type upstreamSaw struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

func (r result) saw(t *testing.T) upstreamSaw {
	t.Helper()
	var s upstreamSaw
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("upstream answer %d %q: %v", r.status, r.body, err)
	}
	return s
}

// do sends a request to the proxy; hdr holds name, value pairs.
func (e *env) do(method, path, body string, hdr ...string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.httpURL+path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
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
	return e.do("GET", path, "", hdr...)
}

// echo starts an upstream that answers with what it received and returns
// its address.
func echo(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(upstreamSaw{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Header: r.Header, Body: string(body)})
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// route puts a route on uri to the echo upstream with the given plugins.
func (e *env) route(id, uri, up, plugins string) {
	e.t.Helper()
	e.put("/routes/"+id, fmt.Sprintf(`{"uri":%q,"plugins":%s,"upstream":{"nodes":{%q:1}}}`, uri, plugins, up))
}

// rejected checks a rejection's status, exact body and headers.
func rejected(t *testing.T, r result, status int, body string, hdr ...string) {
	t.Helper()
	if r.status != status || r.body != body+"\n" {
		t.Errorf("got %d %q, want %d %q", r.status, r.body, status, body+"\n")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if got := r.header.Get(hdr[i]); got != hdr[i+1] {
			t.Errorf("%s = %q, want %q", hdr[i], got, hdr[i+1])
		}
	}
}
