package proxycache_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func cacheRoute(e *env, id, uri, strategy, extra string, o *origin) {
	zone := "memory_cache"
	if strategy == "disk" {
		zone = "disk_cache_one"
	}
	conf := fmt.Sprintf(`"cache_strategy":%q,"cache_zone":%q`, strategy, zone)
	if extra != "" {
		conf += "," + extra
	}
	e.put("/routes/"+id, fmt.Sprintf(`{"uri":%q,"plugins":{"proxy-cache":{%s}},"upstream":{"nodes":{"%s":1}}}`, uri, conf, o.addr()))
}

// N concurrent misses for one key make exactly one origin request; the
// others wait and are served from its result.
func TestCoalescing(t *testing.T) {
	for _, strategy := range []string{"memory", "disk"} {
		t.Run(strategy, func(t *testing.T) {
			e := newEnv(t, "")
			o := newOrigin(t)
			cacheRoute(e, "1", "/co/*", strategy, "", o)
			payload := strings.Repeat("0123456789", 10000)
			o.handle("/co/x", func(w http.ResponseWriter, r *http.Request, n int) {
				time.Sleep(200 * time.Millisecond) // let every request arrive first
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, payload)
			})
			const n = 200
			var wg sync.WaitGroup
			statuses := make([]string, n)
			errs := make(chan string, n)
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					res, err := e.client.Get(e.httpURL + "/co/x")
					if err != nil {
						errs <- err.Error()
						return
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					statuses[i] = res.Header.Get("Apisix-Cache-Status")
					if res.StatusCode != 200 || string(b) != payload {
						errs <- fmt.Sprintf("%d %d bytes", res.StatusCode, len(b))
					}
				}(i)
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := o.count("/co/x"); got != 1 {
				t.Errorf("origin requests: %d, want 1", got)
			}
			counts := map[string]int{}
			for _, s := range statuses {
				counts[s]++
			}
			if counts["MISS"] != 1 || counts["HIT"] != n-1 {
				t.Errorf("statuses %v", counts)
			}
		})
	}
}

// Requests for a response that is not cacheable do not queue behind each
// other forever, and still each reach the origin.
func TestUncacheableNotSerialised(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	cacheRoute(e, "1", "/nc/*", "memory", "", o)
	o.handle("/nc/x", func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, "x")
	})
	e.get("/nc/x") // the origin says no-store: the key is passed from now on
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.get("/nc/x"); r.status != 200 || r.cache() != "MISS" {
				t.Errorf("%d %s", r.status, r.cache())
			}
		}()
	}
	wg.Wait()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("20 concurrent uncacheable requests took %v: serialised", d)
	}
	if got := o.count("/nc/x"); got != 21 {
		t.Errorf("origin requests %d, want 21", got)
	}
}

// Disk entries are HITs after a restart (the zone reopened from its
// directory, a new process's store and routes).
func TestDiskSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	o := newOrigin(t)
	func() {
		e := newEnv(t, dir)
		cacheRoute(e, "1", "/rs/*", "disk", "", o)
		for i := 0; i < 20; i++ {
			if r := e.get(fmt.Sprintf("/rs/%d", i)); r.cache() != "MISS" {
				t.Fatalf("first fetch: %s", r.cache())
			}
		}
		e.disk.Close() // the process ends
	}()
	e := newEnv(t, dir)
	cacheRoute(e, "1", "/rs/*", "disk", "", o)
	for i := 0; i < 20; i++ {
		p := fmt.Sprintf("/rs/%d", i)
		if r := e.get(p); r.cache() != "HIT" || r.body != fmt.Sprintf("%s #1", p) {
			t.Errorf("%s after restart: %s %q", p, r.cache(), r.body)
		}
		if o.count(p) != 1 {
			t.Errorf("%s: origin requests %d", p, o.count(p))
		}
	}
}

// The zone outlives configuration changes: a route update keeps its hits.
func TestCacheSurvivesConfigSwap(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	cacheRoute(e, "1", "/sw/*", "memory", "", o)
	e.get("/sw/a")
	cacheRoute(e, "1", "/sw/*", "memory", `"hide_cache_headers":true`, o)
	if r := e.get("/sw/a"); r.cache() != "HIT" || r.header.Get("Cache-Control") != "" {
		t.Errorf("after swap: %s %v", r.cache(), r.header)
	}
}

// A route naming a zone this edge does not have is left out, not served
// uncached (the admin API knows "ghost_zone"; the registry does not).
func TestUnknownZoneKeepsRouteOut(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	e.put("/routes/1", fmt.Sprintf(`{"uri":"/uz/*","plugins":{"proxy-cache":{"cache_strategy":"memory","cache_zone":"ghost_zone"}},"upstream":{"nodes":{"%s":1}}}`, o.addr()))
	if r := e.get("/uz/a"); r.status != 404 || o.count("/uz/a") != 0 {
		t.Errorf("route with an unknown zone: %d, origin %d", r.status, o.count("/uz/a"))
	}
}

// With consumer_isolation (the default) each consumer gets its own
// entries; without it they share.
func TestConsumerIsolation(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	e.put("/consumers", `{"username":"jack","plugins":{"key-auth":{"key":"k-jack"}}}`)
	e.put("/consumers", `{"username":"jill","plugins":{"key-auth":{"key":"k-jill"}}}`)
	for _, tc := range []struct {
		id, uri, extra string
		shared         bool
	}{
		{"iso", "/iso/*", "", false},
		{"shared", "/shared/*", `"consumer_isolation":false`, true},
	} {
		e.put("/routes/"+tc.id, fmt.Sprintf(`{"uri":%q,"plugins":{"key-auth":{},"proxy-cache":{"cache_strategy":"memory","cache_zone":"memory_cache"%s}},"upstream":{"nodes":{"%s":1}}}`,
			tc.uri, map[bool]string{true: "," + tc.extra, false: ""}[tc.extra != ""], o.addr()))
		p := strings.TrimSuffix(tc.uri, "*") + "x"
		if r := e.get(p, "apikey", "k-jack"); r.cache() != "MISS" {
			t.Errorf("%s jack: %s", tc.id, r.cache())
		}
		want := "MISS"
		if tc.shared {
			want = "HIT"
		}
		if r := e.get(p, "apikey", "k-jill"); r.cache() != want {
			t.Errorf("%s jill: %s, want %s", tc.id, r.cache(), want)
		}
		if r := e.get(p, "apikey", "k-jack"); r.cache() != "HIT" {
			t.Errorf("%s jack again: %s", tc.id, r.cache())
		}
		if r := e.get(p); r.status != 401 {
			t.Errorf("%s without key: %d", tc.id, r.status)
		}
	}
	keys := []string{}
	for _, en := range e.mem.Entries(nil) {
		keys = append(keys, en.Key())
	}
	if !strings.Contains(strings.Join(keys, " "), "#consumer=jill") {
		t.Errorf("keys %v", keys)
	}
}

// PURGE is only accepted by routes whose methods allow it.
func TestPurgeNeedsRouteMethod(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	e.put("/routes/1", fmt.Sprintf(`{"uri":"/pm/*","methods":["GET"],"plugins":{"proxy-cache":{"cache_strategy":"memory","cache_zone":"memory_cache"}},"upstream":{"nodes":{"%s":1}}}`, o.addr()))
	e.get("/pm/a")
	if r := e.do("PURGE", "/pm/a"); r.status != 404 || r.cache() != "" {
		t.Errorf("PURGE on a GET-only route: %d %q", r.status, r.cache())
	}
	if r := e.get("/pm/a"); r.cache() != "HIT" {
		t.Errorf("entry gone: %s", r.cache())
	}
	if o.count("/pm/a") != 1 {
		t.Errorf("PURGE reached the origin")
	}
}

// TestVaryOnForwardedFields: an origin that varies on a field the proxy
// sets itself (here X-Real-IP, the client's address) gets one variant per
// value the origin saw, not per value the client sent (none): before,
// the answer personalised for 127.0.0.1 was a HIT for 127.0.0.2. The
// same held for X-Forwarded-Proto, where an http redirect to https was
// served to https clients.
func TestVaryOnForwardedFields(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	cacheRoute(e, "1", "/v/*", "memory", "", o)
	o.handle("/v/ip", func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "X-Real-IP")
		fmt.Fprintf(w, "for %s", r.Header.Get("X-Real-IP"))
	})
	from := func(ip string) result {
		t.Helper()
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(e.httpURL + "/v/ip")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return result{res.StatusCode, res.Header, string(b)}
	}
	for _, c := range []struct{ ip, cache string }{
		{"127.0.0.1", "MISS"}, {"127.0.0.2", "MISS"}, {"127.0.0.1", "HIT"}, {"127.0.0.2", "HIT"},
	} {
		if r := from(c.ip); r.body != "for "+c.ip || r.cache() != c.cache {
			t.Errorf("client %s: %q %s, want %s", c.ip, r.body, r.cache(), c.cache)
		}
	}
}

// TestFailedFillRefilledOnce: when a fill fails (here the first client
// leaves mid-body, which abandons its fill), the requests waiting on it
// elect one of them to fill again instead of all going to the origin:
// 20 waiters made 21 origin requests before.
func TestFailedFillRefilledOnce(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	// The first part outgrows the proxy's buffer, so the first client
	// has its headers at once and leaves while the origin pauses; the
	// proxy's next write, of the rest, then fails (the client reset
	// its connection), whatever the sockets' buffers hold.
	payload := strings.Repeat("y", 1<<20)
	o.handle("/h/x", func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		io.WriteString(w, payload[:64<<10])
		w.(http.Flusher).Flush()
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, payload[64<<10:])
	})
	cacheRoute(e, "1", "/h/*", "memory", "", o)
	lc, err := net.Dial("tcp", strings.TrimPrefix(e.httpURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// The same Host as the other clients: the same cache key.
	io.WriteString(lc, "GET /h/x HTTP/1.1\r\nHost: "+strings.TrimPrefix(e.httpURL, "http://")+"\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(lc), nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.get("/h/x"); r.status != 200 || len(r.body) != len(payload) {
				t.Errorf("waiter: %d, %d bytes", r.status, len(r.body))
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	lc.(*net.TCPConn).SetLinger(0)
	lc.Close() // the first client goes away, and its fill with it
	wg.Wait()
	if got := o.count("/h/x"); got != 2 {
		t.Errorf("%d origin requests for 1 + 20 clients, want 2", got)
	}
}

// TestHeadForUncacheable: a HEAD is sent upstream as a GET to fill the
// cache, but when the answer will not be stored its body is not read to
// the end (32 MiB for nothing, every time, before), and once the key is
// known not to be cacheable a HEAD goes upstream as a HEAD.
func TestHeadForUncacheable(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	chunk := strings.Repeat("z", 64<<10)
	var sent atomic.Int64
	o.handle("/hd/nostore", func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", "33554432")
		if r.Method == http.MethodHead {
			return // net/http would count writes it drops
		}
		for i := 0; i < 512; i++ {
			if _, err := w.Write([]byte(chunk)); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	})
	cacheRoute(e, "1", "/hd/*", "memory", "", o)
	for i, method := range []string{"GET", "HEAD"} {
		sent.Store(0)
		r := e.do("HEAD", "/hd/nostore")
		time.Sleep(100 * time.Millisecond)
		if r.status != 200 || r.header.Get("Content-Length") != "33554432" {
			t.Errorf("HEAD #%d: %d %v", i+1, r.status, r.header)
		}
		if m := o.lastMethod("/hd/nostore"); m != method {
			t.Errorf("HEAD #%d reached the origin as %s, want %s", i+1, m, method)
		}
		if n := sent.Load(); n > 16<<20 {
			t.Errorf("HEAD #%d: the origin sent %d MiB of body", i+1, n>>20)
		}
	}
}

// TestRangeOnUncacheable: a Range request for an answer the cache will
// not keep (no-store, or over max_resp_body_size) gets its range, asked
// of the origin, not the whole body as a 200 (media players seek with
// ranges); once the key is known not to be kept, the request goes
// upstream with its Range from the start.
func TestRangeOnUncacheable(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	payload := strings.Repeat("0123456789", 5000)
	serve := func(cc string) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", cc)
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(payload)) // honours Range
		}
	}
	o.handle("/r/nostore", serve("no-store"))
	o.handle("/r/toolarge", serve("max-age=600"))
	cacheRoute(e, "1", "/r/*", "memory", `"max_resp_body_size":10000`, o)
	for _, p := range []string{"/r/nostore", "/r/toolarge"} {
		for i := 0; i < 2; i++ {
			r := e.get(p, "Range", "bytes=10-29")
			if r.status != http.StatusPartialContent || r.body != payload[10:30] || r.header.Get("Content-Range") != "bytes 10-29/50000" {
				t.Errorf("%s #%d: %d, %d bytes, Content-Range %q", p, i+1, r.status, len(r.body), r.header.Get("Content-Range"))
			}
			if got := o.lastHeader(p).Get("Range"); got != "bytes=10-29" {
				t.Errorf("%s #%d: the origin saw Range %q last", p, i+1, got)
			}
		}
	}
	// 1 + 2: the first request fetched the whole body for the cache.
	if n := o.count("/r/nostore"); n != 3 {
		t.Errorf("%d origin requests for /r/nostore, want 3", n)
	}
}

// TestOutgrownBodyMarksUncacheable: a body without a Content-Length that
// outgrows max_resp_body_size on the way marks its key as not cacheable,
// as one whose Content-Length says so up front: later requests do not
// queue behind another doomed fill, and a HEAD goes upstream as HEAD.
func TestOutgrownBodyMarksUncacheable(t *testing.T) {
	e := newEnv(t, "")
	o := newOrigin(t)
	o.handle("/g/big", func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=600")
		for i := 0; i < 10; i++ { // chunked: flushed pieces, no length
			io.WriteString(w, strings.Repeat("g", 5000))
			w.(http.Flusher).Flush()
		}
	})
	cacheRoute(e, "1", "/g/*", "memory", `"max_resp_body_size":10000`, o)
	if r := e.get("/g/big"); r.status != 200 || len(r.body) != 50000 {
		t.Fatalf("GET: %d, %d bytes", r.status, len(r.body))
	}
	if r := e.do("HEAD", "/g/big"); r.status != 200 {
		t.Errorf("HEAD: %d", r.status)
	}
	if m := o.lastMethod("/g/big"); m != "HEAD" {
		t.Errorf("the HEAD reached the origin as %s: the key was not marked", m)
	}
}
