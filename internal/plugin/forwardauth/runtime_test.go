package forwardauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// authServer allows requests carrying "Authorization: ok", answers 403
// with a body and headers otherwise, and records what it was sent.
type authServer struct {
	url  string
	mu   sync.Mutex
	last *http.Request
	body string
}

func newAuth(t *testing.T) *authServer {
	a := &authServer{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.last, a.body = r, string(b)
		a.mu.Unlock()
		switch r.Header.Get("Authorization") {
		case "ok":
			w.Header().Set("X-User-ID", "i-am-user")
			w.Header().Set("X-Secret", "never-forwarded")
			w.WriteHeader(200)
		case "slow":
			time.Sleep(500 * time.Millisecond)
		case "redirect":
			w.Header().Set("Location", "http://login.example/")
			w.WriteHeader(302)
		default:
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.Header().Set("X-Other", "no")
			w.WriteHeader(403)
			_, _ = w.Write([]byte("auth says no"))
		}
	}))
	t.Cleanup(s.Close)
	a.url = s.URL
	return a
}

func (a *authServer) seen() (*http.Request, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last, a.body
}

func TestForwardAuth(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	auth := newAuth(t)
	route := func(conf string) {
		e.Put("/routes/1", fmt.Sprintf(`{"uri":"/api/*","plugins":{"forward-auth":%s},"upstream":%s}`, conf, up.Upstream()))
	}
	base := fmt.Sprintf(`"uri":%q,"request_headers":["Authorization"],"upstream_headers":["X-User-ID"],"client_headers":["WWW-Authenticate"]`, auth.url+"/auth")
	route("{" + base + "}")

	t.Run("allowed", func(t *testing.T) {
		r := e.Get("/api/x?a=1", "Authorization", "ok", "Host", "svc.example")
		if r.Status != 200 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
		s := edgetest.Decode(t, r.Body)
		if s.Header("X-User-ID") != "i-am-user" || s.Header("X-Secret") != "" {
			t.Errorf("upstream headers %v", s.Headers)
		}
		req, _ := auth.seen()
		for k, v := range map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Method": "GET",
			"X-Forwarded-Host": "svc.example", "X-Forwarded-Uri": "/api/x?a=1", "X-Forwarded-For": "127.0.0.1",
			"Authorization": "ok"} {
			if got := req.Header.Get(k); got != v {
				t.Errorf("auth service saw %s %q, want %q", k, got, v)
			}
		}
		if req.Method != "GET" || req.URL.Path != "/auth" {
			t.Errorf("auth request %s %s", req.Method, req.URL.Path)
		}
	})
	t.Run("denied", func(t *testing.T) {
		n := up.Hits()
		r := e.Get("/api/x", "Authorization", "bad")
		if r.Status != 403 || r.Body != "auth says no" || r.Header.Get("WWW-Authenticate") != "Bearer" || r.Header.Get("X-Other") != "" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
		if up.Hits() != n {
			t.Error("a denied request reached the upstream")
		}
	})
	t.Run("redirect is an answer", func(t *testing.T) {
		r := e.Get("/api/x", "Authorization", "redirect")
		if r.Status != 302 || r.Body != "" {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})

	t.Run("POST forwards the body", func(t *testing.T) {
		route("{" + base + `,"request_method":"POST"}`)
		r := e.Do("POST", "/api/x", "payload", "Authorization", "ok")
		if r.Status != 200 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
		req, body := auth.seen()
		if req.Method != "POST" || body != "payload" {
			t.Errorf("auth service got %s %q", req.Method, body)
		}
		if s := edgetest.Decode(t, r.Body); s.Body != "payload" {
			t.Errorf("upstream got body %q", s.Body)
		}
	})

	t.Run("extra headers", func(t *testing.T) {
		route("{" + base + `,"extra_headers":{"X-Client":"$remote_addr","X-Fixed":"v-${request_method}"}}`)
		if r := e.Get("/api/x", "Authorization", "ok"); r.Status != 200 {
			t.Fatalf("status %d", r.Status)
		}
		req, _ := auth.seen()
		if req.Header.Get("X-Client") != "127.0.0.1" || req.Header.Get("X-Fixed") != "v-GET" {
			t.Errorf("extra headers %q %q", req.Header.Get("X-Client"), req.Header.Get("X-Fixed"))
		}
	})

	for _, tc := range []struct {
		desc, conf string
		status     int
		body       string
	}{
		{desc: "unreachable", conf: `{"uri":"http://127.0.0.1:1/auth"}`, status: 403, body: string(plugin.ErrorPage(403))},
		{desc: "unreachable status_on_error", conf: `{"uri":"http://127.0.0.1:1/auth","status_on_error":503}`, status: 503, body: string(plugin.ErrorPage(503))},
		{desc: "unreachable degraded", conf: `{"uri":"http://127.0.0.1:1/auth","allow_degradation":true}`, status: 200},
		{desc: "timeout", conf: fmt.Sprintf(`{"uri":%q,"timeout":100,"request_headers":["Authorization"]}`, auth.url), status: 403, body: string(plugin.ErrorPage(403))},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			route(tc.conf)
			r := e.Get("/api/x", "Authorization", "slow")
			if r.Status != tc.status || (tc.body != "" && r.Body != tc.body) {
				t.Fatalf("got %d %q, want %d %q", r.Status, r.Body, tc.status, tc.body)
			}
			if tc.status != 200 && !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}
}
