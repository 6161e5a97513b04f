package cors_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"

	"github.com/google/go-cmp/cmp"
)

// corsHeaders picks the headers the plugin may set.
func corsHeaders(h http.Header) map[string][]string {
	out := map[string][]string{}
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
		"Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
		"Access-Control-Allow-Credentials", "Timing-Allow-Origin", "Vary"} {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

func TestCORS(t *testing.T) {
	e := edgetest.New(t)
	var hits atomic.Int64
	up := edgetest.Serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/own" {
			w.Header().Set("Access-Control-Allow-Origin", "http://upstream.example")
		}
		_, _ = w.Write([]byte("hello"))
	})
	e.Route("default", "/default", up, `{"cors":{}}`)
	e.Route("own", "/own", up, `{"cors":{}}`)
	e.Route("list", "/list", up, `{"cors":{"allow_origins":"http://sub.domain.com,http://sub2.domain.com",`+
		`"allow_methods":"GET,POST","allow_headers":"headr1,headr2","expose_headers":"ex-headr1,ex-headr2",`+
		`"max_age":50,"allow_credential":true}}`)
	e.Route("single", "/single", up, `{"cors":{"allow_origins":"http://a.com"}}`)
	e.Route("force", "/force", up, `{"cors":{"allow_origins":"**","allow_methods":"**","allow_headers":"**",`+
		`"expose_headers":"X-A","allow_credential":true}}`)
	e.Route("regex", "/regex", up, `{"cors":{"allow_methods":"GET,POST","allow_headers":"headr1,headr2",`+
		`"expose_headers":"ex-headr1,ex-headr2","max_age":50,"allow_origins_by_regex":[".*\\.test.com$"]}}`)
	e.Route("timing", "/timing", up, `{"cors":{"timing_allow_origins":"http://a.com,http://b.com"}}`)
	e.Route("timingre", "/timingre", up, `{"cors":{"timing_allow_origins_by_regex":["^http://t\\d\\.com$"]}}`)
	e.Route("rejected", "/rejected", up, `{"cors":{},"ua-restriction":{"denylist":["bot"]}}`)

	star := map[string][]string{
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"*"},
		"Access-Control-Allow-Headers": {"*"},
		"Access-Control-Max-Age":       {"5"},
	}
	listed := map[string][]string{
		"Access-Control-Allow-Origin":      {"http://sub2.domain.com"},
		"Access-Control-Allow-Methods":     {"GET,POST"},
		"Access-Control-Allow-Headers":     {"headr1,headr2"},
		"Access-Control-Expose-Headers":    {"ex-headr1,ex-headr2"},
		"Access-Control-Max-Age":           {"50"},
		"Access-Control-Allow-Credentials": {"true"},
		"Vary":                             {"Origin"},
	}
	regexOK := map[string][]string{
		"Access-Control-Allow-Origin":   {"http://a.test.com"},
		"Access-Control-Allow-Methods":  {"GET,POST"},
		"Access-Control-Allow-Headers":  {"headr1,headr2"},
		"Access-Control-Expose-Headers": {"ex-headr1,ex-headr2"},
		"Access-Control-Max-Age":        {"50"},
		"Vary":                          {"Origin"},
	}
	varyOnly := map[string][]string{"Vary": {"Origin"}}
	for _, tc := range []struct {
		desc, method, path string
		hdr                []string
		status             int
		body               string
		upstream           bool
		want               map[string][]string
	}{
		{"defaults", "GET", "/default", []string{"Origin", "http://a.com"}, 200, "hello", true, star},
		{"defaults without Origin", "GET", "/default", nil, 200, "hello", true, star},
		{"preflight answered by the gateway", "OPTIONS", "/default",
			[]string{"Origin", "http://a.com", "Access-Control-Request-Method", "POST"}, 200, "", false, star},
		{"upstream's own header replaced", "GET", "/own", []string{"Origin", "http://a.com"}, 200, "hello", true, star},
		{"listed origin", "GET", "/list", []string{"Origin", "http://sub2.domain.com"}, 200, "hello", true, listed},
		{"listed origin, preflight", "OPTIONS", "/list", []string{"Origin", "http://sub2.domain.com"}, 200, "", false, listed},
		{"unlisted origin", "GET", "/list", []string{"Origin", "http://sub3.domain.com"}, 200, "hello", true, varyOnly},
		{"list without Origin", "GET", "/list", nil, 200, "hello", true, varyOnly},
		{"single origin, other Origin", "GET", "/single", []string{"Origin", "http://b.com"}, 200, "hello", true, varyOnly},
		{"single origin", "GET", "/single", []string{"Origin", "http://a.com"}, 200, "hello", true, map[string][]string{
			"Access-Control-Allow-Origin": {"http://a.com"}, "Access-Control-Allow-Methods": {"*"},
			"Access-Control-Allow-Headers": {"*"}, "Access-Control-Max-Age": {"5"}, "Vary": {"Origin"}}},
		{"forced", "OPTIONS", "/force", []string{"Origin", "http://x.org", "Access-Control-Request-Headers", "X-Foo, X-Bar"}, 200, "", false,
			map[string][]string{
				"Access-Control-Allow-Origin":      {"http://x.org"},
				"Access-Control-Allow-Methods":     {"GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"},
				"Access-Control-Allow-Headers":     {"X-Foo, X-Bar"},
				"Access-Control-Expose-Headers":    {"X-A"},
				"Access-Control-Max-Age":           {"5"},
				"Access-Control-Allow-Credentials": {"true"},
				"Vary":                             {"Origin"},
			}},
		{"forced without request headers", "GET", "/force", []string{"Origin", "http://x.org"}, 200, "hello", true,
			map[string][]string{
				"Access-Control-Allow-Origin":      {"http://x.org"},
				"Access-Control-Allow-Methods":     {"GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"},
				"Access-Control-Expose-Headers":    {"X-A"},
				"Access-Control-Max-Age":           {"5"},
				"Access-Control-Allow-Credentials": {"true"},
				"Vary":                             {"Origin"},
			}},
		{"forced without Origin", "GET", "/force", nil, 200, "hello", true,
			map[string][]string{
				"Access-Control-Allow-Origin":      {"*"},
				"Access-Control-Allow-Methods":     {"GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"},
				"Access-Control-Expose-Headers":    {"X-A"},
				"Access-Control-Max-Age":           {"5"},
				"Access-Control-Allow-Credentials": {"true"},
			}},
		{"regex match", "GET", "/regex", []string{"Origin", "http://a.test.com"}, 200, "hello", true, regexOK},
		{"regex miss", "GET", "/regex", []string{"Origin", "http://a.test2.com"}, 200, "hello", true, varyOnly},
		{"timing origin", "GET", "/timing", []string{"Origin", "http://b.com"}, 200, "hello", true, map[string][]string{
			"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {"*"}, "Access-Control-Allow-Headers": {"*"},
			"Access-Control-Max-Age": {"5"}, "Timing-Allow-Origin": {"http://b.com"}}},
		{"timing other origin", "GET", "/timing", []string{"Origin", "http://c.com"}, 200, "hello", true, star},
		{"timing regex", "GET", "/timingre", []string{"Origin", "http://t1.com"}, 200, "hello", true, map[string][]string{
			"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {"*"}, "Access-Control-Allow-Headers": {"*"},
			"Access-Control-Max-Age": {"5"}, "Timing-Allow-Origin": {"http://t1.com"}}},
		{"rejection by a later plugin keeps CORS headers", "GET", "/rejected",
			[]string{"Origin", "http://a.com", "User-Agent", "bot"}, 403, `{"message":"Not allowed"}` + "\n", false, star},
		{"preflight is answered before access plugins", "OPTIONS", "/rejected",
			[]string{"Origin", "http://a.com", "User-Agent", "bot"}, 200, "", false, star},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			before := hits.Load()
			r := e.Do(tc.method, tc.path, "", tc.hdr...)
			if r.Status != tc.status || r.Body != tc.body {
				t.Fatalf("%d %q, want %d %q", r.Status, r.Body, tc.status, tc.body)
			}
			if reached := hits.Load() > before; reached != tc.upstream {
				t.Errorf("upstream reached: %v, want %v", reached, tc.upstream)
			}
			if diff := cmp.Diff(tc.want, corsHeaders(r.Header)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}
