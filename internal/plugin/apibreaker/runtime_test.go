package apibreaker_test

import (
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// flaky answers with the status it is told to.
func flaky(t *testing.T) (*edgetest.Echo, *atomic.Int64) {
	var status atomic.Int64
	status.Store(200)
	up := edgetest.NewHandler(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte("upstream"))
	})
	return up, &status
}

func TestBreaker(t *testing.T) {
	e := edgetest.New(t)
	up, status := flaky(t)
	e.Put("/routes/b", fmt.Sprintf(`{"uri":"/b","plugins":{"api-breaker":{
		"break_response_code":502,
		"break_response_body":"{\"message\":\"breaker is open\"}",
		"break_response_headers":[{"key":"X-Breaker","value":"open for $uri"},{"key":"Content-Type","value":"application/json"}],
		"unhealthy":{"http_statuses":[500,503],"failures":3},
		"healthy":{"http_statuses":[200],"successes":2}}},"upstream":%s}`, up.Upstream()))

	status.Store(500)
	for i := range 3 {
		if r := e.Get("/b"); r.Status != 500 || r.Body != "upstream" {
			t.Fatalf("failure %d passed through: %d %q", i, r.Status, r.Body)
		}
	}
	hits := up.Hits()
	r := e.Get("/b")
	if r.Status != 502 || r.Body != `{"message":"breaker is open"}` || r.Header.Get("X-Breaker") != "open for /b" ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("open breaker: %d %q %v", r.Status, r.Body, r.Header)
	}
	if up.Hits() != hits {
		t.Error("the upstream was called while the breaker was open")
	}
	// Open for 2 s after the first trip (ngx.time granularity: up to 3).
	status.Store(200)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r = e.Get("/b")
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker still open: %d", r.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Two successes close it and forget the failures: one more 500 does not
	// trip it again.
	e.Get("/b")
	status.Store(503)
	e.Get("/b")
	if r := e.Get("/b"); r.Status != 503 {
		t.Errorf("breaker reopened after it was closed: %d", r.Status)
	}
}

func TestBreakerWithoutBody(t *testing.T) {
	e := edgetest.New(t)
	up, status := flaky(t)
	e.Put("/routes/a", fmt.Sprintf(`{"uri":"/a","plugins":{"api-breaker":{"break_response_code":503,
		"break_response_headers":[{"key":"X-Ignored","value":"yes"}],"unhealthy":{"failures":1}}},"upstream":%s}`, up.Upstream()))
	e.Put("/routes/other", fmt.Sprintf(`{"uri":"/other","plugins":{"api-breaker":{"break_response_code":503,"unhealthy":{"failures":1}}},"upstream":%s}`, up.Upstream()))
	status.Store(500)
	if r := e.Get("/a"); r.Status != 500 {
		t.Fatalf("first: %d", r.Status)
	}
	r := e.Get("/a")
	if r.Status != 503 || r.Body != string(plugin.ErrorPage(503)) || r.Header.Get("Content-Type") != traffic.HTMLType {
		t.Errorf("no break_response_body: nginx's page: %d %q %v", r.Status, r.Body, r.Header)
	}
	if r.Header.Get("X-Ignored") != "" {
		t.Error("break_response_headers sent without break_response_body (APISIX ignores them)")
	}
	// Another route has its own breaker.
	status.Store(200)
	if r := e.Get("/other"); r.Status != 200 {
		t.Errorf("other route broken: %d", r.Status)
	}
}

// TestUnreachableUpstream: a connection failure is an upstream 502.
func TestUnreachableUpstream(t *testing.T) {
	e := edgetest.New(t)
	e.Put("/routes/d", `{"uri":"/d","plugins":{"api-breaker":{"break_response_code":599,"break_response_body":"open",
		"unhealthy":{"http_statuses":[502],"failures":2}}},"upstream":{"nodes":{"127.0.0.1:1":1},"retries":0}}`)
	for i, want := range []int{502, 502, 599, 599} {
		if r := e.Get("/d"); r.Status != want {
			t.Errorf("request %d: %d, want %d", i, r.Status, want)
		}
	}
}

func TestStateSurvivesSwaps(t *testing.T) {
	e := edgetest.New(t)
	up, status := flaky(t)
	route := func(desc string) string {
		return fmt.Sprintf(`{"uri":"/s","desc":%q,"plugins":{"api-breaker":{"break_response_code":502,"break_response_body":"open","unhealthy":{"failures":2}}},"upstream":%s}`, desc, up.Upstream())
	}
	e.Put("/routes/s", route("a"))
	status.Store(500)
	e.Get("/s")
	e.Put("/routes/s", route("b"))
	runtime.GC()
	runtime.GC()
	e.Get("/s")
	if r := e.Get("/s"); r.Status != 502 || r.Body != "open" {
		t.Errorf("failure count lost in a swap: %d %q", r.Status, r.Body)
	}
}
