package proxycache_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// step is one request of an RFC 9111 case and what it must get.
type step struct {
	before func()
	method string // GET
	path   string // the case's path
	hdr    []string
	status int    // 200
	cache  string // Apisix-Cache-Status; "-" for none
	body   string // checked when set
	origin int    // origin requests for the path after the step
	check  func(t *testing.T, r result)
}

type rfcCase struct {
	desc    string
	conf    string // proxy-cache config; the strategy and zone are added
	route   string // extra route fields
	memOnly bool
	handler func(w http.ResponseWriter, r *http.Request, n int)
	steps   []step
}

func sleep(d time.Duration) func() { return func() { time.Sleep(d) } }

// body answers "<path> #n" with the given header pairs.
func body(hdr ...string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Add(hdr[i], hdr[i+1])
		}
		fmt.Fprintf(w, "v%d", n)
	}
}

func TestRFC9111(t *testing.T) {
	for _, strategy := range []string{"memory", "disk"} {
		t.Run(strategy, func(t *testing.T) { runRFC(t, strategy) })
	}
}

func runRFC(t *testing.T, strategy string) {
	e := newEnv(t, "")
	o := newOrigin(t)
	var failing atomic.Value // "", "500", "slow", "reset"
	failing.Store("")
	slowAfter := func(first int, d time.Duration, inner func(http.ResponseWriter, *http.Request, int)) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, r *http.Request, n int) {
			if n > first {
				time.Sleep(d)
			}
			inner(w, r, n)
		}
	}
	faulty := func(inner func(http.ResponseWriter, *http.Request, int)) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, r *http.Request, n int) {
			switch failing.Load().(string) {
			case "500":
				w.WriteHeader(500)
				fmt.Fprint(w, "origin error")
				return
			case "slow":
				time.Sleep(1500 * time.Millisecond)
			case "reset":
				if hj, ok := w.(http.Hijacker); ok {
					c, _, _ := hj.Hijack()
					c.(*net.TCPConn).SetLinger(0)
					c.Close()
					return
				}
			}
			inner(w, r, n)
		}
	}
	set := func(mode string) func() { return func() { failing.Store(mode) } }
	lastModified := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)

	cases := []rfcCase{
		{desc: "max-age: miss then hit with Age", handler: body("Cache-Control", "max-age=60"), steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{cache: "HIT", body: "v1", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Age") == "" || r.header.Get("Content-Length") != "2" {
					t.Errorf("hit headers %v", r.header)
				}
			}},
		}},
		{desc: "s-maxage beats max-age", handler: body("Cache-Control", "max-age=100, s-maxage=1"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "HIT", origin: 1},
			{before: sleep(1100 * time.Millisecond), cache: "EXPIRED", body: "v2", origin: 2},
		}},
		{desc: "expires", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
			w.Header().Set("Expires", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
			fmt.Fprintf(w, "v%d", n)
		}, steps: []step{
			{cache: "MISS", origin: 1}, {cache: "HIT", body: "v1", origin: 1},
			{before: sleep(2100 * time.Millisecond), cache: "EXPIRED", body: "v2", origin: 2},
		}},
		{desc: "past expires is not reused", handler: body("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "MISS", body: "v2", origin: 2},
		}},
		{desc: "origin silent: cache_ttl", memOnly: true, conf: `"cache_ttl":1`, handler: body(), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "HIT", origin: 1},
			{before: sleep(1100 * time.Millisecond), cache: "EXPIRED", body: "v2", origin: 2},
		}},
		{desc: "origin silent on disk: 10s default", handler: body(), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "HIT", origin: 1, check: func(t *testing.T, r result) {
				if strategy == "memory" {
					return
				}
				// Nothing to wait for: the default is 10 s.
			}},
		}},
		{desc: "Age from upstream makes it stale", handler: body("Cache-Control", "max-age=60", "Age", "100"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "MISS", origin: 2},
		}},
		{desc: "no-store", handler: body("Cache-Control", "no-store"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "MISS", body: "v2", origin: 2},
		}},
		{desc: "private", handler: body("Cache-Control", "private, max-age=60"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "MISS", origin: 2},
		}},
		{desc: "no-cache stores and revalidates", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", `"e1"`)
			if r.Header.Get("If-None-Match") == `"e1"` {
				w.WriteHeader(304)
				return
			}
			fmt.Fprintf(w, "v%d", n)
		}, steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{cache: "REVALIDATED", body: "v1", origin: 2},
			{cache: "REVALIDATED", body: "v1", origin: 3},
		}},
		{desc: "set-cookie not stored", handler: body("Cache-Control", "max-age=60", "Set-Cookie", "a=b"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "MISS", origin: 2},
		}},
		{desc: "set-cookie stored with cache_set_cookie", conf: `"cache_set_cookie":true`, handler: body("Cache-Control", "max-age=60", "Set-Cookie", "a=b"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "HIT", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Set-Cookie") != "a=b" {
					t.Errorf("set-cookie %q", r.header.Get("Set-Cookie"))
				}
			}},
		}},
		{desc: "vary: one entry per variant", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "Accept-Encoding")
			fmt.Fprintf(w, "v%d-%s", n, r.Header.Get("Accept-Encoding"))
		}, steps: []step{
			{hdr: []string{"Accept-Encoding", "gzip"}, cache: "MISS", body: "v1-gzip", origin: 1},
			{hdr: []string{"Accept-Encoding", "br"}, cache: "MISS", body: "v2-br", origin: 2},
			{hdr: []string{"Accept-Encoding", "gzip"}, cache: "HIT", body: "v1-gzip", origin: 2},
			{hdr: []string{"Accept-Encoding", "br"}, cache: "HIT", body: "v2-br", origin: 2},
			{cache: "MISS", body: "v3-", origin: 3},
			{cache: "HIT", body: "v3-", origin: 3},
			{method: "PURGE", cache: "-", origin: 3},
			{hdr: []string{"Accept-Encoding", "gzip"}, cache: "MISS", body: "v4-gzip", origin: 4},
		}},
		{desc: "vary star not stored", handler: body("Cache-Control", "max-age=60", "Vary", "*"), steps: []step{
			{cache: "MISS", origin: 1}, {cache: "MISS", origin: 2},
		}},
		{desc: "revalidate with etag: 304 refreshes", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"abc"`)
			w.Header().Set("X-Origin-N", fmt.Sprint(n))
			if r.Header.Get("If-None-Match") == `"abc"` {
				w.WriteHeader(304)
				return
			}
			fmt.Fprintf(w, "v%d", n)
		}, steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{before: sleep(1100 * time.Millisecond), cache: "REVALIDATED", body: "v1", origin: 2, check: func(t *testing.T, r result) {
				if r.header.Get("X-Origin-N") != "2" {
					t.Errorf("304 headers not merged: %v", r.header)
				}
			}},
			{cache: "HIT", body: "v1", origin: 2},
		}},
		{desc: "revalidate with last-modified", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("Last-Modified", lastModified)
			if r.Header.Get("If-Modified-Since") == lastModified {
				w.WriteHeader(304)
				return
			}
			fmt.Fprintf(w, "v%d", n)
		}, steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{before: sleep(1100 * time.Millisecond), cache: "REVALIDATED", body: "v1", origin: 2},
		}},
		{desc: "expired without validators refetches", handler: body("Cache-Control", "max-age=1"), steps: []step{
			{cache: "MISS", origin: 1},
			{before: sleep(1100 * time.Millisecond), cache: "EXPIRED", body: "v2", origin: 2},
			{cache: "HIT", body: "v2", origin: 2},
		}},
		// The refresh's origin answer is delayed so that it cannot land
		// before the stale answer is sent (otherwise, on a slow machine,
		// the stale object may already be replaced and the answer is a
		// HIT of v2, which is also correct).
		{desc: "stale-while-revalidate", handler: slowAfter(1, 100*time.Millisecond, body("Cache-Control", "max-age=1, stale-while-revalidate=30")), steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{before: sleep(1100 * time.Millisecond), cache: "UPDATING", body: "v1", origin: -1},
			{before: sleep(300 * time.Millisecond), cache: "HIT", body: "v2", origin: 2},
		}},
		{desc: "stale-if-error: origin 500", handler: faulty(body("Cache-Control", "max-age=1, stale-if-error=60")), steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{before: func() { time.Sleep(1100 * time.Millisecond); failing.Store("500") }, cache: "STALE", body: "v1", origin: 2},
			// A reset on a reused keep-alive connection looks like one the
			// origin closed while idle, so the client retries it once on a
			// fresh connection (GET is idempotent): the origin sees two.
			{before: set("reset"), cache: "STALE", body: "v1", origin: 4},
			{before: set(""), cache: "EXPIRED", body: "v5", origin: 5},
		}},
		{desc: "stale-if-error: origin slow", route: `"timeout":{"connect":1,"send":1,"read":0.5},`, handler: faulty(body("Cache-Control", "max-age=1, stale-if-error=60")), steps: []step{
			{cache: "MISS", body: "v1", origin: 1},
			{before: func() { time.Sleep(1100 * time.Millisecond); failing.Store("slow") }, cache: "STALE", body: "v1", origin: -1},
			{before: func() { failing.Store(""); time.Sleep(1500 * time.Millisecond) }, cache: "EXPIRED", origin: -1},
		}},
		{desc: "must-revalidate never stale", handler: faulty(body("Cache-Control", "max-age=1, must-revalidate, stale-if-error=60")), steps: []step{
			{cache: "MISS", origin: 1},
			{before: func() { time.Sleep(1100 * time.Millisecond); failing.Store("500") }, status: 500, cache: "EXPIRED", origin: 2},
			{before: set(""), cache: "EXPIRED", origin: 3},
		}},
		{desc: "client conditionals answered from the cache", handler: body("Cache-Control", "max-age=60", "ETag", `"t1"`, "Last-Modified", lastModified), steps: []step{
			{cache: "MISS", origin: 1},
			{hdr: []string{"If-None-Match", `"t1"`}, status: 304, cache: "HIT", body: "", origin: 1},
			{hdr: []string{"If-None-Match", `W/"t1", "x"`}, status: 304, cache: "HIT", origin: 1},
			{hdr: []string{"If-None-Match", `"other"`}, cache: "HIT", body: "v1", origin: 1},
			{hdr: []string{"If-Modified-Since", lastModified}, status: 304, cache: "HIT", origin: 1},
			{hdr: []string{"If-Modified-Since", time.Now().Add(-48 * time.Hour).UTC().Format(http.TimeFormat)}, cache: "HIT", body: "v1", origin: 1},
		}},
		{desc: "client conditional on a miss", handler: body("Cache-Control", "max-age=60", "ETag", `"t2"`), steps: []step{
			{hdr: []string{"If-None-Match", `"t2"`}, status: 304, cache: "MISS", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Content-Length") != "" && r.header.Get("Content-Length") != "0" {
					t.Errorf("304 with content-length %q", r.header.Get("Content-Length"))
				}
			}},
			{cache: "HIT", body: "v1", origin: 1},
		}},
		{desc: "range from the full object", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			if r.Header.Get("Range") != "" {
				w.WriteHeader(400) // the cache must fetch the whole object
				return
			}
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("ETag", `"r1"`)
			fmt.Fprint(w, "0123456789abcdefghij")
		}, steps: []step{
			{hdr: []string{"Range", "bytes=2-5"}, status: 206, cache: "MISS", body: "2345", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Content-Range") != "bytes 2-5/20" {
					t.Errorf("content-range %q", r.header.Get("Content-Range"))
				}
			}},
			{hdr: []string{"Range", "bytes=-3"}, status: 206, cache: "HIT", body: "hij", origin: 1},
			{hdr: []string{"Range", "bytes=15-"}, status: 206, cache: "HIT", body: "fghij", origin: 1},
			{hdr: []string{"Range", "bytes=50-"}, status: 416, cache: "HIT", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Content-Range") != "bytes */20" {
					t.Errorf("416 content-range %q", r.header.Get("Content-Range"))
				}
			}},
			{hdr: []string{"Range", "bytes=0-1,4-5"}, cache: "HIT", body: "0123456789abcdefghij", origin: 1},
			{hdr: []string{"Range", "bytes=0-1", "If-Range", `"other"`}, cache: "HIT", body: "0123456789abcdefghij", origin: 1},
			{hdr: []string{"Range", "bytes=0-1", "If-Range", `"r1"`}, status: 206, cache: "HIT", body: "01", origin: 1},
		}},
		{desc: "head from a cached get", handler: body("Cache-Control", "max-age=60"), steps: []step{
			{cache: "MISS", origin: 1},
			{method: "HEAD", cache: "HIT", body: "", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Content-Length") != "2" {
					t.Errorf("head content-length %q", r.header.Get("Content-Length"))
				}
			}},
		}},
		{desc: "head miss fetches get", handler: body("Cache-Control", "max-age=60"), steps: []step{
			{method: "HEAD", cache: "MISS", body: "", origin: 1, check: func(t *testing.T, r result) {
				if m := o.lastMethod(r.header.Get("X-Test-Path")); m != "" && m != "GET" {
					t.Errorf("origin got %s", m)
				}
			}},
			{cache: "HIT", body: "v1", origin: 1},
		}},
		{desc: "status not in cache_http_status", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(403)
		}, steps: []step{
			{status: 403, cache: "MISS", origin: 1}, {status: 403, cache: "MISS", origin: 2},
		}},
		{desc: "404 cached by default", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(404)
		}, steps: []step{
			{status: 404, cache: "MISS", origin: 1}, {status: 404, cache: "HIT", origin: 1},
		}},
		{desc: "cache_bypass", conf: `"cache_bypass":["$arg_bypass"]`, handler: body("Cache-Control", "max-age=60"), steps: []step{
			{cache: "MISS", origin: 1},
			{path: "?bypass=1", cache: "BYPASS", body: "v2", origin: 2},
			{path: "?bypass=0", cache: "MISS", body: "v3", origin: 3},
			{cache: "HIT", body: "v1", origin: 3},
		}},
		{desc: "no_cache", conf: `"no_cache":["$arg_nocache"]`, handler: body("Cache-Control", "max-age=60"), steps: []step{
			{path: "?nocache=1", cache: "MISS", origin: 1},
			{path: "?nocache=1", cache: "MISS", origin: 2},
		}},
		{desc: "hide_cache_headers", conf: `"hide_cache_headers":true`, handler: body("Cache-Control", "max-age=60", "Expires", "Thu, 01 Jan 2099 00:00:00 GMT"), steps: []step{
			{cache: "MISS", origin: 1, check: noCacheHeaders},
			{cache: "HIT", origin: 1, check: noCacheHeaders},
		}},
		{desc: "cache_method without head", conf: `"cache_method":["GET"]`, handler: body("Cache-Control", "max-age=60"), steps: []step{
			{method: "HEAD", cache: "MISS", origin: 1},
			{method: "HEAD", cache: "MISS", origin: 2},
		}},
		{desc: "purge", handler: body("Cache-Control", "max-age=60"), steps: []step{
			{method: "PURGE", status: 404, cache: "-", origin: 0},
			{cache: "MISS", origin: 1}, {cache: "HIT", origin: 1},
			{method: "PURGE", status: 200, cache: "-", origin: 1},
			{method: "PURGE", status: 404, cache: "-", origin: 1},
			{cache: "MISS", body: "v2", origin: 2},
		}},
		{desc: "purge removes an expired entry too", handler: body("Cache-Control", "max-age=1"), steps: []step{
			{cache: "MISS", origin: 1},
			{before: sleep(1100 * time.Millisecond), method: "PURGE", status: 200, cache: "-", origin: 1},
		}},
		{desc: "authorization not stored", handler: body("Cache-Control", "max-age=60"), steps: []step{
			{hdr: []string{"Authorization", "Basic x"}, cache: "MISS", origin: 1},
			{hdr: []string{"Authorization", "Basic x"}, cache: "MISS", origin: 2},
		}},
		{desc: "authorization stored when public", handler: body("Cache-Control", "public, max-age=60"), steps: []step{
			{hdr: []string{"Authorization", "Basic x"}, cache: "MISS", origin: 1},
			{hdr: []string{"Authorization", "Basic x"}, cache: "HIT", origin: 1},
		}},
		{desc: "cache_control: request directives", conf: `"cache_control":true`, handler: body("Cache-Control", "max-age=60"), steps: []step{
			{hdr: []string{"Cache-Control", "only-if-cached"}, status: 504, cache: "MISS", origin: 0},
			{cache: "MISS", origin: 1},
			{cache: "HIT", origin: 1},
			{hdr: []string{"Cache-Control", "no-cache"}, cache: "BYPASS", body: "v2", origin: 2},
			{hdr: []string{"Cache-Control", "max-age=0"}, before: sleep(1100 * time.Millisecond), cache: "EXPIRED", body: "v3", origin: 3},
			{hdr: []string{"Cache-Control", "min-fresh=3600"}, cache: "EXPIRED", body: "v4", origin: 4},
			{hdr: []string{"Cache-Control", "only-if-cached"}, cache: "HIT", body: "v4", origin: 4},
		}},
		{desc: "client cache-control ignored without cache_control", handler: body("Cache-Control", "max-age=60"), steps: []step{
			{cache: "MISS", origin: 1},
			{hdr: []string{"Cache-Control", "no-cache"}, cache: "HIT", origin: 1},
		}},
		{desc: "max_resp_body_size", conf: `"max_resp_body_size":10`, handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=60")
			if r.URL.Query().Get("big") != "" {
				fmt.Fprint(w, strings.Repeat("x", 100))
				return
			}
			fmt.Fprint(w, "small")
		}, steps: []step{
			{path: "?big=1", cache: "MISS", origin: 1},
			{path: "?big=1", cache: "MISS", origin: 2, check: func(t *testing.T, r result) {
				if len(r.body) != 100 {
					t.Errorf("big body %d bytes", len(r.body))
				}
			}},
			{cache: "MISS", origin: 3}, {cache: "HIT", body: "small", origin: 3},
		}},
		{desc: "chunked body stored", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=60")
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
		}, steps: []step{
			{cache: "MISS", body: "part0;part1;part2;", origin: 1},
			{cache: "HIT", body: "part0;part1;part2;", origin: 1, check: func(t *testing.T, r result) {
				if r.header.Get("Content-Length") != "18" {
					t.Errorf("content-length %q", r.header.Get("Content-Length"))
				}
			}},
		}},
	}
	for i, tc := range cases {
		if tc.memOnly && strategy != "memory" {
			continue
		}
		t.Run(tc.desc, func(t *testing.T) {
			failing.Store("")
			name := fmt.Sprintf("c%d", i)
			path := "/" + name + "/x"
			zone := "memory_cache"
			if strategy == "disk" {
				zone = "disk_cache_one"
			}
			conf := fmt.Sprintf(`"cache_strategy":%q,"cache_zone":%q`, strategy, zone)
			if tc.conf != "" {
				conf += "," + tc.conf
			}
			e.put("/routes/"+name, fmt.Sprintf(`{"uri":"/%s/*",%s"plugins":{"proxy-cache":{%s}},"upstream":{"nodes":{"%s":1}}}`, name, tc.route, conf, o.addr()))
			o.handle(path, tc.handler)
			for j, s := range tc.steps {
				if s.before != nil {
					s.before()
				}
				m := s.method
				if m == "" {
					m = "GET"
				}
				r := e.do(m, path+s.path, s.hdr...)
				r.header.Set("X-Test-Path", path)
				want := s.status
				if want == 0 {
					want = 200
				}
				wantCache := s.cache
				gotCache := r.cache()
				if wantCache == "-" {
					wantCache = ""
				}
				if r.status != want || gotCache != wantCache || (s.body != "" && r.body != s.body) || (m == "HEAD" && r.body != "") {
					t.Errorf("step %d %s %s: got %d %q %q, want %d %q %q", j, m, s.hdr, r.status, gotCache, r.body, want, wantCache, s.body)
				}
				if s.origin >= 0 {
					if n := o.count(path); n != s.origin {
						t.Errorf("step %d: origin requests %d, want %d", j, n, s.origin)
					}
				}
				if s.check != nil {
					s.check(t, r)
				}
			}
		})
	}
	// The origin never saw a client's conditionals or range on a fill.
	for p, h := range o.last {
		if h.Get("Range") != "" {
			t.Errorf("%s: origin got Range %q", p, h.Get("Range"))
		}
	}
}

func noCacheHeaders(t *testing.T, r result) {
	t.Helper()
	if r.header.Get("Cache-Control") != "" || r.header.Get("Expires") != "" {
		t.Errorf("cache headers not hidden: %v", r.header)
	}
}
