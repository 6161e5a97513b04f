package upstream

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func checkerRunning(m *Manager, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	return e != nil && e.checker != nil
}

func TestRetainStopsCheckers(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	a, b := newToggle(t), newToggle(t)
	m := NewManager(nil)
	t.Cleanup(m.Close)
	checks := `"checks":{"active":{"healthy":{"interval":0.02},"unhealthy":{"interval":0.02}}}`
	keys := []string{"upstreams/1", "upstreams/2", "routes/3"}
	ups := map[string]*Upstream{}
	for _, k := range keys {
		ups[k] = mustCompile(t, m, k, conf(t, `{"nodes":{%q:1,%q:1},%s}`, a.addr(), b.addr(), checks))
	}
	// use the pools so there are idle connections to close
	for _, u := range ups {
		if _, _, err := do(t, u, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "probes", func() bool { return a.hits.Load() > 6 })

	m.Retain(map[string]struct{}{"upstreams/1": {}})
	if !checkerRunning(m, "upstreams/1") {
		t.Fatal("kept key lost its checker")
	}
	for _, k := range keys[1:] {
		if checkerRunning(m, k) {
			t.Fatalf("%s: checker still running", k)
		}
	}
	// the kept checker still probes
	before := a.hits.Load()
	waitFor(t, 5*time.Second, "kept checker probes", func() bool { return a.hits.Load() > before+2 })

	// a dropped key compiled again starts afresh
	u := mustCompile(t, m, "routes/3", conf(t, `{"nodes":{%q:1,%q:1},%s}`, a.addr(), b.addr(), checks))
	if !checkerRunning(m, "routes/3") || !u.Healthy(u.Nodes()[0]) {
		t.Fatal("recompiled key has no checker")
	}

	m.Retain(nil)
	for _, k := range keys {
		if checkerRunning(m, k) {
			t.Fatalf("%s: checker still running after Retain(nil)", k)
		}
	}
	for _, u := range ups {
		u.Transport().CloseIdleConnections()
	}
	a.Close()
	b.Close()
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines left after Retain: %v", err)
	}
	m.Close()
}

func TestCloseStopsEverything(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	a, b := newToggle(t), newToggle(t)
	m := NewManager(nil)
	t.Cleanup(m.Close)
	for i := range 20 {
		typ := "http"
		if i%2 == 1 {
			typ = "tcp"
		}
		mustCompile(t, m, fmt.Sprintf("upstreams/%d", i), conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{"type":%q,"healthy":{"interval":0.01},"unhealthy":{"interval":0.01}}}}`, a.addr(), b.addr(), typ))
	}
	time.Sleep(50 * time.Millisecond)
	if n := runtime.NumGoroutine(); n < 20 {
		t.Fatalf("only %d goroutines: checkers not started?", n)
	}
	m.Close()
	m.Close() // idempotent
	a.Close()
	b.Close()
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines left after Close: %v", err)
	}
}

func TestCheckerStopsMidProbe(t *testing.T) {
	// a probe blocked on a hanging server must not hold Close up for its
	// whole timeout
	ignore := goleak.IgnoreCurrent()
	hang := newBackend(t)
	hang.block = make(chan struct{})
	other := newBackend(t)
	m := NewManager(nil)
	t.Cleanup(m.Close)
	mustCompile(t, m, "k", conf(t, `{"nodes":{%q:1,%q:1},"checks":{"active":{"timeout":30,"healthy":{"interval":0.01},"unhealthy":{"interval":0.01}}}}`, hang.addr(), other.addr()))
	waitFor(t, 5*time.Second, "probe hangs", func() bool { return hang.hits.Load() > 0 })
	start := time.Now()
	m.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	close(hang.block)
	hang.Close()
	other.Close()
	if err := goleak.Find(ignore); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUse compiles, picks, reports and retains from several
// goroutines at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	a, b := newToggle(t), newToggle(t)
	m := newTestManager(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var cur sync.Map
	for _, typ := range balancerTypes {
		key := "upstreams/" + typ
		u := mustCompile(t, m, key, conf(t, `{%s"nodes":{%q:1,%q:2},"checks":{"active":{"healthy":{"interval":0.01},"unhealthy":{"interval":0.01}},"passive":{"unhealthy":{"http_failures":2}}}}`, typeConf(typ), a.addr(), b.addr()))
		cur.Store(key, u)
		for w := range 3 {
			wg.Go(func() {
				i := 0
				for {
					select {
					case <-stop:
						return
					default:
					}
					v, _ := cur.Load(key)
					u := v.(*Upstream)
					n, done, err := u.Pick(-1, reqFor(i), nil)
					if err != nil {
						t.Error(err)
						return
					}
					st := 200
					if (i+w)%7 == 0 {
						st = 500
					}
					_ = u.Healthy(n)
					_ = u.Status()
					done(Result{Status: st, Latency: time.Duration(i%5) * time.Millisecond})
					i++
				}
			})
		}
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u, err := m.Compile(key, conf(t, `{%s"retries":%d,"nodes":{%q:1,%q:2},"checks":{"active":{"healthy":{"interval":0.01},"unhealthy":{"interval":0.01}},"passive":{"unhealthy":{"http_failures":2}}}}`, typeConf(typ), i%3, a.addr(), b.addr()))
				if err != nil {
					t.Error(err)
					return
				}
				cur.Store(key, u)
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		keep := map[string]struct{}{}
		for _, typ := range balancerTypes {
			keep["upstreams/"+typ] = struct{}{}
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			m.Retain(keep)
			time.Sleep(2 * time.Millisecond)
		}
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	cur.Range(func(_, v any) bool {
		for _, s := range v.(*Upstream).Status() {
			if s.Active != 0 {
				t.Errorf("%s: %d in flight after all done", s.Addr, s.Active)
			}
		}
		return true
	})
}
