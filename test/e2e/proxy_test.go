package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var proxyRE = regexp.MustCompile(`msg="proxy listening" proto=(https?) addr=(\S+)`)

// proxyAddrs reads the bound proxy addresses from the child's log.
func proxyAddrs(t *testing.T, p *proc) (httpAddr, httpsAddr string) {
	t.Helper()
	deadline := time.Now().Add(addrTimeout)
	for time.Now().Before(deadline) {
		for _, m := range proxyRE.FindAllStringSubmatch(p.stderr.String(), -1) {
			if m[1] == "http" {
				httpAddr = m[2]
			} else {
				httpsAddr = m[2]
			}
		}
		if httpAddr != "" && httpsAddr != "" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("proxy addresses not logged:\n%s", p.stderr.String())
	return
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("STARGATE_REQUIRE_ETCD") == "1" {
			t.Fatal("curl not installed")
		}
		t.Skip("curl not installed")
	}
	out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "10"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestProxyWithCurl follows the README walk-through with the real binary
// and a real client: a route proxies to an upstream over HTTP/1.1, h2c and
// HTTP/2 over TLS with the certificate chosen by SNI, and /debug/match
// explains the choice.
func TestProxyWithCurl(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s %s host=%s proto=%s\n", r.Method, r.URL.Path, r.Host, r.Header.Get("X-Forwarded-Proto"))
	}))
	defer up.Close()
	p := start(t, startOpts{key: "k", args: []string{"--admin-key", "k"}})
	httpAddr, httpsAddr := proxyAddrs(t, p)
	upAddr := strings.TrimPrefix(up.URL, "http://")

	p.must("PUT", "/api/stargate/v1/upstreams/web", "", fmt.Sprintf(`{"nodes":{"%s":1}}`, upAddr), 201)
	p.must("PUT", "/api/stargate/v1/routes/products", "", `{"uri":"/api/v1/products","host":"api.example.com","methods":["GET"],"upstream_id":"web"}`, 201)

	out := curl(t, "-H", "Host: api.example.com", "http://"+httpAddr+"/api/v1/products")
	if out != "upstream saw GET /api/v1/products host=api.example.com proto=http\n" {
		t.Errorf("http/1.1: %q", out)
	}
	out = curl(t, "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "-H", "Host: api.example.com", "http://"+httpAddr+"/api/v1/products")
	if out != "2 200" {
		t.Errorf("h2c: %q", out)
	}
	out = curl(t, "-H", "Host: other.example.com", "-w", " %{http_code}", "http://"+httpAddr+"/api/v1/products")
	if out != `{"error_msg":"404 Route Not Found"}`+"\n 404" {
		t.Errorf("no route: %q", out)
	}

	// HTTPS: a certificate for the name, uploaded through the admin API.
	cert, key := selfSignedPEM(t, "api.example.com")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, []byte(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"cert": cert, "key": key})
	p.must("PUT", "/api/stargate/v1/ssls/1", "", string(body), 201)
	_, port, _ := net.SplitHostPort(httpsAddr)
	out = curl(t, "--http2", "--cacert", caFile, "--resolve", "api.example.com:"+port+":127.0.0.1",
		"-w", "%{http_version}", "https://api.example.com:"+port+"/api/v1/products")
	if out != "upstream saw GET /api/v1/products host=api.example.com:"+port+" proto=https\n2" {
		t.Errorf("https h2: %q", out)
	}

	// Which route would serve a request, and why.
	b := p.must("GET", "/api/stargate/v1/debug/match?host=api.example.com&uri=/api/v1/products", "", "", 200)
	m := decode[map[string]any](t, b)
	if m["route_id"] != "products" || m["upstream_id"] != "web" {
		t.Errorf("debug/match: %s", b)
	}
	// The upstream object the route names, with its nodes' state.
	upm, _ := m["upstream"].(map[string]any)
	nodes, _ := upm["nodes"].([]any)
	if upm["type"] != "roundrobin" || len(nodes) != 1 {
		t.Fatalf("debug/match upstream: %s", b)
	}
	if n, _ := nodes[0].(map[string]any); n["addr"] != upAddr || n["healthy"] != true || n["active"] != float64(0) {
		t.Errorf("debug/match node: %v", nodes[0])
	}
	p.must("GET", "/api/stargate/v1/debug/match?host=nope.com&uri=/x", "", "", 404)
	p.must("GET", "/api/stargate/v1/debug/match?uri=x", "", "", 400)

	// The served revision is exported.
	if rev, err := p.metric("stargate_snapshot_revision"); err != nil || rev < 3 {
		t.Errorf("stargate_snapshot_revision = %v, %v", rev, err)
	}
}

func selfSignedPEM(t *testing.T, names ...string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}
