package upstream

import "testing"

// TestInflightAcrossWorkers: the in-flight count is kept in stripes per
// event loop, yet least_conn and the status must see every loop's
// requests, those of loops beyond the stripe count and of callers off
// the loops included.
func TestInflightAcrossWorkers(t *testing.T) {
	m := newTestManager(t)
	u := mustCompile(t, m, "k", conf(t, `{"type":"least_conn","nodes":{"a.test:1":1,"b.test:1":1}}`))
	workers := []int{-1, 0, 1, 2, 7, 8, 100}
	for _, holder := range workers {
		held, release, err := u.Pick(holder, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range workers {
			n, done, err := u.Pick(w, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n == held {
				t.Fatalf("worker %d picked %s, busy with worker %d's request", w, n.Addr, holder)
			}
			done(Result{Status: 200})
		}
		if got := activeOf(u, held.Addr); got != 1 {
			t.Fatalf("worker %d's request: active %d, want 1", holder, got)
		}
		release(Result{Status: 200})
		for _, s := range u.Status() {
			if s.Active != 0 {
				t.Fatalf("%s active %d after every Done", s.Addr, s.Active)
			}
		}
	}
}

func activeOf(u *Upstream, addr string) int {
	for _, s := range u.Status() {
		if s.Addr == addr {
			return s.Active
		}
	}
	return -1
}
