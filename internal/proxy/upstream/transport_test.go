package upstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/tlscert"
)

func TestTransportReuse(t *testing.T) {
	m := newTestManager(t)
	base := `{"scheme":"https","nodes":{"a.test:1":1},"timeout":{"connect":2,"send":3,"read":4},"keepalive_pool":{"size":10,"idle_timeout":30}}`
	u0 := mustCompile(t, m, "upstreams/1", decode(t, base))
	tests := []struct {
		desc string
		key  string
		conf string
		same bool
	}{
		{"same config", "upstreams/1", base, true},
		{"other nodes, retries, read timeout, balancer", "upstreams/1",
			`{"type":"least_conn","retries":4,"scheme":"https","nodes":{"b.test:1":1,"c.test:2":2},"timeout":{"connect":2,"send":9,"read":9},"keepalive_pool":{"size":10,"idle_timeout":30}}`, true},
		{"pool size", "upstreams/1", strings.Replace(base, `"size":10`, `"size":11`, 1), false},
		{"idle timeout", "upstreams/1", strings.Replace(base, `"idle_timeout":30`, `"idle_timeout":31`, 1), false},
		{"connect timeout", "upstreams/1", strings.Replace(base, `"connect":2`, `"connect":1`, 1), false},
		{"tls verify", "upstreams/1", strings.Replace(base, `"scheme":"https"`, `"scheme":"https","tls":{"verify":true}`, 1), false},
		{"scheme", "upstreams/1", strings.Replace(base, `"scheme":"https"`, `"scheme":"http"`, 1), false},
		{"sni from upstream_host", "upstreams/1", strings.Replace(base, `"scheme":"https"`, `"scheme":"https","pass_host":"rewrite","upstream_host":"x.test"`, 1), false},
		{"other key", "upstreams/2", base, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			// start each case from the base config
			mustCompile(t, m, "upstreams/1", decode(t, base))
			if got := mustCompile(t, m, "upstreams/1", decode(t, base)).Transport(); got != u0.Transport() {
				t.Fatal("base transport replaced")
			}
			u := mustCompile(t, m, tc.key, decode(t, tc.conf))
			if same := u.Transport() == u0.Transport(); same != tc.same {
				t.Fatalf("same transport = %v, want %v", same, tc.same)
			}
			if !tc.same && tc.key == "upstreams/1" {
				u0 = mustCompile(t, m, "upstreams/1", decode(t, base))
			}
		})
	}
	tr := u0.Transport()
	if tr.MaxIdleConnsPerHost != 10 || tr.IdleConnTimeout != 30*time.Second || !tr.DisableCompression ||
		tr.TLSClientConfig == nil || !tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("transport settings: idle/host %d, idle %v, compression off %v, tls %+v",
			tr.MaxIdleConnsPerHost, tr.IdleConnTimeout, tr.DisableCompression, tr.TLSClientConfig)
	}
}

// connCounter counts the TCP connections a test server accepts.
func connCounter(s *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

func TestTransportPoolsConnections(t *testing.T) {
	var sawAE atomic.Value
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAE.Store(r.Header.Get("Accept-Encoding"))
		_, _ = io.WriteString(w, "ok")
	}))
	conns := connCounter(s)
	s.Start()
	defer s.Close()
	other := newBackend(t)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1}}`, s.Listener.Addr().String(), other.addr()))
	for range 50 {
		if _, _, err := do(t, u, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("%d connections for 25 sequential requests, want 1 (keep-alive)", c)
	}
	if ae := sawAE.Load(); ae != "" {
		t.Errorf("transport added Accept-Encoding %q", ae)
	}
	// recompiling keeps the pool
	u2 := mustCompile(t, m, "k", conf(t, `{"retries":1,"nodes":{%q:1,%q:1}}`, s.Listener.Addr().String(), other.addr()))
	for range 10 {
		if _, _, err := do(t, u2, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("%d connections after a recompile, want 1", c)
	}
	m.Retain(nil) // closes idle connections
}

func TestTransportProtocols(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
	})
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	h2c := httptest.NewUnstartedServer(h)
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetHTTP1(true)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	defer h2c.Close()

	tests := []struct {
		scheme  string
		srv     *httptest.Server
		urlPref string
		want    string
	}{
		{"https", tlsSrv, "https://", "HTTP/1.1"},
		{"grpcs", tlsSrv, "https://", "HTTP/2.0"},
		{"http", h2c, "http://", "HTTP/1.1"},
		{"grpc", h2c, "http://", "HTTP/2.0"},
	}
	m := newTestManager(t)
	for _, tc := range tests {
		t.Run(tc.scheme, func(t *testing.T) {
			u := mustCompile(t, m, "k/"+tc.scheme, conf(t, `{"scheme":%q,"nodes":{%q:1}}`, tc.scheme, tc.srv.Listener.Addr().String()))
			resp, err := u.Transport().RoundTrip(mustReq(t, tc.urlPref+u.Nodes()[0].Addr+"/"))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if got := resp.Header.Get("X-Proto"); got != tc.want {
				t.Errorf("server saw %s, want %s", got, tc.want)
			}
			u.Transport().CloseIdleConnections()
		})
	}
}

// testCert makes a self-signed certificate and key (PEM).
func testCert(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// tlsProbe is a TLS server that records the client certificate CN and the
// SNI of each handshake.
type tlsProbe struct {
	*httptest.Server
	mu      sync.Mutex
	clientC []string
	snis    []string
}

func newTLSProbe(t *testing.T) *tlsProbe {
	p := &tlsProbe{}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		p.mu.Lock()
		p.clientC = append(p.clientC, cn)
		p.mu.Unlock()
	}))
	p.Server.TLS = &tls.Config{
		ClientAuth: tls.RequestClientCert,
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			p.mu.Lock()
			p.snis = append(p.snis, h.ServerName)
			p.mu.Unlock()
			return nil, nil
		},
	}
	p.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	p.StartTLS()
	t.Cleanup(p.Close)
	return p
}

func (p *tlsProbe) last() (cn, sni string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.clientC) > 0 {
		cn = p.clientC[len(p.clientC)-1]
	}
	if len(p.snis) > 0 {
		sni = p.snis[len(p.snis)-1]
	}
	return cn, sni
}

func TestTransportTLS(t *testing.T) {
	srv := newTLSProbe(t)
	addr := srv.Listener.Addr().String()
	certPEM, keyPEM := testCert(t, "client-inline")
	idCert, idKey := testCert(t, "client-by-id")
	idPair, err := tls.X509KeyPair([]byte(idCert), []byte(idKey))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tlscert.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := ring.Encrypt(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	jsonStr := func(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }
	tests := []struct {
		desc    string
		conf    string
		sni     string // TransportFor argument, "" = Transport()
		wantErr string
		wantCN  string
		wantSNI string
	}{
		{desc: "verify off by default", conf: `{"scheme":"https","nodes":{%q:1}}`},
		{desc: "verify on rejects self-signed", conf: `{"scheme":"https","tls":{"verify":true},"nodes":{%q:1}}`, wantErr: "certificate"},
		{desc: "inline client certificate", conf: `{"scheme":"https","tls":{"client_cert":"` + jsonStr(certPEM) + `","client_key":"` + jsonStr(keyPEM) + `"},"nodes":{%q:1}}`, wantCN: "client-inline"},
		{desc: "encrypted client key", conf: `{"scheme":"https","tls":{"client_cert":"` + jsonStr(certPEM) + `","client_key":"` + jsonStr(encKey) + `"},"nodes":{%q:1}}`, wantCN: "client-inline"},
		{desc: "client_cert_id", conf: `{"scheme":"https","tls":{"client_cert_id":"7"},"nodes":{%q:1}}`, wantCN: "client-by-id"},
		{desc: "sni from upstream_host", conf: `{"scheme":"https","pass_host":"rewrite","upstream_host":"api.example.com","nodes":{%q:1}}`, wantSNI: "api.example.com"},
		{desc: "sni per request", conf: `{"scheme":"https","nodes":{%q:1}}`, sni: "client.example.org", wantSNI: "client.example.org"},
		{desc: "no sni for an IP node", conf: `{"scheme":"https","nodes":{%q:1}}`, wantSNI: ""},
	}
	m := newTestManager(t,
		WithClientCert(func(id string) (*tls.Certificate, error) {
			if id != "7" {
				return nil, errors.New("no such ssl")
			}
			return &idPair, nil
		}),
		WithKeyDecrypter(ring.Decrypt),
	)
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			u := mustCompile(t, m, "k", conf(t, tc.conf, addr))
			tr := u.Transport()
			if tc.sni != "" {
				tr = u.TransportFor(tc.sni)
				if tr == u.Transport() {
					t.Fatal("TransportFor returned the default transport")
				}
				if u.TransportFor(strings.ToUpper(tc.sni)) != tr {
					t.Fatal("TransportFor not pooled per name")
				}
			}
			resp, err := tr.RoundTrip(mustReq(t, "https://"+addr+"/"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			cn, sni := srv.last()
			if cn != tc.wantCN {
				t.Errorf("client certificate %q, want %q", cn, tc.wantCN)
			}
			if sni != tc.wantSNI {
				t.Errorf("SNI %q, want %q", sni, tc.wantSNI)
			}
			tr.CloseIdleConnections()
		})
	}
	t.Run("encrypted key without decrypter", func(t *testing.T) {
		m := newTestManager(t)
		_, err := m.Compile("k", conf(t, `{"scheme":"https","tls":{"client_cert":"`+jsonStr(certPEM)+`","client_key":"`+jsonStr(encKey)+`"},"nodes":{%q:1}}`, addr))
		if err == nil || !strings.Contains(err.Error(), "decrypter") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown client_cert_id", func(t *testing.T) {
		_, err := m.Compile("k2", conf(t, `{"scheme":"https","tls":{"client_cert_id":"8"},"nodes":{%q:1}}`, addr))
		if err == nil || !strings.Contains(err.Error(), "no such ssl") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("http ignores TransportFor", func(t *testing.T) {
		u := mustCompile(t, m, "k3", conf(t, `{"nodes":{%q:1}}`, addr))
		if u.TransportFor("x.test") != u.Transport() {
			t.Fatal("plain http got an SNI transport")
		}
	})
}

func TestWithConnectTimeout(t *testing.T) {
	// connect timeout of 1ns: dials fail at once unless the request
	// carries a longer one
	b := newBackend(t)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"timeout":{"connect":0.000000001,"send":1,"read":1},"nodes":{%q:1}}`, b.addr()))
	if u.Timeout.Connect != time.Nanosecond {
		t.Fatalf("connect timeout %v", u.Timeout.Connect)
	}
	_, err := u.Transport().RoundTrip(mustReq(t, "http://"+b.addr()+"/"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("without override: %v, want a dial timeout", err)
	}
	ctx := WithConnectTimeout(context.Background(), 5*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.addr()+"/", nil)
	resp, err := u.Transport().RoundTrip(req)
	if err != nil {
		t.Fatalf("dial with a 5s override: %v", err)
	}
	_ = resp.Body.Close()
	u.Transport().CloseIdleConnections()
}
