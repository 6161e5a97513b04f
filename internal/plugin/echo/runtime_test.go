package echo_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestEcho(t *testing.T) {
	e := edgetest.New(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		if r.URL.Path == "/empty" {
			return
		}
		_, _ = w.Write([]byte("hello upstream"))
	}))
	t.Cleanup(up.Close)
	addr := strings.TrimPrefix(up.URL, "http://")
	for _, tc := range []struct {
		desc, conf, path string
		body             string
		header           map[string]string // "" means absent
	}{
		{desc: "before and after", conf: `{"before_body":"before ","after_body":" after"}`,
			body: "before hello upstream after", header: map[string]string{"Etag": "", "Last-Modified": ""}},
		{desc: "body replaces", conf: `{"body":"replaced"}`, body: "replaced"},
		{desc: "all three", conf: `{"before_body":"<","body":"mid","after_body":">"}`, body: "<mid>"},
		{desc: "empty upstream body", conf: `{"before_body":"b","after_body":"a"}`, path: "/empty", body: "ba"},
		{desc: "headers", conf: `{"before_body":"x","headers":{"X-Echo":"yes","X-Num":3}}`,
			body: "xhello upstream", header: map[string]string{"X-Echo": "yes", "X-Num": "3"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/hello"
			}
			e.Put("/routes/1", fmt.Sprintf(`{"uris":["/hello","/empty"],"plugins":{"echo":%s},"upstream":{"type":"roundrobin","nodes":{%q:1}}}`, tc.conf, addr))
			r := e.Get(path)
			if r.Status != 200 || r.Body != tc.body {
				t.Fatalf("got %d %q, want 200 %q", r.Status, r.Body, tc.body)
			}
			for k, v := range tc.header {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestEchoOnlyHeaders(t *testing.T) {
	e := edgetest.New(t)
	// Without a body option the config is refused (anyOf).
	if code, _ := e.Admin("PUT", "/routes/1", `{"uri":"/x","plugins":{"echo":{"headers":{"a":"b"}}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1":1}}}`); code != 400 {
		t.Fatalf("headers only: %d, want 400", code)
	}
}
