package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// A declared plugin with no runtime, standing for a plugin whose
// implementation has not landed: routes using it must not be served.
func init() {
	plugin.Register(plugin.Definition{Name: "test-no-runtime", Priority: 1, Type: "auth", Schema: []byte(`{"type":"object"}`)})
}

// env is a whole single-node Stargate in process: store, admin API, the
// compiled snapshot and the proxy listeners, all on loopback.
type env struct {
	t        testing.TB
	adminURL string
	httpURL  string
	httpsAdr string
	loader   *snapshot.Loader
}

func newEnv(t testing.TB, opts ...func(*proxy.Options)) *env {
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
		Problem: func(key string) string { return loader.Current().Problems[key] },
		Applied: loader.Served})
	if err := adm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(adm.Handler())
	po := proxy.Options{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", Snapshots: loader}
	for _, o := range opts {
		o(&po)
	}
	srv, err := proxy.Start(po)
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
	return &env{t: t, adminURL: as.URL + "/apisix/admin", httpURL: "http://" + srv.HTTPAddr(), httpsAdr: srv.HTTPSAddr(), loader: loader}
}

func (e *env) put(path, body string) http.Header {
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
	return res.Header
}

func (e *env) del(path string) {
	e.t.Helper()
	req, _ := http.NewRequest("DELETE", e.adminURL+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		e.t.Fatalf("DELETE %s: %d", path, res.StatusCode)
	}
}

type result struct {
	status int
	header http.Header
	body   string
}

func (e *env) get(host, path string, hdr ...string) result {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.httpURL+path, nil)
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(b)}
}

// echo is an upstream that answers with its name and what it received.
func echo(t *testing.T, name string) (addr string, hits *int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": name, "host": r.Host, "path": r.URL.Path, "query": r.URL.RawQuery, "method": r.Method,
			"xff": r.Header.Get("X-Forwarded-For"), "xfp": r.Header.Get("X-Forwarded-Proto"), "xfh": r.Header.Get("X-Forwarded-Host"),
			"xri": r.Header.Get("X-Real-IP"), "body": string(body), "rid": r.Header.Get("X-Request-Id"), "hdr": r.Header.Get("X-Added"),
			"conn": r.Header.Get("Connection"), "hop": r.Header.Get("X-Hop"),
		})
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), &n
}

func field(t *testing.T, body, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	return fmt.Sprint(m[key])
}

func TestProxyBasics(t *testing.T) {
	e := newEnv(t)
	a, _ := echo(t, "a")
	b, _ := echo(t, "b")
	e.put("/upstreams/a", fmt.Sprintf(`{"nodes":{"%s":1}}`, a))
	e.put("/upstreams/b", fmt.Sprintf(`{"nodes":{"%s":1}}`, b))
	e.put("/routes/host", `{"uri":"/x/*","host":"api.example.com","upstream_id":"a"}`)
	e.put("/routes/any", `{"uri":"/x/*","priority":100,"upstream_id":"b"}`)

	r := e.get("api.example.com", "/x/1?q=1")
	if r.status != 200 || field(t, r.body, "name") != "a" {
		t.Fatalf("host route: %d %s", r.status, r.body)
	}
	if field(t, r.body, "host") != "api.example.com" || field(t, r.body, "path") != "/x/1" || field(t, r.body, "query") != "q=1" {
		t.Errorf("pass_host/path/query: %s", r.body)
	}
	for _, k := range []string{"xff", "xri"} {
		if field(t, r.body, k) != "127.0.0.1" {
			t.Errorf("%s = %s", k, field(t, r.body, k))
		}
	}
	if field(t, r.body, "xfp") != "http" || field(t, r.body, "xfh") != "api.example.com" {
		t.Errorf("forwarded proto/host: %s", r.body)
	}
	if r := e.get("other.com", "/x/1"); field(t, r.body, "name") != "b" {
		t.Errorf("hostless route: %s", r.body)
	}
	r = e.get("", "/nope")
	if r.status != 404 || r.body != `{"error_msg":"404 Route Not Found"}`+"\n" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("no route: %d %q %v", r.status, r.body, r.header)
	}
	// Hop-by-hop headers named in Connection are not forwarded.
	r = e.get("other.com", "/x/1", "Connection", "X-Hop", "X-Hop", "secret")
	if field(t, r.body, "hop") != "" {
		t.Errorf("hop-by-hop header forwarded: %s", r.body)
	}
	// An existing X-Forwarded-For is extended.
	r = e.get("other.com", "/x/1", "X-Forwarded-For", "192.0.2.1")
	if field(t, r.body, "xff") != "192.0.2.1, 127.0.0.1" {
		t.Errorf("xff chain: %s", field(t, r.body, "xff"))
	}

	// A change is visible to the very next request after the admin answer.
	for i := 0; i < 20; i++ {
		up := "a"
		if i%2 == 1 {
			up = "b"
		}
		e.put("/routes/flip", fmt.Sprintf(`{"uri":"/flip","upstream_id":"%s"}`, up))
		if got := field(t, e.get("", "/flip").body, "name"); got != up {
			t.Fatalf("iteration %d: got %s right after switching to %s", i, got, up)
		}
	}
	e.del("/routes/flip")
	if r := e.get("", "/flip"); r.status != 404 {
		t.Errorf("deleted route still served: %d", r.status)
	}
	// Disabled routes are not served.
	e.put("/routes/off", `{"uri":"/off","status":0,"upstream_id":"a"}`)
	if r := e.get("", "/off"); r.status != 404 {
		t.Errorf("disabled route served: %d", r.status)
	}
}

func TestPassHostAndService(t *testing.T) {
	e := newEnv(t)
	a, _ := echo(t, "a")
	e.put("/services/s", fmt.Sprintf(`{"hosts":["svc.example.com"],"upstream":{"nodes":{"%s":1},"pass_host":"rewrite","upstream_host":"internal.local"}}`, a))
	e.put("/routes/1", `{"uri":"/s","service_id":"s"}`)
	r := e.get("svc.example.com", "/s")
	if r.status != 200 || field(t, r.body, "host") != "internal.local" {
		t.Fatalf("service upstream with pass_host rewrite: %d %s", r.status, r.body)
	}
	if r := e.get("elsewhere.com", "/s"); r.status != 404 {
		t.Errorf("route did not inherit the service's hosts: %d", r.status)
	}
	e.put("/routes/2", fmt.Sprintf(`{"uri":"/node","upstream":{"nodes":{"%s":1},"pass_host":"node"}}`, a))
	if r := e.get("x.com", "/node"); field(t, r.body, "host") != a {
		t.Errorf("pass_host node: %s", r.body)
	}
	// Changing the service changes its routes.
	e.put("/services/s", fmt.Sprintf(`{"hosts":["svc2.example.com"],"upstream":{"nodes":{"%s":1}}}`, a))
	if r := e.get("svc2.example.com", "/s"); r.status != 200 || field(t, r.body, "host") != "svc2.example.com" {
		t.Errorf("after service change: %d %s", r.status, r.body)
	}
}

func TestRetriesAndTimeouts(t *testing.T) {
	e := newEnv(t)
	a, hits := echo(t, "a")
	// A port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	e.put("/routes/r", fmt.Sprintf(`{"uri":"/r","upstream":{"type":"roundrobin","nodes":{"%s":100,"%s":1},"retries":1}}`, dead, a))
	for i := 0; i < 5; i++ {
		if r := e.get("", "/r"); r.status != 200 || field(t, r.body, "name") != "a" {
			t.Fatalf("retry on connection refused: %d %s", r.status, r.body)
		}
	}
	if *hits != 5 {
		t.Errorf("hits = %d", *hits)
	}
	e.put("/routes/dead", fmt.Sprintf(`{"uri":"/dead","upstream":{"nodes":{"%s":1},"retries":0}}`, dead))
	if r := e.get("", "/dead"); r.status != 502 {
		t.Errorf("dead upstream: %d %s", r.status, r.body)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	defer slow.Close()
	e.put("/routes/slow", fmt.Sprintf(`{"uri":"/slow","timeout":{"connect":1,"send":1,"read":0.3},"upstream":{"nodes":{"%s":1},"retries":0}}`, strings.TrimPrefix(slow.URL, "http://")))
	t0 := time.Now()
	if r := e.get("", "/slow"); r.status != 504 {
		t.Errorf("slow upstream: %d %s", r.status, r.body)
	}
	if d := time.Since(t0); d > 1500*time.Millisecond {
		t.Errorf("read timeout took %v", d)
	}
	// Retry on timeout moves to the next node.
	e.put("/routes/slow2", fmt.Sprintf(`{"uri":"/slow2","timeout":{"connect":1,"send":1,"read":0.3},"upstream":{"type":"roundrobin","nodes":{"%s":100,"%s":1},"retries":1}}`, strings.TrimPrefix(slow.URL, "http://"), a))
	if r := e.get("", "/slow2"); r.status != 200 || field(t, r.body, "name") != "a" {
		t.Errorf("retry after timeout: %d %s", r.status, r.body)
	}
}

func TestPlugins(t *testing.T) {
	e := newEnv(t)
	a, _ := echo(t, "a")
	e.put("/upstreams/a", fmt.Sprintf(`{"nodes":{"%s":1}}`, a))
	e.put("/routes/rw", `{"uri":"/old/*","upstream_id":"a","plugins":{"proxy-rewrite":{"regex_uri":["^/old/(.*)","/new/$1"],"host":"rewritten.local","headers":{"set":{"X-Added":"yes"}}}}}`)
	r := e.get("", "/old/thing")
	if field(t, r.body, "path") != "/new/thing" || field(t, r.body, "host") != "rewritten.local" || field(t, r.body, "hdr") != "yes" {
		t.Errorf("proxy-rewrite: %s", r.body)
	}
	e.put("/routes/deny", `{"uri":"/deny","upstream_id":"a","plugins":{"ip-restriction":{"blacklist":["127.0.0.0/8"],"message":"go away"}}}`)
	r = e.get("", "/deny")
	if r.status != 403 || r.body != `{"message":"go away"}`+"\n" {
		t.Errorf("ip-restriction: %d %q", r.status, r.body)
	}
	e.put("/routes/allow", `{"uri":"/allow","upstream_id":"a","plugins":{"ip-restriction":{"whitelist":["127.0.0.1"]}}}`)
	if r := e.get("", "/allow"); r.status != 200 {
		t.Errorf("whitelisted: %d", r.status)
	}
	// A global rule runs for every request, matched or not.
	e.put("/global_rules/1", `{"plugins":{"request-id":{}}}`)
	r = e.get("", "/allow")
	if id := r.header.Get("X-Request-Id"); len(id) != 36 || field(t, r.body, "rid") != id {
		t.Errorf("request-id: header %q upstream %q", id, field(t, r.body, "rid"))
	}
	if r := e.get("", "/nothing"); r.status != 404 || r.header.Get("X-Request-Id") == "" {
		t.Errorf("global rule on a 404: %d %v", r.status, r.header)
	}
	// A plugin without a runtime keeps its route out instead of failing open.
	h := e.put("/routes/auth", `{"uri":"/auth","upstream_id":"a","plugins":{"test-no-runtime":{}}}`)
	if r := e.get("", "/auth"); r.status != 404 {
		t.Errorf("route with a plugin that has no runtime was served: %d", r.status)
	}
	if w := h.Get("X-Stargate-Warning"); w != "route auth is not served: plugin test-no-runtime has no runtime in this build yet" {
		t.Errorf("warning header = %q", w)
	}
	// Plugin order follows priority, and _meta.disable turns one off.
	e.put("/routes/off", `{"uri":"/offp","upstream_id":"a","plugins":{"ip-restriction":{"blacklist":["127.0.0.1"],"_meta":{"disable":true}}}}`)
	if r := e.get("", "/offp"); r.status != 200 {
		t.Errorf("disabled plugin ran: %d", r.status)
	}
}

func TestBalancing(t *testing.T) {
	e := newEnv(t)
	a, ha := echo(t, "a")
	b, hb := echo(t, "b")
	e.put("/routes/w", fmt.Sprintf(`{"uri":"/w","upstream":{"type":"roundrobin","nodes":{"%s":1,"%s":3}}}`, a, b))
	for i := 0; i < 40; i++ {
		e.get("", "/w")
	}
	if *ha != 10 || *hb != 30 {
		t.Errorf("weights 1:3 gave %d:%d", *ha, *hb)
	}
	e.put("/routes/c", fmt.Sprintf(`{"uri":"/c","upstream":{"type":"chash","hash_on":"header","key":"X-User","nodes":{"%s":1,"%s":1}}}`, a, b))
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		first := field(t, e.get("", "/c", "X-User", user).body, "name")
		for i := 0; i < 5; i++ {
			if got := field(t, e.get("", "/c", "X-User", user).body, "name"); got != first {
				t.Fatalf("chash moved %s from %s to %s", user, first, got)
			}
		}
	}
}

func TestWebSocket(t *testing.T) {
	e := newEnv(t)
	ws := httptest.NewServer(websocket.Handler(func(c *websocket.Conn) { _, _ = io.Copy(c, c) }))
	defer ws.Close()
	e.put("/routes/ws", fmt.Sprintf(`{"uri":"/ws","enable_websocket":true,"upstream":{"nodes":{"%s":1}}}`, strings.TrimPrefix(ws.URL, "http://")))
	conn, err := websocket.Dial("ws"+strings.TrimPrefix(e.httpURL, "http")+"/ws", "", "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, msg := range []string{"hello", "stargate"} {
		if err := websocket.Message.Send(conn, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if err := websocket.Message.Receive(conn, &got); err != nil || got != msg {
			t.Fatalf("echo: %q %v", got, err)
		}
	}
}

func selfSigned(t *testing.T, names ...string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

func TestTLSAndHTTP2(t *testing.T) {
	e := newEnv(t)
	a, _ := echo(t, "a")
	c1, k1 := selfSigned(t, "exact.example.com")
	c2, k2 := selfSigned(t, "*.example.com")
	body := func(c, k string) string {
		b, _ := json.Marshal(map[string]string{"cert": c, "key": k})
		return string(b)
	}
	e.put("/ssls/1", body(c1, k1))
	e.put("/ssls/2", body(c2, k2))
	e.put("/routes/t", fmt.Sprintf(`{"uri":"/t","upstream":{"nodes":{"%s":1}}}`, a))
	dial := func(sni string) (*http.Response, *tls.ConnectionState, error) {
		tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{ServerName: sni, InsecureSkipVerify: true},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", e.httpsAdr)
			}}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr}).Get("https://" + sni + "/t")
		if err != nil {
			return nil, nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res, res.TLS, nil
	}
	for _, c := range []struct{ sni, wantCN string }{
		{"exact.example.com", "exact.example.com"},
		{"other.example.com", "*.example.com"},
	} {
		res, st, err := dial(c.sni)
		if err != nil {
			t.Fatalf("%s: %v", c.sni, err)
		}
		if res.ProtoMajor != 2 {
			t.Errorf("%s: protocol %s, want HTTP/2", c.sni, res.Proto)
		}
		if cn := st.PeerCertificates[0].Subject.CommonName; cn != c.wantCN {
			t.Errorf("%s: got certificate %s, want %s", c.sni, cn, c.wantCN)
		}
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", c.sni, res.StatusCode)
		}
	}
	if _, _, err := dial("unknown.org"); err == nil {
		t.Error("TLS handshake succeeded for a name with no certificate")
	}
	// HTTP/1.1 over TLS (no h2 offered): served by the same HTTP/1.1
	// server as the plain port, scheme https, and refusing smuggling alike.
	var h1 http.Protocols
	h1.SetHTTP1(true)
	tr1 := &http.Transport{Protocols: &h1, TLSClientConfig: &tls.Config{ServerName: "exact.example.com", InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", e.httpsAdr)
		}}
	defer tr1.CloseIdleConnections()
	for i := 0; i < 3; i++ { // keep-alive over TLS
		res, err := (&http.Client{Transport: tr1}).Get("https://exact.example.com/t")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.ProtoMajor != 1 || res.StatusCode != 200 || field(t, string(b), "xfp") != "https" {
			t.Errorf("HTTP/1.1 over TLS: %s %d %s", res.Proto, res.StatusCode, b)
		}
	}
	tc, err := tls.Dial("tcp", e.httpsAdr, &tls.Config{ServerName: "exact.example.com", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.Write([]byte("POST /t HTTP/1.1\r\nHost: exact.example.com\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	if res, err := http.ReadResponse(bufio.NewReader(tc), nil); err != nil || res.StatusCode != 400 {
		t.Errorf("CL+TE over TLS: %v %v", res, err)
	}
	// h2c with prior knowledge on the plain listener.
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	res, err := (&http.Client{Transport: &http.Transport{Protocols: &p}}).Get(e.httpURL + "/t")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != 200 {
		t.Errorf("h2c: %s %d", res.Proto, res.StatusCode)
	}
}
