package upstream

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestHealthCounters replays report sequences through lua-resty-healthcheck's
// counter rules.
func TestHealthCounters(t *testing.T) {
	type step struct {
		ok    bool
		kind  int
		limit int
	}
	S := func(limit int) step { return step{true, ctrSuccess, limit} }
	H := func(limit int) step { return step{false, ctrHTTP, limit} }
	T := func(limit int) step { return step{false, ctrTCP, limit} }
	O := func(limit int) step { return step{false, ctrTimeout, limit} }
	tests := []struct {
		desc  string
		steps []step
		want  []health // state after each step
	}{
		{"failures below threshold: mostly healthy, still up",
			[]step{H(3), H(3)}, []health{stateMostlyHealthy, stateMostlyHealthy}},
		{"threshold reached: unhealthy",
			[]step{H(3), H(3), H(3)}, []health{stateMostlyHealthy, stateMostlyHealthy, stateUnhealthy}},
		{"a success resets failure counters",
			[]step{H(3), H(3), S(2), H(3), H(3)},
			[]health{stateMostlyHealthy, stateMostlyHealthy, stateMostlyHealthy, stateMostlyHealthy, stateMostlyHealthy}},
		{"kinds count separately",
			[]step{H(2), T(2), O(2), T(2)},
			[]health{stateMostlyHealthy, stateMostlyHealthy, stateMostlyHealthy, stateUnhealthy}},
		{"recovery needs consecutive successes",
			[]step{T(1), S(2), H(5), S(2), S(2)},
			[]health{stateUnhealthy, stateMostlyUnhealthy, stateMostlyUnhealthy, stateMostlyUnhealthy, stateHealthy}},
		{"failures of an unhealthy node are not counted",
			[]step{T(1), T(1), S(1)}, []health{stateUnhealthy, stateUnhealthy, stateHealthy}},
		{"successes of a healthy node are not counted",
			[]step{S(1), S(1), H(1)}, []health{stateHealthy, stateHealthy, stateUnhealthy}},
		{"limit 0 disables the counter",
			[]step{O(0), O(0), O(0)}, []health{stateHealthy, stateHealthy, stateHealthy}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := newNodeState("x:1")
			for i, st := range tc.steps {
				s.report(st.ok, st.kind, st.limit)
				if s.state != tc.want[i] {
					t.Fatalf("after step %d: %v, want %v", i, s.state, tc.want[i])
				}
				if up := s.up.Load(); up != (tc.want[i] <= stateMostlyHealthy) {
					t.Fatalf("after step %d: up=%v in state %v", i, up, s.state)
				}
			}
		})
	}
}

// toggle is a real HTTP server whose status can be switched.
type toggle struct {
	*httptest.Server
	status atomic.Int64
	hits   atomic.Int64
	paths  atomic.Value // last path+query
	hosts  atomic.Value // last Host
	hdr    atomic.Value // last X-Probe header
	method atomic.Value
}

func newToggle(t *testing.T) *toggle {
	tg := &toggle{}
	tg.status.Store(200)
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		tg.paths.Store(r.URL.RequestURI())
		tg.hosts.Store(r.Host)
		tg.hdr.Store(r.Header.Get("X-Probe"))
		tg.method.Store(r.Method)
		w.WriteHeader(int(tg.status.Load()))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *toggle) addr() string { return tg.Listener.Addr().String() }

func TestActiveHTTPCheckEjectsAndRecovers(t *testing.T) {
	a, b := newToggle(t), newToggle(t)
	const interval = 100 * time.Millisecond
	m := newTestManager(t)
	u := mustCompile(t, m, "upstreams/hc", conf(t, `{
		"nodes": {%q:1, %q:1},
		"checks": {"active": {
			"type": "http", "timeout": 0.5, "http_path": "/status?x=1", "host": "probe.test",
			"req_headers": ["X-Probe: yes"],
			"healthy":   {"interval": 0.1, "successes": 2},
			"unhealthy": {"interval": 0.1, "http_failures": 2}
		}}}`, a.addr(), b.addr()))
	na, nb := nodeByAddr(u, a.addr()), nodeByAddr(u, b.addr())

	// probes arrive, with the configured path, Host and headers
	waitFor(t, 5*time.Second, "first probe", func() bool { return a.hits.Load() > 0 })
	if p := a.paths.Load(); p != "/status?x=1" {
		t.Errorf("probe path %v", p)
	}
	if h := a.hosts.Load(); h != "probe.test" {
		t.Errorf("probe Host %v", h)
	}
	if h := a.hdr.Load(); h != "yes" {
		t.Errorf("probe header %v", h)
	}
	if !u.Healthy(na) || !u.Healthy(nb) {
		t.Fatal("nodes start healthy")
	}

	a.status.Store(500)
	took := waitFor(t, 5*time.Second, "node ejected", func() bool { return !u.Healthy(na) })
	// two failures one interval apart: between 1 and ~2 intervals, plus slack
	if took < interval-20*time.Millisecond || took > 2*interval+500*time.Millisecond {
		t.Errorf("ejected after %v, want about 1-2 intervals of %v", took, interval)
	}
	t.Logf("ejected after %v", took)
	for range 50 {
		n, done, _ := u.Pick(-1, nil, nil)
		done(Result{Status: 200})
		if n == na {
			t.Fatal("picked the ejected node")
		}
	}
	if !u.Healthy(nb) {
		t.Fatal("the other node went down")
	}

	a.status.Store(200)
	took = waitFor(t, 5*time.Second, "node recovered", func() bool { return u.Healthy(na) })
	if took > 2*interval+500*time.Millisecond {
		t.Errorf("recovered after %v, want about 1-2 intervals of %v", took, interval)
	}
	t.Logf("recovered after %v", took)
	st := u.Status()
	if len(st) != 2 || !st[0].Healthy || !st[1].Healthy {
		t.Errorf("status %+v", st)
	}
}

func TestActiveChecksPerInterval(t *testing.T) {
	// unhealthy nodes are probed on unhealthy.interval, healthy ones on
	// healthy.interval: a long healthy interval leaves a healthy node alone.
	a, b := newToggle(t), newToggle(t)
	b.status.Store(500)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{
		"healthy":{"interval":3600},"unhealthy":{"interval":0.05,"http_failures":1}}}}`, a.addr(), b.addr()))
	nb := nodeByAddr(u, b.addr())
	// b is healthy at start, so nothing probes it until marked down
	time.Sleep(150 * time.Millisecond)
	if a.hits.Load() != 0 || b.hits.Load() != 0 {
		t.Fatalf("healthy nodes probed early: %d %d", a.hits.Load(), b.hits.Load())
	}
	u.states[nb.idx].report(false, ctrHTTP, 1)
	waitFor(t, 5*time.Second, "unhealthy node probed", func() bool { return b.hits.Load() >= 2 })
	if a.hits.Load() != 0 {
		t.Fatalf("healthy node probed on the unhealthy interval")
	}
}

func TestActiveTCPCheckClosedPort(t *testing.T) {
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	dead := closedAddr(t)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{"type":"tcp","timeout":0.2,
		"healthy":{"interval":0.05},"unhealthy":{"interval":0.05,"tcp_failures":2}}}}`, live.Addr().String(), dead))
	took := waitFor(t, 5*time.Second, "closed port ejected", func() bool { return !u.Healthy(nodeByAddr(u, dead)) })
	t.Logf("closed port ejected after %v", took)
	if !u.Healthy(nodeByAddr(u, live.Addr().String())) {
		t.Fatal("live port marked down")
	}
	m.Close() // stop probing before the listener goes
}

func TestActiveCheckTimeout(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	ok := newToggle(t)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{"timeout":0.1,
		"healthy":{"interval":0.05},"unhealthy":{"interval":0.05,"timeouts":2,"http_failures":100,"tcp_failures":100}}}}`,
		slow.Listener.Addr().String(), ok.addr()))
	waitFor(t, 5*time.Second, "hanging node ejected", func() bool {
		return !u.Healthy(nodeByAddr(u, slow.Listener.Addr().String()))
	})
	m.Close()
}

func TestActiveHTTPSCheck(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(200)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	other := newToggle(t)
	tests := []struct {
		desc     string
		verify   bool
		wantDown bool
	}{
		{"verification off", false, false},
		{"verification on, self-signed cert", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{"type":"https","https_verify_certificate":%v,"timeout":5,
				"healthy":{"interval":0.05},"unhealthy":{"interval":0.05,"tcp_failures":1,"timeouts":100}}}}`,
				srv.Listener.Addr().String(), other.addr(), tc.verify))
			n := nodeByAddr(u, srv.Listener.Addr().String())
			if tc.wantDown {
				waitFor(t, 10*time.Second, "bad certificate ejects", func() bool { return !u.Healthy(n) })
			} else {
				before := hits.Load()
				waitFor(t, 10*time.Second, "https probes", func() bool { return hits.Load() >= before+3 })
				if !u.Healthy(n) {
					t.Fatal("node went down")
				}
			}
			m.Close()
		})
	}
}

const passiveOnly500 = `"checks":{"active":{"healthy":{"interval":3600},"unhealthy":{"interval":3600}},
	"passive":{"unhealthy":{"http_statuses":[500],"http_failures":3,"tcp_failures":2,"timeouts":2}}}`

func TestPassiveEjection(t *testing.T) {
	bad, good := newBackend(t), newBackend(t)
	bad.status.Store(500)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1},%s}`, bad.addr(), good.addr(), passiveOnly500))
	nb := nodeByAddr(u, bad.addr())
	for range 6 { // round robin alternates: 3 on the bad node
		if _, _, err := do(t, u, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if bad.hits.Load() != 3 || u.Healthy(nb) {
		t.Fatalf("bad node: %d hits, healthy=%v; want 3 and ejected", bad.hits.Load(), u.Healthy(nb))
	}
	for range 20 {
		n, _, _ := do(t, u, nil, nil)
		if n == nb {
			t.Fatal("ejected node still picked")
		}
	}
	u.Transport().CloseIdleConnections()
}

func TestPassiveFailureKinds(t *testing.T) {
	tests := []struct {
		desc    string
		results []Result
		down    bool
	}{
		{"tcp failures", []Result{{Err: fmt.Errorf("dial: refused")}, {Err: fmt.Errorf("dial: refused")}}, true},
		{"timeouts", []Result{{Err: context.DeadlineExceeded, Timeout: true}, {Timeout: true}}, true},
		{"one of each is not enough", []Result{{Err: fmt.Errorf("x")}, {Timeout: true}, {Status: 500}}, false},
		{"success resets", []Result{{Status: 500}, {Status: 500}, {Status: 200}, {Status: 500}, {Status: 500}}, false},
		{"status in neither list is ignored", []Result{{Status: 500}, {Status: 500}, {Status: 418}, {Status: 500}}, true},
		{"client cancellation is ignored", []Result{{Err: context.Canceled}, {Err: context.Canceled}, {Err: context.Canceled}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			u := mustCompile(t, m, "k", conf(t, `{"nodes":{"a.test:1":1,"b.test:1":1},%s}`, passiveOnly500))
			n := u.Nodes()[0]
			for _, r := range tc.results {
				report(u, n, r)
			}
			if down := !u.Healthy(n); down != tc.down {
				t.Fatalf("down=%v, want %v", down, tc.down)
			}
		})
	}
}

func TestPassiveRecoversBySuccesses(t *testing.T) {
	m := newTestManager(t)
	u := mustCompile(t, m, "k", decode(t, `{"nodes":{"a.test:1":1,"b.test:1":1},"checks":{"active":{"healthy":{"interval":3600},"unhealthy":{"interval":3600}},
		"passive":{"healthy":{"successes":2},"unhealthy":{"http_failures":1}}}}`))
	n := u.Nodes()[0]
	report(u, n, Result{Status: 500})
	if u.Healthy(n) {
		t.Fatal("not ejected")
	}
	report(u, n, Result{Status: 200})
	report(u, n, Result{Status: 204})
	if !u.Healthy(n) {
		t.Fatal("not recovered after 2 successes")
	}
}

func TestPassiveOnlyCoolDown(t *testing.T) {
	const coolDown = 150 * time.Millisecond
	m := newTestManager(t, WithPassiveCoolDown(coolDown))
	u := mustCompile(t, m, "k", decode(t, `{"nodes":{"a.test:1":1,"b.test:1":1},"checks":{"passive":{"unhealthy":{"http_failures":1}}}}`))
	n := u.Nodes()[0]
	start := time.Now()
	report(u, n, Result{Status: 500})
	if u.Healthy(n) {
		t.Fatal("not ejected")
	}
	took := waitFor(t, 5*time.Second, "cool-down", func() bool { return u.Healthy(n) })
	if d := time.Since(start); d < coolDown {
		t.Fatalf("back after %v, before the cool-down %v", d, coolDown)
	}
	t.Logf("back after %v", took)
}

func TestHealthKeptAcrossCompile(t *testing.T) {
	a, b := newToggle(t), newToggle(t)
	a.status.Store(500)
	checks := `"checks":{"active":{"healthy":{"interval":0.05},"unhealthy":{"interval":0.05,"http_failures":1}}}`
	m := newTestManager(t)
	u1 := mustCompile(t, m, "upstreams/1", conf(t, `{"nodes":{%q:1,%q:1},%s}`, a.addr(), b.addr(), checks))
	waitFor(t, 5*time.Second, "ejected", func() bool { return !u1.Healthy(nodeByAddr(u1, a.addr())) })
	chk := m.entries["upstreams/1"].checker

	// in-flight count carried over too
	n, done, _ := u1.Pick(-1, nil, nil)

	tests := []struct {
		desc        string
		conf        string
		wantDown    bool
		sameChecker bool
	}{
		{"same config", fmt.Sprintf(`{"nodes":{%q:1,%q:1},%s}`, a.addr(), b.addr(), checks), true, true},
		{"other fields changed", fmt.Sprintf(`{"retries":5,"nodes":{%q:1,%q:1},%s}`, a.addr(), b.addr(), checks), true, true},
		{"node added", fmt.Sprintf(`{"nodes":{%q:1,%q:1,"127.0.0.1:1":1},%s}`, a.addr(), b.addr(), checks), true, true},
		{"weights changed", fmt.Sprintf(`{"nodes":{%q:5,%q:1},%s}`, a.addr(), b.addr(), checks), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			u2 := mustCompile(t, m, "upstreams/1", decode(t, tc.conf))
			if down := !u2.Healthy(nodeByAddr(u2, a.addr())); down != tc.wantDown {
				t.Fatalf("down=%v, want %v", down, tc.wantDown)
			}
			if same := m.entries["upstreams/1"].checker == chk; same != tc.sameChecker {
				t.Fatalf("same checker=%v, want %v", same, tc.sameChecker)
			}
			active := 0
			for _, s := range u2.Status() {
				if s.Addr == n.Addr {
					active = s.Active
				}
			}
			if active != 1 {
				t.Fatalf("in-flight count of %s is %d, want 1", n.Addr, active)
			}
		})
	}
	done(Result{Status: 200})

	// another key with the same nodes has its own state
	other := mustCompile(t, m, "upstreams/2", conf(t, `{"nodes":{%q:1,%q:1}}`, a.addr(), b.addr()))
	if !other.Healthy(nodeByAddr(other, a.addr())) {
		t.Fatal("health leaked across keys")
	}

	// checks changed: health starts over, checker restarted
	u3 := mustCompile(t, m, "upstreams/1", conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{"healthy":{"interval":3600},"unhealthy":{"interval":3600,"http_failures":1}}}}`, a.addr(), b.addr()))
	if !u3.Healthy(nodeByAddr(u3, a.addr())) {
		t.Fatal("health not reset by a checks change")
	}
	if m.entries["upstreams/1"].checker == chk {
		t.Fatal("checker not restarted")
	}
	// checks removed: no checker, everything healthy
	u4 := mustCompile(t, m, "upstreams/1", conf(t, `{"nodes":{%q:1,%q:1}}`, a.addr(), b.addr()))
	if m.entries["upstreams/1"].checker != nil || !u4.Healthy(u4.Nodes()[0]) {
		t.Fatal("checker kept after checks were removed")
	}
}

func TestEWMAKeptAcrossCompile(t *testing.T) {
	m := newTestManager(t)
	c := `{"type":"ewma","nodes":{"a.test:1":1,"b.test:1":1}}`
	u1 := mustCompile(t, m, "k", decode(t, c))
	report(u1, u1.Nodes()[0], Result{Status: 200, Latency: 500 * time.Millisecond})
	report(u1, u1.Nodes()[1], Result{Status: 200, Latency: time.Millisecond})
	u2 := mustCompile(t, m, "k", decode(t, c))
	for range 20 {
		n, done, _ := u2.Pick(-1, nil, nil)
		done(Result{Status: 200, Latency: time.Millisecond})
		if n.Addr != "b.test:1" {
			t.Fatalf("picked %s: scores not carried over", n.Addr)
		}
	}
}
