package limitconn_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// gate is an upstream that holds every request until released.
type gate struct {
	*edgetest.Echo
	release chan struct{}
	arrived atomic.Int64
	once    sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{release: make(chan struct{})}
	g.Echo = edgetest.NewHandler(t, func(w http.ResponseWriter, r *http.Request) {
		g.arrived.Add(1)
		select {
		case <-g.release:
		case <-time.After(10 * time.Second):
		}
		_, _ = w.Write([]byte("ok"))
	})
	t.Cleanup(g.open)
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type outcome struct {
	mu     sync.Mutex
	status map[int]int
	bodies map[int]string
	wg     sync.WaitGroup
}

func fire(e *edgetest.Env, n int, path string, hdr ...string) *outcome {
	o := &outcome{status: map[int]int{}, bodies: map[int]string{}}
	for range n {
		o.wg.Go(func() {
			r, err := e.Try("GET", path, "", hdr...)
			o.mu.Lock()
			defer o.mu.Unlock()
			if err != nil {
				o.status[-1]++
				return
			}
			o.status[r.Status]++
			o.bodies[r.Status] = r.Body
		})
	}
	return o
}

func (o *outcome) count(status int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.status[status]
}

// TestConcurrency: with conn in flight, every further request is rejected
// at once; exactly conn reach the upstream; the slots come back in the log
// phase.
func TestConcurrency(t *testing.T) {
	e := edgetest.New(t)
	g := newGate(t)
	const conn, n = 10, 60
	e.Put("/routes/c", fmt.Sprintf(`{"uri":"/c","plugins":{"limit-conn":{"conn":%d,"burst":0,"default_conn_delay":0.1,"key":"remote_addr"}},"upstream":%s}`, conn, g.Upstream()))
	o := fire(e, n, "/c")
	waitFor(t, "rejections", func() bool { return o.count(503) == n-conn })
	// The admitted ones may still be on their way to the upstream.
	waitFor(t, "the admitted requests at the upstream", func() bool { return g.arrived.Load() >= conn })
	if got := g.arrived.Load(); got != conn {
		t.Errorf("%d requests reached the upstream, want %d", got, conn)
	}
	if b := o.bodies[503]; b != string(plugin.ErrorPage(503)) {
		t.Errorf("rejection body %q", b)
	}
	g.open()
	o.wg.Wait()
	if o.status[200] != conn {
		t.Errorf("statuses %v", o.status)
	}
	// All slots are free again: a second wave passes entirely.
	o = fire(e, conn, "/c")
	o.wg.Wait()
	if o.status[200] != conn {
		t.Errorf("second wave %v, want %d×200", o.status, conn)
	}
}

func TestBurstDelayAndRejection(t *testing.T) {
	e := edgetest.New(t)
	slow := edgetest.NewHandler(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	})
	e.Put("/routes/b", fmt.Sprintf(`{"uri":"/b","plugins":{"limit-conn":{"conn":1,"burst":1,"default_conn_delay":0.2,"only_use_default_delay":true,
		"key":"remote_addr","rejected_code":429,"rejected_msg":"too many"}},"upstream":%s}`, slow.Upstream()))
	type res struct {
		status int
		body   string
		took   time.Duration
	}
	results := make(chan res, 3)
	for i := range 3 {
		go func() {
			r, err := e.Try("GET", "/b", "")
			if err != nil {
				results <- res{status: -1}
				return
			}
			results <- res{r.Status, r.Body, r.Took}
		}()
		time.Sleep(time.Duration(i+1) * 20 * time.Millisecond)
	}
	var rejected []res
	var passed []res
	for range 3 {
		r := <-results
		if r.status == 200 {
			passed = append(passed, r)
		} else {
			rejected = append(rejected, r)
		}
	}
	if len(passed) != 2 || len(rejected) != 1 {
		t.Fatalf("passed %+v, rejected %+v", passed, rejected)
	}
	longest := max(passed[0].took, passed[1].took)
	// One ran at once (300 ms), the burst one waited 200 ms first.
	if longest < 480*time.Millisecond {
		t.Errorf("burst request not delayed: took %v", longest)
	}
	if r := rejected[0]; r.status != 429 || r.body != `{"error_msg":"too many"}`+"\n" || r.took >= longest {
		t.Errorf("rejection: %+v (burst request: %v)", r, longest)
	}
}

// TestLogPhaseAlwaysGivesBack: a slot is returned whatever ended the
// request: an upstream failure, or a later plugin's rejection.
func TestLogPhaseAlwaysGivesBack(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/down", `{"uri":"/down","plugins":{"limit-conn":{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr"}},"upstream":{"nodes":{"127.0.0.1:1":1},"retries":0}}`)
	for i := range 3 {
		if r := e.Get("/down"); r.Status != 502 {
			t.Fatalf("request %d to a dead upstream: %d", i, r.Status)
		}
	}
	// limit-count (1002) runs after limit-conn (1003) and rejects.
	e.Put("/routes/both", fmt.Sprintf(`{"uri":"/both","plugins":{
		"limit-conn":{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr","rejected_msg":"conn"},
		"limit-count":{"count":1,"time_window":60,"rejected_msg":"count"}},"upstream":%s}`, up.Upstream()))
	want := []string{"", `{"error_msg":"count"}` + "\n", `{"error_msg":"count"}` + "\n"}
	for i, w := range want {
		r := e.Get("/both")
		if w != "" && r.Body != w {
			t.Errorf("request %d: %d %q, want %q", i, r.Status, r.Body, w)
		}
	}
}

// TestStateSurvivesSwaps: a request in flight when the route is
// recompiled still holds its slot, and gives it back to the same counter.
func TestStateSurvivesSwaps(t *testing.T) {
	e := edgetest.New(t)
	g := newGate(t)
	route := func(desc string) string {
		return fmt.Sprintf(`{"uri":"/s","desc":%q,"plugins":{"limit-conn":{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr"}},"upstream":%s}`, desc, g.Upstream())
	}
	e.Put("/routes/s", route("a"))
	o := fire(e, 1, "/s")
	waitFor(t, "the first request", func() bool { return g.arrived.Load() == 1 })
	e.Put("/routes/s", route("b"))
	if r := e.Get("/s"); r.Status != 503 {
		t.Errorf("slot lost in the swap: %d", r.Status)
	}
	g.open()
	o.wg.Wait()
	if r := e.Get("/s"); r.Status != 200 {
		t.Errorf("slot not given back: %d", r.Status)
	}
}

func TestRules(t *testing.T) {
	e := edgetest.New(t)
	g := newGate(t)
	e.Put("/routes/r", fmt.Sprintf(`{"uri":"/r","plugins":{"limit-conn":{"default_conn_delay":0.1,"rules":[
		{"conn":1,"burst":0,"key":"$http_x_user"},
		{"conn":"$http_x_max","burst":0,"key":"app-$http_x_max"}
	]}},"upstream":%s}`, g.Upstream()))
	o := fire(e, 1, "/r", "X-User", "u", "X-Max", "2")
	waitFor(t, "first", func() bool { return g.arrived.Load() == 1 })
	if r := e.Get("/r", "X-User", "u", "X-Max", "2"); r.Status != 503 {
		t.Errorf("same user: %d", r.Status)
	}
	o2 := fire(e, 1, "/r", "X-User", "v", "X-Max", "2")
	waitFor(t, "second", func() bool { return g.arrived.Load() == 2 })
	if r := e.Get("/r", "X-User", "w", "X-Max", "2"); r.Status != 503 {
		t.Errorf("app limit: %d", r.Status)
	}
	g.open()
	o.wg.Wait()
	o2.wg.Wait()
	// Without X-User only the app rule applies; without X-Max neither does.
	// (A rule key without any variable set is skipped, as in APISIX.)
	if r := e.Get("/r", "X-Max", "2"); r.Status != 200 {
		t.Errorf("app rule alone: %d", r.Status)
	}
	if r := e.Get("/r"); r.Status != 500 {
		t.Errorf("no rule applies: %d", r.Status)
	}
}

func TestRedisPolicyRefused(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/x", fmt.Sprintf(`{"uri":"/x","plugins":{"limit-conn":{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr","policy":"redis","redis_host":"127.0.0.1"}},"upstream":%s}`, up.Upstream()))
	if r := e.Get("/x"); r.Status != 404 {
		t.Errorf("served: %d", r.Status)
	}
	if !strings.Contains(e.Logs(), "policy redis is not supported yet") {
		t.Errorf("log: %s", e.Logs())
	}
}
