package upstream

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

var balancerTypes = []string{TypeRoundRobin, TypeCHash, TypeLeastConn, TypeEWMA}

// typeConf returns the extra fields a balancer type needs.
func typeConf(typ string) string {
	if typ == TypeCHash {
		return `"type":"chash","hash_on":"vars","key":"uri",`
	}
	return `"type":"` + typ + `",`
}

func reqFor(i int) *input {
	return &input{vars: map[string]string{"uri": fmt.Sprintf("/p/%d", i), "remote_addr": "10.0.0.1"}}
}

// TestBalancerContract runs the same rules against every balancer.
func TestBalancerContract(t *testing.T) {
	type tcase struct {
		desc  string
		nodes string
		// checks adds passive checks that eject after one 500
		checks bool
		run    func(t *testing.T, u *Upstream)
	}
	passive := `"checks":{"active":{"healthy":{"interval":3600},"unhealthy":{"interval":3600}},"passive":{"unhealthy":{"http_statuses":[500],"http_failures":1}}},`
	cases := []tcase{
		{
			desc:  "only configured nodes",
			nodes: `{"a.test:1":1,"b.test:1":2,"c.test:1":3}`,
			run: func(t *testing.T, u *Upstream) {
				for i := range 300 {
					n, done, err := u.Pick(-1, reqFor(i), nil)
					if err != nil {
						t.Fatal(err)
					}
					if nodeByAddr(u, n.Addr) != n {
						t.Fatalf("picked foreign node %v", n.Addr)
					}
					done(Result{Status: 200, Latency: time.Millisecond})
				}
			},
		},
		{
			desc:  "tried nodes are skipped, then all tried",
			nodes: `{"a.test:1":1,"b.test:1":1,"c.test:1":1}`,
			run: func(t *testing.T, u *Upstream) {
				for i := range 20 {
					var tried []*Node
					seen := map[string]bool{}
					for range 3 {
						n, done, err := u.Pick(-1, reqFor(i), tried)
						if err != nil {
							t.Fatalf("pick with %d tried: %v", len(tried), err)
						}
						if seen[n.Addr] {
							t.Fatalf("picked %s twice", n.Addr)
						}
						seen[n.Addr] = true
						done(Result{Err: errors.New("connection refused")})
						tried = append(tried, n)
					}
					if _, _, err := u.Pick(-1, reqFor(i), tried); !errors.Is(err, ErrAllTried) {
						t.Fatalf("after all tried: %v, want ErrAllTried", err)
					}
				}
			},
		},
		{
			desc:  "lower priority only when higher ones are tried",
			nodes: `[{"host":"a.test","port":1,"weight":1,"priority":1},{"host":"b.test","port":1,"weight":1,"priority":1},{"host":"c.test","port":1,"weight":1,"priority":0},{"host":"d.test","port":1,"weight":1,"priority":-5}]`,
			run: func(t *testing.T, u *Upstream) {
				for i := range 50 {
					n, done, _ := u.Pick(-1, reqFor(i), nil)
					done(Result{Status: 200})
					if n.Priority != 1 {
						t.Fatalf("picked %s (priority %d) while priority 1 is available", n.Addr, n.Priority)
					}
				}
				nodes := u.Nodes()
				n, done, err := u.Pick(-1, reqFor(0), []*Node{nodes[0], nodes[1]})
				if err != nil || n.Addr != "c.test:1" {
					t.Fatalf("after priority 1 tried: %v %v, want c.test:1", n, err)
				}
				done(Result{})
				n, done, err = u.Pick(-1, reqFor(0), []*Node{nodes[0], nodes[1], nodes[2]})
				if err != nil || n.Addr != "d.test:1" {
					t.Fatalf("after priority 0 tried: %v %v, want d.test:1", n, err)
				}
				done(Result{})
			},
		},
		{
			desc:   "lower priority when higher ones are unhealthy",
			checks: true,
			nodes:  `[{"host":"a.test","port":1,"weight":1,"priority":1},{"host":"b.test","port":1,"weight":1,"priority":1},{"host":"c.test","port":1,"weight":1,"priority":0}]`,
			run: func(t *testing.T, u *Upstream) {
				nodes := u.Nodes()
				report(u, nodes[0], Result{Status: 500})
				report(u, nodes[1], Result{Status: 500})
				for i := range 30 {
					n, done, err := u.Pick(-1, reqFor(i), nil)
					if err != nil || n.Addr != "c.test:1" {
						t.Fatalf("got %v %v, want c.test:1", n, err)
					}
					done(Result{Status: 200})
				}
			},
		},
		{
			desc:   "unhealthy nodes are skipped",
			checks: true,
			nodes:  `{"a.test:1":1,"b.test:1":1,"c.test:1":1}`,
			run: func(t *testing.T, u *Upstream) {
				bad := nodeByAddr(u, "b.test:1")
				report(u, bad, Result{Status: 500})
				if u.Healthy(bad) {
					t.Fatal("b still healthy")
				}
				for i := range 100 {
					n, done, _ := u.Pick(-1, reqFor(i), nil)
					done(Result{Status: 200})
					if n == bad {
						t.Fatal("picked the unhealthy node")
					}
				}
			},
		},
		{
			desc:   "healthy nodes tried: unhealthy ones are not used for retries",
			checks: true,
			nodes:  `{"a.test:1":1,"b.test:1":1,"c.test:1":1}`,
			run: func(t *testing.T, u *Upstream) {
				report(u, nodeByAddr(u, "b.test:1"), Result{Status: 500})
				report(u, nodeByAddr(u, "c.test:1"), Result{Status: 500})
				a := nodeByAddr(u, "a.test:1")
				if _, _, err := u.Pick(-1, reqFor(0), []*Node{a}); !errors.Is(err, ErrAllTried) {
					t.Fatalf("got %v, want ErrAllTried", err)
				}
			},
		},
		{
			desc:   "all unhealthy: every node is still tried",
			checks: true,
			nodes:  `{"a.test:1":1,"b.test:1":1,"c.test:1":1}`,
			run: func(t *testing.T, u *Upstream) {
				for _, n := range u.Nodes() {
					report(u, n, Result{Status: 500})
				}
				for i := range 10 {
					var tried []*Node
					for range 3 {
						n, done, err := u.Pick(-1, reqFor(i), tried)
						if err != nil {
							t.Fatalf("all unhealthy, %d tried: %v", len(tried), err)
						}
						done(Result{Status: 500})
						tried = append(tried, n)
					}
					if _, _, err := u.Pick(-1, reqFor(i), tried); !errors.Is(err, ErrAllTried) {
						t.Fatalf("got %v, want ErrAllTried", err)
					}
				}
			},
		},
		{
			desc:  "weight 0 is never picked",
			nodes: `{"a.test:1":0,"b.test:1":1,"c.test:1":0}`,
			run: func(t *testing.T, u *Upstream) {
				for i := range 100 {
					n, done, _ := u.Pick(-1, reqFor(i), nil)
					done(Result{Status: 200})
					if n.Addr != "b.test:1" {
						t.Fatalf("picked %s of weight 0", n.Addr)
					}
				}
				b := nodeByAddr(u, "b.test:1")
				if _, _, err := u.Pick(-1, reqFor(0), []*Node{b}); !errors.Is(err, ErrAllTried) {
					t.Fatalf("got %v, want ErrAllTried", err)
				}
			},
		},
		{
			desc:  "all weights 0: all used",
			nodes: `{"a.test:1":0,"b.test:1":0}`,
			run: func(t *testing.T, u *Upstream) {
				seen := map[string]bool{}
				for i := range 200 {
					n, done, _ := u.Pick(-1, reqFor(i), nil)
					done(Result{Status: 200})
					seen[n.Addr] = true
				}
				if len(seen) != 2 {
					t.Fatalf("saw %v", seen)
				}
			},
		},
		{
			desc:   "single node is always returned",
			checks: true,
			nodes:  `{"a.test:1":1}`,
			run: func(t *testing.T, u *Upstream) {
				a := u.Nodes()[0]
				report(u, a, Result{Status: 500})
				n, done, err := u.Pick(-1, reqFor(0), []*Node{a})
				if err != nil || n != a {
					t.Fatalf("got %v %v", n, err)
				}
				done(Result{Status: 200})
			},
		},
		{
			desc:  "no nodes",
			nodes: `{}`,
			run: func(t *testing.T, u *Upstream) {
				if _, _, err := u.Pick(-1, reqFor(0), nil); !errors.Is(err, ErrNoNodes) {
					t.Fatalf("got %v, want ErrNoNodes", err)
				}
			},
		},
		{
			desc:  "done releases the in-flight count",
			nodes: `{"a.test:1":1,"b.test:1":1}`,
			run: func(t *testing.T, u *Upstream) {
				var dones []Done
				for i := range 10 {
					_, done, _ := u.Pick(-1, reqFor(i), nil)
					dones = append(dones, done)
				}
				total := 0
				for _, s := range u.Status() {
					total += s.Active
				}
				if total != 10 {
					t.Fatalf("active %d, want 10", total)
				}
				for _, d := range dones {
					d(Result{Status: 200})
				}
				for _, s := range u.Status() {
					if s.Active != 0 {
						t.Fatalf("active %d after done", s.Active)
					}
				}
			},
		},
	}
	for _, typ := range balancerTypes {
		for _, tc := range cases {
			t.Run(typ+"/"+tc.desc, func(t *testing.T) {
				m := newTestManager(t)
				checks := ""
				if tc.checks {
					checks = passive
				}
				u := mustCompile(t, m, "upstreams/c", conf(t, `{%s%s"nodes":%s}`, typeConf(typ), checks, tc.nodes))
				tc.run(t, u)
			})
		}
	}
}

func TestRoundRobinExactWeights(t *testing.T) {
	tests := []struct {
		desc  string
		nodes string
		picks int
		want  map[string]int
	}{
		{"1:2:3", `{"a.test:1":1,"b.test:1":2,"c.test:1":3}`, 6000, map[string]int{"a.test:1": 1000, "b.test:1": 2000, "c.test:1": 3000}},
		{"equal", `{"a.test:1":1,"b.test:1":1}`, 1000, map[string]int{"a.test:1": 500, "b.test:1": 500}},
		{"100:1", `{"a.test:1":100,"b.test:1":1}`, 1010, map[string]int{"a.test:1": 1000, "b.test:1": 10}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			u := mustCompile(t, m, "k", conf(t, `{"nodes":%s}`, tc.nodes))
			got := map[string]int{}
			for range tc.picks {
				n, done, err := u.Pick(-1, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				done(Result{Status: 200})
				got[n.Addr]++
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %d picks, want %d (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestRoundRobinIsSmooth(t *testing.T) {
	// nginx: weights 5,1,1 → a a b a c a a, not a a a a a b c
	m := newTestManager(t)
	u := mustCompile(t, m, "k", decode(t, `{"nodes":[{"host":"a","port":1,"weight":5},{"host":"b","port":1,"weight":1},{"host":"c","port":1,"weight":1}]}`))
	var seq []string
	for range 7 {
		n, done, _ := u.Pick(-1, nil, nil)
		done(Result{})
		seq = append(seq, n.Host)
	}
	if got := strings.Join(seq, " "); got != "a a b a c a a" {
		t.Fatalf("sequence %q", got)
	}
}

func TestRoundRobinRealServers(t *testing.T) {
	b1, b2 := newBackend(t), newBackend(t)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:3}}`, b1.addr(), b2.addr()))
	for range 400 {
		if _, st, err := do(t, u, nil, nil); err != nil || st != 200 {
			t.Fatalf("request: %d %v", st, err)
		}
	}
	if b1.hits.Load() != 100 || b2.hits.Load() != 300 {
		t.Fatalf("hits %d/%d, want 100/300", b1.hits.Load(), b2.hits.Load())
	}
	u.Transport().CloseIdleConnections()
}

func TestCHashKeys(t *testing.T) {
	tests := []struct {
		desc     string
		hashOn   string
		key      string
		in1, in2 *input // same key → same node
		other    *input // a different key
	}{
		{
			desc: "vars uri", hashOn: "vars", key: "uri",
			in1: &input{vars: map[string]string{"uri": "/a", "remote_addr": "1.1.1.1"}},
			in2: &input{vars: map[string]string{"uri": "/a", "remote_addr": "2.2.2.2"}},
		},
		{
			desc: "vars arg", hashOn: "vars", key: "arg_user",
			in1: &input{vars: map[string]string{"arg_user": "bob", "remote_addr": "1.1.1.1"}},
			in2: &input{vars: map[string]string{"arg_user": "bob", "remote_addr": "3.3.3.3"}},
		},
		{
			desc: "header", hashOn: "header", key: "X-User",
			in1: &input{headers: map[string]string{"X-User": "u1"}, vars: map[string]string{"remote_addr": "1.1.1.1"}},
			in2: &input{headers: map[string]string{"X-User": "u1"}, vars: map[string]string{"remote_addr": "9.9.9.9"}},
		},
		{
			desc: "cookie", hashOn: "cookie", key: "sid",
			in1: &input{cookies: map[string]string{"sid": "abc"}},
			in2: &input{cookies: map[string]string{"sid": "abc"}, vars: map[string]string{"remote_addr": "9.9.9.9"}},
		},
		{
			desc: "consumer", hashOn: "consumer",
			in1: &input{consumer: "jack"},
			in2: &input{consumer: "jack", vars: map[string]string{"remote_addr": "9.9.9.9"}},
		},
		{
			desc: "vars_combinations", hashOn: "vars_combinations", key: "$host$uri",
			in1: &input{vars: map[string]string{"host": "h", "uri": "/x", "remote_addr": "1.1.1.1"}},
			in2: &input{vars: map[string]string{"host": "h", "uri": "/x", "remote_addr": "2.2.2.2"}},
		},
		{
			desc: "missing key falls back to remote_addr", hashOn: "header", key: "X-None",
			in1: &input{vars: map[string]string{"remote_addr": "5.5.5.5", "uri": "/1"}},
			in2: &input{vars: map[string]string{"remote_addr": "5.5.5.5", "uri": "/2"}},
		},
	}
	nodes := `{"a.test:1":1,"b.test:1":1,"c.test:1":1,"d.test:1":1,"e.test:1":1}`
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			u := mustCompile(t, m, "k", conf(t, `{"type":"chash","hash_on":%q,"key":%q,"nodes":%s}`, tc.hashOn, tc.key, nodes))
			pick := func(in *input) string {
				n, done, err := u.Pick(-1, in, nil)
				if err != nil {
					t.Fatal(err)
				}
				done(Result{Status: 200})
				return n.Addr
			}
			first := pick(tc.in1)
			for range 20 {
				if got := pick(tc.in1); got != first {
					t.Fatalf("same input moved from %s to %s", first, got)
				}
			}
			if got := pick(tc.in2); got != first {
				t.Fatalf("same key, other request: %s, want %s", got, first)
			}
		})
	}
}

// chashMap maps n keys to nodes.
func chashMap(t *testing.T, u *Upstream, n int) map[string]string {
	t.Helper()
	out := make(map[string]string, n)
	for i := range n {
		in := reqFor(i)
		node, done, err := u.Pick(-1, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		done(Result{Status: 200})
		out[in.vars["uri"]] = node.Addr
	}
	return out
}

func TestCHashMinimalDisruption(t *testing.T) {
	const keys = 10000
	var addrs []string
	for i := range 10 {
		addrs = append(addrs, fmt.Sprintf("10.0.0.%d:80", i+1))
	}
	nodesJSON := func(list []string) string {
		var parts []string
		for _, a := range list {
			parts = append(parts, fmt.Sprintf("%q:1", a))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	m := newTestManager(t)
	u1 := mustCompile(t, m, "k", conf(t, `{"type":"chash","key":"uri","nodes":%s}`, nodesJSON(addrs)))
	before := chashMap(t, u1, keys)

	// balance: every node owns a fair share (10% ± 4%)
	count := map[string]int{}
	for _, a := range before {
		count[a]++
	}
	for _, a := range addrs {
		if c := count[a]; math.Abs(float64(c)/keys-0.1) > 0.04 {
			t.Errorf("node %s owns %d of %d keys", a, c, keys)
		}
	}

	// remove one node: only its keys move
	removed := addrs[3]
	u2 := mustCompile(t, m, "k", conf(t, `{"type":"chash","key":"uri","nodes":%s}`, nodesJSON(append(append([]string{}, addrs[:3]...), addrs[4:]...))))
	after := chashMap(t, u2, keys)
	moved := 0
	for k, a := range before {
		if a == removed {
			if after[k] == removed {
				t.Fatalf("key %s still on the removed node", k)
			}
			continue
		}
		if after[k] != a {
			moved++
		}
	}
	if moved != 0 {
		t.Errorf("%d keys of remaining nodes moved", moved)
	}

	// an unhealthy node: only its keys move, and they come back
	u3 := mustCompile(t, m, "k2", conf(t, `{"type":"chash","key":"uri","checks":{"active":{"healthy":{"interval":3600},"unhealthy":{"interval":3600}},"passive":{"unhealthy":{"http_statuses":[500],"http_failures":1}}},"nodes":%s}`, nodesJSON(addrs)))
	base := chashMap(t, u3, keys)
	for k, a := range base {
		if before[k] != a {
			t.Fatalf("same nodes, other key: mapping differs for %s", k)
		}
	}
	report(u3, nodeByAddr(u3, removed), Result{Status: 500})
	down := chashMap(t, u3, keys)
	for k, a := range base {
		if a != removed && down[k] != a {
			t.Fatalf("key %s moved from healthy node %s to %s", k, a, down[k])
		}
		if a == removed && down[k] == removed {
			t.Fatalf("key %s still on the unhealthy node", k)
		}
	}
}

func TestCHashWeights(t *testing.T) {
	m := newTestManager(t)
	u := mustCompile(t, m, "k", decode(t, `{"type":"chash","key":"uri","nodes":{"a.test:1":1,"b.test:1":3}}`))
	count := map[string]int{}
	for _, a := range chashMap(t, u, 20000) {
		count[a]++
	}
	share := float64(count["b.test:1"]) / 20000
	if share < 0.68 || share > 0.82 {
		t.Fatalf("weight 3 of 4 got %.2f of the keys", share)
	}
}

func TestCHashRetryWalksTheRing(t *testing.T) {
	m := newTestManager(t)
	u := mustCompile(t, m, "k", decode(t, `{"type":"chash","key":"uri","nodes":{"a.test:1":1,"b.test:1":1,"c.test:1":1}}`))
	in := reqFor(7)
	first, d, _ := u.Pick(-1, in, nil)
	d(Result{})
	second, d, _ := u.Pick(-1, in, []*Node{first})
	d(Result{})
	// the retry target is stable too
	for range 10 {
		n, d, _ := u.Pick(-1, in, []*Node{first})
		d(Result{})
		if n != second {
			t.Fatalf("retry target moved: %s then %s", second.Addr, n.Addr)
		}
	}
}

func TestLeastConnPrefersIdle(t *testing.T) {
	tests := []struct {
		desc       string
		wSlow      int
		wFast      int
		wantOnFast bool
	}{
		{"equal weights: idle node", 1, 1, true},
		// busy node of weight 3 with 1 active: (1+1)/3 < (0+1)/1
		{"heavy node still preferred", 3, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			slow, fast := newBackend(t), newBackend(t)
			slow.block = make(chan struct{})
			m := newTestManager(t)
			u := mustCompile(t, m, "k", conf(t, `{"type":"least_conn","nodes":{%q:%d,%q:%d}}`,
				slow.addr(), tc.wSlow, fast.addr(), tc.wFast))
			// park one real request on the slow node
			var wg sync.WaitGroup
			parked := false
			for range 10 {
				n, done, _ := u.Pick(-1, nil, nil)
				if n.Addr != slow.addr() {
					done(Result{Status: 200})
					continue
				}
				wg.Go(func() {
					req := fmt.Sprintf("http://%s/", n.Addr)
					resp, err := u.Transport().RoundTrip(mustReq(t, req))
					if err == nil {
						_ = resp.Body.Close()
					}
					done(Result{Status: 200})
				})
				parked = true
				break
			}
			if !parked {
				t.Fatal("least_conn never picked the slow node")
			}
			waitFor(t, 5*time.Second, "slow request arrives", func() bool { return slow.hits.Load() == 1 })
			onFast := 0
			for range 20 {
				n, st, err := doNonBlocking(t, u, slow.addr())
				if err != nil || st != 200 {
					t.Fatalf("request: %d %v", st, err)
				}
				if n.Addr == fast.addr() {
					onFast++
				}
			}
			close(slow.block)
			wg.Wait()
			if tc.wantOnFast && onFast != 20 {
				t.Errorf("%d/20 requests on the idle node", onFast)
			}
			if !tc.wantOnFast && onFast != 0 {
				t.Errorf("%d/20 requests on the light node, want the heavy one", onFast)
			}
			u.Transport().CloseIdleConnections()
		})
	}
}

// doNonBlocking picks and, if the node is the blocked one, reports success
// without sending (the node choice is what is being tested).
func doNonBlocking(t *testing.T, u *Upstream, blocked string) (*Node, int, error) {
	n, done, err := u.Pick(-1, nil, nil)
	if err != nil {
		return nil, 0, err
	}
	if n.Addr == blocked {
		done(Result{Status: 200})
		return n, 200, nil
	}
	resp, err := u.Transport().RoundTrip(mustReq(t, "http://"+n.Addr+"/"))
	if err != nil {
		done(Result{Err: err})
		return n, 0, err
	}
	_ = resp.Body.Close()
	done(Result{Status: resp.StatusCode})
	return n, resp.StatusCode, nil
}

func TestEWMAPrefersFastNode(t *testing.T) {
	fast, slow := newBackend(t), newBackend(t)
	slow.delay.Store(int64(60 * time.Millisecond))
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"type":"ewma","nodes":{%q:1,%q:1}}`, fast.addr(), slow.addr()))
	start := time.Now()
	onFast := 0
	const n = 50
	for range n {
		node, st, err := do(t, u, nil, nil)
		if err != nil || st != 200 {
			t.Fatalf("request: %d %v", st, err)
		}
		if node.Addr == fast.addr() {
			onFast++
		}
	}
	// unmeasured nodes are tried first, and a scheduling hiccup on the fast
	// node can send a few requests away; most must go to the fast one
	if onFast < n*8/10 {
		t.Errorf("%d/%d on the fast node", onFast, n)
	}
	t.Logf("%d/%d on the fast node", onFast, n)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	u.Transport().CloseIdleConnections()
}

func TestEWMAPenalisesFailures(t *testing.T) {
	good := newBackend(t)
	dead := closedAddr(t)
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"type":"ewma","nodes":{%q:1,%q:1}}`, good.addr(), dead))
	failures := 0
	for range 40 {
		_, _, err := do(t, u, nil, nil)
		if err != nil {
			failures++
		}
	}
	if failures > 2 {
		t.Errorf("%d attempts went to the dead node", failures)
	}
	u.Transport().CloseIdleConnections()
}
