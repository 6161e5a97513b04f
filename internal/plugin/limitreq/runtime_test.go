package limitreq_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestRejections(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	tests := []struct {
		desc   string
		conf   string
		hdr    [][]string
		status []int
		body   string // of the rejections
		ctype  string
	}{
		{
			desc:   "nodelay: rate+burst pass at once, then 503 with nginx's page",
			conf:   `{"rate":0.5,"burst":2,"key":"remote_addr","nodelay":true}`,
			hdr:    [][]string{{}, {}, {}, {}, {}},
			status: []int{200, 200, 200, 503, 503},
			body:   string(plugin.ErrorPage(503)),
			ctype:  traffic.HTMLType,
		},
		{
			desc:   "rejected_code and rejected_msg",
			conf:   `{"rate":0.5,"burst":0,"key":"remote_addr","rejected_code":429,"rejected_msg":"slow down <please>"}`,
			hdr:    [][]string{{}, {}},
			status: []int{200, 429},
			body:   `{"error_msg":"slow down <please>"}` + "\n",
			ctype:  "application/json",
		},
		{
			desc:   "var key: one bucket per value",
			conf:   `{"rate":0.5,"burst":0,"key":"http_x_user","nodelay":true}`,
			hdr:    [][]string{{"X-User", "a"}, {"X-User", "b"}, {"X-User", "a"}, {"X-User", "b"}},
			status: []int{200, 200, 503, 503},
			body:   string(plugin.ErrorPage(503)),
		},
		{
			desc:   "var_combination: an unresolved combination falls back to remote_addr",
			conf:   `{"rate":0.5,"burst":0,"key_type":"var_combination","key":"$http_x_a-$http_x_b","nodelay":true}`,
			hdr:    [][]string{{"X-A", "1"}, {"X-B", "1"}, {}, {}, {"X-A", "1"}},
			status: []int{200, 200, 200, 503, 503},
			body:   string(plugin.ErrorPage(503)),
		},
		{
			desc:   "rate from a variable",
			conf:   `{"rate":"$http_x_rate","burst":1,"key":"remote_addr","nodelay":true}`,
			hdr:    [][]string{{"X-Rate", "0.5"}, {"X-Rate", "0.5"}, {"X-Rate", "0.5"}, {"X-Rate", "none"}},
			status: []int{200, 200, 503, 500},
			body:   "",
		},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			uri := fmt.Sprintf("/r/%d", i)
			e.Put(fmt.Sprintf("/routes/r%d", i), fmt.Sprintf(`{"uri":%q,"plugins":{"limit-req":%s},"upstream":%s}`, uri, tc.conf, up.Upstream()))
			for j, h := range tc.hdr {
				r := e.Get(uri, h...)
				if r.Status != tc.status[j] {
					t.Fatalf("request %d: %d, want %d (%s)", j, r.Status, tc.status[j], r.Body)
				}
				if r.Status == 200 || tc.body == "" {
					continue
				}
				if r.Body != tc.body {
					t.Errorf("request %d: body %q, want %q", j, r.Body, tc.body)
				}
				if tc.ctype != "" && r.Header.Get("Content-Type") != tc.ctype {
					t.Errorf("request %d: Content-Type %q", j, r.Header.Get("Content-Type"))
				}
			}
		})
	}
}

// TestDelay: within the burst, requests wait excess/rate seconds so they
// leave at the rate; beyond it they are rejected without waiting.
func TestDelay(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	// rate 5/s: the five requests must arrive within 200 ms of each other
	// for exactly three to pass (delays 0, 0.2 s, 0.4 s).
	e.Put("/routes/d", fmt.Sprintf(`{"uri":"/d","plugins":{"limit-req":{"rate":5,"burst":2,"key":"remote_addr"}},"upstream":%s}`, up.Upstream()))
	var mu sync.Mutex
	var ok []time.Duration
	var rejected []time.Duration
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			r, err := e.Try("GET", "/d", "")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if r.Status == 200 {
				ok = append(ok, r.Took)
			} else {
				rejected = append(rejected, r.Took)
			}
		})
	}
	wg.Wait()
	if len(ok) != 3 || len(rejected) != 2 {
		t.Fatalf("%d passed, %d rejected; want 3 and 2", len(ok), len(rejected))
	}
	slices.Sort(ok)
	if ok[1] < 180*time.Millisecond || ok[2] < 380*time.Millisecond {
		t.Errorf("delays %v, want about 0, 200ms, 400ms", ok)
	}
	for _, d := range rejected {
		if d >= ok[2] {
			t.Errorf("a rejection waited %v (the last delayed request %v)", d, ok[2])
		}
	}
}

// TestConcurrency: N concurrent requests, exactly 1+burst pass.
func TestConcurrency(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	const burst, n = 19, 200
	e.Put("/routes/c", fmt.Sprintf(`{"uri":"/c","plugins":{"limit-req":{"rate":0.1,"burst":%d,"key":"remote_addr","nodelay":true}},"upstream":%s}`, burst, up.Upstream()))
	var mu sync.Mutex
	status := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := e.Try("GET", "/c", "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				status[-1]++
				return
			}
			status[r.Status]++
		})
	}
	wg.Wait()
	if status[200] != burst+1 || status[503] != n-burst-1 {
		t.Errorf("statuses %v, want %d×200", status, burst+1)
	}
	if up.Hits() != burst+1 {
		t.Errorf("upstream hits %d", up.Hits())
	}
}

func TestRules(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/r", fmt.Sprintf(`{"uri":"/r","plugins":{"limit-req":{"nodelay":true,"rules":[
		{"rate":0.5,"burst":1,"key":"$http_x_user"},
		{"rate":0.5,"burst":0,"key":"app-${http_x_app}"}
	]}},"upstream":%s}`, up.Upstream()))
	steps := []struct {
		hdr  []string
		want int
	}{
		{[]string{"X-User", "u"}, 200},
		{[]string{"X-User", "u"}, 200},
		{[]string{"X-User", "u"}, 503}, // user bucket full
		{[]string{"X-App", "a"}, 200},
		{[]string{"X-App", "a"}, 503}, // app bucket full
		{[]string{"X-User", "v", "X-App", "b"}, 200},
		{nil, 500}, // no rule applies
	}
	for i, s := range steps {
		if r := e.Get("/r", s.hdr...); r.Status != s.want {
			t.Errorf("step %d %v: %d, want %d", i, s.hdr, r.Status, s.want)
		}
	}
}

func TestStateSurvivesSwaps(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	route := func(desc string) string {
		return fmt.Sprintf(`{"uri":"/s","desc":%q,"plugins":{"limit-req":{"rate":0.1,"burst":1,"key":"remote_addr","nodelay":true}},"upstream":%s}`, desc, up.Upstream())
	}
	e.Put("/routes/s", route("a"))
	e.Get("/s")
	e.Get("/s")
	e.Put("/routes/s", route("b"))
	runtime.GC()
	runtime.GC()
	if r := e.Get("/s"); r.Status != 503 {
		t.Errorf("bucket lost in a swap: %d", r.Status)
	}
}

func TestRedisPolicyRefused(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/x", fmt.Sprintf(`{"uri":"/x","plugins":{"limit-req":{"rate":1,"burst":1,"key":"remote_addr","policy":"redis","redis_host":"127.0.0.1"}},"upstream":%s}`, up.Upstream()))
	e.Put("/routes/y", fmt.Sprintf(`{"uri":"/y","plugins":{"limit-req":{"rate":1,"burst":1,"key":"remote_addr","policy":"redis-cluster","redis_cluster_nodes":["127.0.0.1:7000"],"redis_cluster_name":"c"}},"upstream":%s}`, up.Upstream()))
	for _, p := range []string{"/x", "/y"} {
		if r := e.Get(p); r.Status != 404 {
			t.Errorf("%s served: %d", p, r.Status)
		}
	}
	for _, msg := range []string{"policy redis is not supported yet", "policy redis-cluster is not supported yet"} {
		if !strings.Contains(e.Logs(), msg) {
			t.Errorf("log lacks %q", msg)
		}
	}
}
