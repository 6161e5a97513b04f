package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

var fuzzMethods = []string{"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}

// FuzzAdmin sends arbitrary methods, paths and bodies to every endpoint.
// Whatever comes in: no panic, no 5xx, an error body that says what was
// wrong, and a refused request writes nothing.
func FuzzAdmin(f *testing.F) {
	paths := []string{"/routes/1", "/routes", "/routes/1/methods", "/upstreams/u", "/services/s", "/consumers/jack",
		"/consumers/jack/credentials/c", "/ssls/1", "/global_rules/1", "/plugin_configs/1", "/plugin_metadata/http-logger",
		"/consumer_groups/g", "/stream_routes/1", "/protos/1", "/secrets/vault/1", "/plugins/list", "/plugins/key-auth",
		"/plugins?all=true", "/schema/route", "/schema/validate/routes", "/configs/validate", "/routes?page=1&page_size=10",
		"/routes/%E2%80%AE", "/routes/" + strings.Repeat("a", 70), "/nope", "/routes/1?ttl=x",
		"/auth/login", "/auth/signup", "/me/tokens", "/users", "/users/u_x/disable", "/orgs", "/orgs/o_x/members", "/audit?limit=x",
		"/owners", "/hosts", "/stats"}
	bodies := []string{``, `{`, `[]`, `null`, `"x"`, `1e999`, `{"uri":"/a","upstream":{"nodes":{"127.0.0.1:80":1}}}`,
		`{"uri":1}`, `{"uri":"/a","nope":true}`, `{"uri":"\u0000\ud800"}`, `{"uris":[]}`, `{"plugins":{"limit-count":{"count":"x"}}}`,
		`{"username":"jack","plugins":{"key-auth":{"key":"k"}}}`, `{"id":{"a":1},"uri":"/a"}`, `{"a":` + strings.Repeat("[", 5000) + `}`,
		`{"nodes":{"a:1":1},"type":"chash"}`, `{"cert":"x","key":"y"}`, "\xff\xfe", `{"uri":"/a","upstream":{"create_time":1}}`,
		`{"username":"u1","password":"long enough password","org_id":"o_x","role":"owner"}`, `{"name":"org","parent_id":"o_x"}`,
		`{"key":"/apisix/routes/1","org_id":""}`}
	for i, p := range paths {
		for j, b := range bodies {
			if (i+j)%3 == 0 {
				f.Add(uint8(i+j), p, []byte(b))
			}
		}
	}
	st, err := boltstore.Open(filepath.Join(f.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	ring, _ := tlscert.NewKeyring(bytes.Repeat([]byte{1}, 32))
	srv := admin.New(admin.Options{Store: st, KeyRequired: false, Keyring: ring, MaxBodyBytes: 64 << 10,
		CacheZones: map[string]string{"disk_cache_one": "disk", "memory_cache": "memory"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://127.0.0.1/apisix/admin"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		srv.Sync(context.Background()) // the audit log of earlier writes
		before, _ := st.Revision(context.Background())
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s %s %q: no answer after 10s", method, path, body)
		}
		srv.Sync(context.Background())
		after, _ := st.Revision(context.Background())
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			if after != before {
				t.Fatalf("%s %s %q: refused with %d but the store changed (%d -> %d)", method, path, body, rec.Code, before, after)
			}
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				var e map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
					t.Fatalf("%s %s: error body is not JSON: %s", method, path, rec.Body.Bytes())
				}
				if e["error_msg"] == nil && e["message"] == nil {
					t.Fatalf("%s %s: error body says nothing: %s", method, path, rec.Body.Bytes())
				}
			} else if rec.Body.Len() == 0 {
				t.Fatalf("%s %s: empty %d answer", method, path, rec.Code)
			}
		}
	})
}
