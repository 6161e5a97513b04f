package admin_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/tlscert"
)

// selfSigned makes a certificate and key PEM for names.
func selfSigned(t *testing.T, names ...string) (certPEM, keyPEM string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Unix(1700000000, 0),
		NotAfter:     time.Unix(1900000000, 0),
	}
	der, err = x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})), der
}

func sslBody(t *testing.T, fields map[string]any) string {
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSSL(t *testing.T) {
	e := newEnv(t)
	cert, key, der := selfSigned(t, "a.example.com", "*.b.example.com")
	_, otherKey, _ := selfSigned(t, "c.example.com")
	sum := sha1.Sum(der)

	r := e.do("PUT", "/ssls/1", sslBody(t, map[string]any{"cert": cert, "key": key}), "")
	if r.status != 201 {
		t.Fatalf("put ssl: %d %s", r.status, r.body)
	}
	v := r.json(t)["value"].(map[string]any)
	if _, has := v["key"]; has {
		t.Error("response carries the private key")
	}
	if got := v["snis"]; !equalJSON(got, []any{"a.example.com", "*.b.example.com"}) {
		t.Errorf("snis = %v, want the certificate's names", got)
	}
	if v["fingerprint"] != hex.EncodeToString(sum[:]) {
		t.Errorf("fingerprint = %v", v["fingerprint"])
	}
	if v["validity_start"] != float64(1700000000) || v["validity_end"] != float64(1900000000) {
		t.Errorf("validity = %v..%v", v["validity_start"], v["validity_end"])
	}

	// At rest the key is sealed and opens with the keyring.
	kv, err := e.st.Get(context.Background(), "/apisix/ssls/1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(kv.Value), "PRIVATE KEY") {
		t.Fatal("private key stored in the clear")
	}
	var stored map[string]any
	_ = json.Unmarshal(kv.Value, &stored)
	ring, _ := tlscert.NewKeyring(bytes.Repeat([]byte{7}, 32))
	plain, err := ring.Decrypt(stored["key"].(string))
	if err != nil || plain != key {
		t.Fatalf("stored key does not decrypt to the original: %v", err)
	}
	if _, has := stored["fingerprint"]; has {
		t.Error("fingerprint stored; it is computed on read")
	}

	for _, path := range []string{"/ssls/1", "/ssls"} {
		if r := e.do("GET", path, "", ""); strings.Contains(string(r.body), "PRIVATE KEY") || strings.Contains(string(r.body), "sgenc1") || !strings.Contains(string(r.body), "fingerprint") {
			t.Errorf("GET %s leaks key or lacks fingerprint: %s", path, r.body)
		}
	}

	// PATCH works on the sealed object and keeps the key usable.
	if r := e.do("PATCH", "/ssls/1", `{"labels":{"env":"prod"}}`, ""); r.status != 200 {
		t.Fatalf("patch ssl: %d %s", r.status, r.body)
	}
	kv, _ = e.st.Get(context.Background(), "/apisix/ssls/1")
	_ = json.Unmarshal(kv.Value, &stored)
	if plain, err := ring.Decrypt(stored["key"].(string)); err != nil || plain != key {
		t.Fatalf("key unusable after patch: %v", err)
	}

	// What a client read back can be written again.
	got := e.do("GET", "/ssls/1", "", "").json(t)["value"].(map[string]any)
	got["key"] = key
	delete(got, "create_time")
	delete(got, "update_time")
	if r := e.do("PUT", "/ssls/1", sslBody(t, got), ""); r.status != 200 {
		t.Errorf("round trip put: %d %s", r.status, r.body)
	}

	e.run([]step{
		{desc: "key of another cert", method: "PUT", path: "/ssls/2", body: sslBody(t, map[string]any{"cert": cert, "key": otherKey}), status: 400, want: `~failed to match cert and key`},
		{desc: "garbage cert", method: "PUT", path: "/ssls/2", body: sslBody(t, map[string]any{"cert": strings.Repeat("x", 200), "key": key}), status: 400, want: `~failed to parse cert`},
		{desc: "explicit snis kept", method: "PUT", path: "/ssls/3", body: sslBody(t, map[string]any{"cert": cert, "key": key, "snis": []string{"a.example.com"}}), status: 201, want: `~"snis":["a.example.com"]`},
		{desc: "nothing written for refused", method: "GET", path: "/ssls/2", status: 404},
	})
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
