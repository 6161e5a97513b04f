package limitcount_test

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

var page503 = string(plugin.ErrorPage(503))

type want struct {
	status    int
	body      string // exact, unless empty
	limit     string
	remaining string
	reset     []string // any of
}

func check(t *testing.T, i int, r edgetest.Result, w want) {
	t.Helper()
	if r.Status != w.status {
		t.Fatalf("request %d: status %d, want %d (%s)", i, r.Status, w.status, r.Body)
	}
	if w.body != "" && r.Body != w.body {
		t.Errorf("request %d: body %q, want %q", i, r.Body, w.body)
	}
	if got := r.Header.Get("X-RateLimit-Limit"); got != w.limit {
		t.Errorf("request %d: X-RateLimit-Limit %q, want %q", i, got, w.limit)
	}
	if got := r.Header.Get("X-RateLimit-Remaining"); got != w.remaining {
		t.Errorf("request %d: X-RateLimit-Remaining %q, want %q", i, got, w.remaining)
	}
	got := r.Header.Get("X-RateLimit-Reset")
	ok := len(w.reset) == 0 && got == ""
	for _, x := range w.reset {
		ok = ok || got == x
	}
	if !ok {
		t.Errorf("request %d: X-RateLimit-Reset %q, want one of %q", i, got, w.reset)
	}
}

func TestFixedWindow(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	tests := []struct {
		desc  string
		conf  string
		wants []want
		ctype string // of the rejection
	}{
		{
			desc: "defaults: 503 with nginx's page, quota headers on every answer",
			conf: `{"count":2,"time_window":60}`,
			wants: []want{
				{200, "", "2", "1", []string{"60"}},
				{200, "", "2", "0", []string{"60", "59", "58"}},
				{503, page503, "2", "0", []string{"60", "59", "58"}},
				{503, page503, "2", "0", []string{"60", "59", "58"}},
			},
			ctype: traffic.HTMLType,
		},
		{
			desc: "rejected_code and rejected_msg",
			conf: `{"count":1,"time_window":30,"rejected_code":429,"rejected_msg":"Requests are too frequent, please try again later."}`,
			wants: []want{
				{200, "", "1", "0", []string{"30"}},
				{429, `{"error_msg":"Requests are too frequent, please try again later."}` + "\n", "1", "0", []string{"30", "29", "28"}},
			},
			ctype: "application/json",
		},
		{
			desc: "show_limit_quota_header false",
			conf: `{"count":1,"time_window":30,"show_limit_quota_header":false,"rejected_code":403}`,
			wants: []want{
				{200, "", "", "", nil},
				{403, string(plugin.ErrorPage(403)), "", "", nil},
			},
			ctype: traffic.HTMLType,
		},
		{
			desc: "rejected_code without an nginx page: empty body",
			conf: `{"count":1,"time_window":30,"rejected_code":418}`,
			wants: []want{
				{200, "", "1", "0", []string{"30"}},
				{418, "", "1", "0", []string{"30", "29", "28"}},
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			uri := fmt.Sprintf("/fixed/%d", i)
			e.Put(fmt.Sprintf("/routes/fixed%d", i), fmt.Sprintf(`{"uri":%q,"plugins":{"limit-count":%s},"upstream":%s}`, uri, tc.conf, up.Upstream()))
			for j, w := range tc.wants {
				r := e.Get(uri)
				check(t, j, r, w)
				if r.Status != 200 && tc.ctype != "" && r.Header.Get("Content-Type") != tc.ctype {
					t.Errorf("request %d: Content-Type %q, want %q", j, r.Header.Get("Content-Type"), tc.ctype)
				}
			}
		})
	}
}

func TestKeys(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	tests := []struct {
		desc string
		conf string
		// requests as header pairs; want statuses in order
		reqs  [][]string
		codes []int
	}{
		{
			desc:  "var key: each header value has its own counter; a missing one falls back to remote_addr",
			conf:  `{"count":1,"time_window":60,"key":"http_x_user"}`,
			reqs:  [][]string{{"X-User", "a"}, {"X-User", "a"}, {"X-User", "b"}, {}, {}, {"X-User", "b"}},
			codes: []int{200, 503, 200, 200, 503, 503},
		},
		{
			desc:  "var_combination: counted when at least one variable is set",
			conf:  `{"count":1,"time_window":60,"key_type":"var_combination","key":"$http_x_a $http_x_b"}`,
			reqs:  [][]string{{"X-A", "1"}, {"X-A", "1", "X-B", "2"}, {"X-A", "1"}, {"X-B", "2"}, {}},
			codes: []int{200, 200, 503, 200, 200},
		},
		{
			desc:  "constant: one counter for everyone",
			conf:  `{"count":2,"time_window":60,"key_type":"constant","key":"all"}`,
			reqs:  [][]string{{"X-User", "a"}, {"X-User", "b"}, {"X-User", "c"}},
			codes: []int{200, 200, 503},
		},
		{
			desc:  "consumer_name without a consumer falls back to remote_addr",
			conf:  `{"count":1,"time_window":60,"key":"consumer_name"}`,
			reqs:  [][]string{{}, {}},
			codes: []int{200, 503},
		},
		{
			desc:  "count from a variable",
			conf:  `{"count":"$http_x_count","time_window":60,"key_type":"constant","key":"k"}`,
			reqs:  [][]string{{"X-Count", "2"}, {"X-Count", "2"}, {"X-Count", "2"}, {"X-Count", "3"}, {"X-Count", "3"}},
			codes: []int{200, 200, 503, 200, 503},
		},
		{
			desc:  "count that does not resolve to a number: 500",
			conf:  `{"count":"$http_x_count","time_window":60}`,
			reqs:  [][]string{{"X-Count", "many"}},
			codes: []int{500},
		},
		{
			desc:  "allow_degradation lets it through",
			conf:  `{"count":"$http_x_count","time_window":60,"allow_degradation":true}`,
			reqs:  [][]string{{"X-Count", "many"}},
			codes: []int{200},
		},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			uri := fmt.Sprintf("/keys/%d", i)
			e.Put(fmt.Sprintf("/routes/keys%d", i), fmt.Sprintf(`{"uri":%q,"plugins":{"limit-count":%s},"upstream":%s}`, uri, tc.conf, up.Upstream()))
			for j, h := range tc.reqs {
				if r := e.Get(uri, h...); r.Status != tc.codes[j] {
					t.Errorf("request %d %v: %d, want %d", j, h, r.Status, tc.codes[j])
				}
			}
		})
	}
}

func TestRules(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/r", fmt.Sprintf(`{"uri":"/r","plugins":{"limit-count":{"rules":[
		{"count":3,"time_window":60,"key":"${http_x_user}","header_prefix":"User"},
		{"count":2,"time_window":30,"key":"$http_x_app"}
	]}},"upstream":%s}`, up.Upstream()))

	r := e.Get("/r", "X-User", "u", "X-App", "a")
	if r.Status != 200 || r.Header.Get("X-User-RateLimit-Limit") != "3" || r.Header.Get("X-User-RateLimit-Remaining") != "2" ||
		r.Header.Get("X-User-RateLimit-Reset") != "60" || r.Header.Get("X-2-RateLimit-Limit") != "2" ||
		r.Header.Get("X-2-RateLimit-Remaining") != "1" || r.Header.Get("X-2-RateLimit-Reset") != "30" {
		t.Fatalf("first: %d %v", r.Status, r.Header)
	}
	if r.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("rules set the plain headers: %v", r.Header)
	}
	e.Get("/r", "X-User", "u", "X-App", "a")
	r = e.Get("/r", "X-User", "u", "X-App", "a") // third: the app rule rejects
	if r.Status != 503 || r.Header.Get("X-2-RateLimit-Remaining") != "0" || r.Header.Get("X-User-RateLimit-Remaining") != "0" {
		t.Errorf("app rule: %d %v", r.Status, r.Header)
	}
	// Only the user rule applies without X-App (a rule whose key does not
	// resolve is skipped); its counter is already spent.
	if r := e.Get("/r", "X-User", "u"); r.Status != 503 || r.Header.Get("X-2-RateLimit-Limit") != "" {
		t.Errorf("user rule alone: %d %v", r.Status, r.Header)
	}
	if r := e.Get("/r", "X-User", "v"); r.Status != 200 || r.Header.Get("X-User-RateLimit-Remaining") != "2" {
		t.Errorf("other user: %d %v", r.Status, r.Header)
	}
	// No rule applies: 500, as APISIX.
	if r := e.Get("/r"); r.Status != 500 || r.Body != string(plugin.ErrorPage(500)) {
		t.Errorf("no rule: %d %q", r.Status, r.Body)
	}
}

func TestGroup(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	conf := `{"count":3,"time_window":60,"group":"g1","key_type":"constant","key":"k"}`
	e.Put("/routes/a", fmt.Sprintf(`{"uri":"/a","plugins":{"limit-count":%s},"upstream":%s}`, conf, up.Upstream()))
	e.Put("/services/s", fmt.Sprintf(`{"plugins":{"limit-count":%s},"upstream":%s}`, conf, up.Upstream()))
	e.Put("/routes/b", `{"uri":"/b","service_id":"s"}`)
	e.Put("/routes/c", fmt.Sprintf(`{"uri":"/c","plugins":{"limit-count":{"count":3,"time_window":60,"key_type":"constant","key":"k"}},"upstream":%s}`, up.Upstream()))
	codes := []int{}
	for _, p := range []string{"/a", "/b", "/a", "/b", "/c"} {
		codes = append(codes, e.Get(p).Status)
	}
	if fmt.Sprint(codes) != "[200 200 200 503 200]" {
		t.Errorf("group shared across routes: %v", codes)
	}
}

// TestConcurrency: N concurrent requests see exactly count successes, and
// the upstream exactly count hits.
func TestConcurrency(t *testing.T) {
	for _, wt := range []string{"fixed", "sliding"} {
		t.Run(wt, func(t *testing.T) {
			e := edgetest.New(t)
			up := edgetest.NewEcho(t, "up")
			// A long window: a sliding window boundary during the test
			// would (rightly) let a few more through.
			const count, n = 37, 300
			e.Put("/routes/c", fmt.Sprintf(`{"uri":"/c","plugins":{"limit-count":{"count":%d,"time_window":3600,"window_type":%q}},"upstream":%s}`, count, wt, up.Upstream()))
			var mu sync.Mutex
			status := map[int]int{}
			remaining := map[string]bool{}
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
					if r.Status == 200 {
						remaining[r.Header.Get("X-RateLimit-Remaining")] = true
					}
				})
			}
			wg.Wait()
			if status[200] != count || status[503] != n-count {
				t.Errorf("statuses %v, want %d×200 and %d×503", status, count, n-count)
			}
			if got := up.Hits(); got != count {
				t.Errorf("upstream hits %d, want %d", got, count)
			}
			// Every success saw a distinct remaining count (0..count-1)
			// unless the sliding window's estimate spreads them.
			if wt == "fixed" && len(remaining) != count {
				t.Errorf("distinct X-RateLimit-Remaining %d, want %d", len(remaining), count)
			}
		})
	}
}

// TestStateSurvivesSwaps: counters survive recompiles of the route (other
// fields changed, other routes changed, garbage collections) and start
// over when the plugin's configuration changes, as APISIX's conf_version
// keys them.
func TestStateSurvivesSwaps(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	route := func(desc string, count int) string {
		return fmt.Sprintf(`{"uri":"/s","desc":%q,"plugins":{"limit-count":{"count":%d,"time_window":60}},"upstream":%s}`, desc, count, up.Upstream())
	}
	e.Put("/routes/s", route("one", 3))
	e.Get("/s")
	e.Get("/s")
	e.Put("/routes/s", route("two", 3))
	e.Put("/routes/other", fmt.Sprintf(`{"uri":"/o","upstream":%s}`, up.Upstream()))
	runtime.GC()
	runtime.GC()
	if r := e.Get("/s"); r.Status != 200 || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("after swaps: %d remaining %s", r.Status, r.Header.Get("X-RateLimit-Remaining"))
	}
	if r := e.Get("/s"); r.Status != 503 {
		t.Fatalf("over the limit after swaps: %d", r.Status)
	}
	e.Put("/routes/s", route("two", 4))
	if r := e.Get("/s"); r.Status != 200 || r.Header.Get("X-RateLimit-Remaining") != "3" {
		t.Errorf("new configuration, new counter: %d remaining %s", r.Status, r.Header.Get("X-RateLimit-Remaining"))
	}
}

func TestWindowEnds(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/w", fmt.Sprintf(`{"uri":"/w","plugins":{"limit-count":{"count":1,"time_window":1}},"upstream":%s}`, up.Upstream()))
	if r := e.Get("/w"); r.Status != 200 || r.Header.Get("X-RateLimit-Reset") != "1" {
		t.Fatalf("first: %d %v", r.Status, r.Header)
	}
	if r := e.Get("/w"); r.Status != 503 {
		t.Fatalf("second: %d", r.Status)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := e.Get("/w"); r.Status != 200 || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("next window: %d %v", r.Status, r.Header)
	}
}

func TestSlidingWindow(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/s", fmt.Sprintf(`{"uri":"/s","plugins":{"limit-count":{"count":2,"time_window":10,"window_type":"sliding","rejected_code":429}},"upstream":%s}`, up.Upstream()))
	resets := []float64{}
	for i, w := range []struct {
		status    int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		r := e.Get("/s")
		if r.Status != w.status || r.Header.Get("X-RateLimit-Limit") != "2" || r.Header.Get("X-RateLimit-Remaining") != w.remaining {
			t.Fatalf("request %d: %d %v", i, r.Status, r.Header)
		}
		f, err := strconv.ParseFloat(r.Header.Get("X-RateLimit-Reset"), 64)
		if err != nil || f <= 0 || f > 10 {
			t.Fatalf("request %d: reset %q", i, r.Header.Get("X-RateLimit-Reset"))
		}
		// Two decimals at most, rounded up (round_off_decimal_places).
		if s := r.Header.Get("X-RateLimit-Reset"); strings.Contains(s, ".") && len(s)-strings.Index(s, ".") > 3 {
			t.Errorf("reset %q has more than two decimals", s)
		}
		resets = append(resets, f)
	}
	_ = resets
}

func TestRedisPolicyRefused(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	for _, p := range []struct{ id, conf string }{
		{"redis", `"policy":"redis","redis_host":"127.0.0.1"`},
		{"cluster", `"policy":"redis-cluster","redis_cluster_nodes":["127.0.0.1:7000"],"redis_cluster_name":"c"`},
		{"sentinel", `"policy":"redis-sentinel","redis_sentinels":[{"host":"127.0.0.1","port":26379}],"redis_master_name":"m"`},
	} {
		e.Put("/routes/"+p.id, fmt.Sprintf(`{"uri":"/%s","plugins":{"limit-count":{"count":1,"time_window":60,%s}},"upstream":%s}`, p.id, p.conf, up.Upstream()))
		if r := e.Get("/" + p.id); r.Status != 404 {
			t.Errorf("%s: route served (%d) with a policy Stargate does not implement", p.id, r.Status)
		}
	}
	for _, msg := range []string{"policy redis is not supported yet", "policy redis-cluster is not supported yet", "policy redis-sentinel is not supported yet"} {
		if !strings.Contains(e.Logs(), msg) {
			t.Errorf("log lacks %q:\n%s", msg, e.Logs())
		}
	}
}

// TestMetadataHeaderNames: plugin_metadata renames the quota headers of
// plain configurations (rules[] keep their prefixed names).
func TestMetadataHeaderNames(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/plugin_metadata/limit-count", `{"limit_header":"APISIX-RATELIMIT-QUOTA","remaining_header":"APISIX-RATELIMIT-REMAINING","reset_header":"APISIX-RATELIMIT-RESET"}`)
	e.Put("/routes/m", fmt.Sprintf(`{"uri":"/m","plugins":{"limit-count":{"count":10,"time_window":60}},"upstream":%s}`, up.Upstream()))
	r := e.Get("/m")
	if r.Header.Get("APISIX-RATELIMIT-QUOTA") != "10" || r.Header.Get("APISIX-RATELIMIT-REMAINING") != "9" ||
		r.Header.Get("APISIX-RATELIMIT-RESET") != "60" || r.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("custom names: %v", r.Header)
	}
	e.Delete("/plugin_metadata/limit-count")
	if r := e.Get("/m"); r.Header.Get("X-RateLimit-Limit") != "10" || r.Header.Get("X-RateLimit-Remaining") != "8" {
		t.Errorf("after deleting the metadata: %v", r.Header)
	}
}
