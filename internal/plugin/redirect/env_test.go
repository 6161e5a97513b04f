package redirect_test

// The in-process Stargate the tests run requests through: bolt store,
// admin API, snapshot loader and proxy on loopback, with real upstream
// servers (adapted from internal/proxy's tests).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	// The client shows responses as they are sent: no transparent
	// decompression, no redirect following.
	client := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
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

// admin sends an admin API request and returns its status and body.
func (e *env) admin(method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.adminURL+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b)
}

// put writes an admin object; the admin API answers once the data plane
// serves it.
func (e *env) put(path, body string) {
	e.t.Helper()
	if code, b := e.admin("PUT", path, body); code != 200 && code != 201 {
		e.t.Fatalf("PUT %s: %d %s", path, code, b)
	}
}

// route puts route id on uri with one plugin set, proxying to addr.
func (e *env) route(id, uri, addr, plugins string) {
	e.t.Helper()
	e.put("/routes/"+id, fmt.Sprintf(`{"uri":%q,"plugins":%s,"upstream":{"nodes":{%q:1},"type":"roundrobin"}}`,
		uri, plugins, addr))
}

type result struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the proxy; hdr holds name, value pairs ("Host"
// sets the request's host; the value "<none>" keeps the client from
// sending a default, as for User-Agent).
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
		if hdr[i+1] == "<none>" {
			req.Header[hdr[i]] = nil
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return result{res.StatusCode, res.Header, string(b)}
}

// raw sends a hand-written HTTP/1.1 request (for what Go's client will
// not send, such as a repeated User-Agent); "\n" line ends are turned into
// CRLF.
func (e *env) raw(req string) result {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.httpURL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, strings.ReplaceAll(req, "\n", "\r\n")); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
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

// saw is what the echo upstream received.
type saw struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
	Remote string      `json:"remote"`
}

func (r result) saw(t *testing.T) saw {
	t.Helper()
	var s saw
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("upstream answer %d %q: %v", r.status, r.body, err)
	}
	return s
}

// echo starts an upstream that answers with what it received.
func echo(t *testing.T) string {
	t.Helper()
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(saw{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Header: r.Header, Body: string(body), Remote: r.RemoteAddr})
	})
}

// serve starts an upstream with handler h and returns its address.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}
