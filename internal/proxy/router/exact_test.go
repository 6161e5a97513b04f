package router

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestExactMapModel drives exactMap with random batches of inserts and
// deletes, through every re-split up to maxShards, and compares each
// published version with a plain map; every earlier version must still
// read as it did when it was published.
func TestExactMapModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type version struct {
		m     *exactMap
		model map[string]int
	}
	cur, model := emptyExact, map[string]int{}
	var versions []version
	val := func(i int) []*entry { return []*entry{{uri: fmt.Sprint(i)}} }
	check := func(v version, full bool) {
		t.Helper()
		if v.m.Len() != len(v.model) {
			t.Fatalf("len %d, model %d", v.m.Len(), len(v.model))
		}
		n := 0
		for k, i := range v.model {
			if n++; !full && n > 200 {
				break
			}
			es, ok := v.m.get(k)
			if !ok || len(es) != 1 || es[0].uri != fmt.Sprint(i) {
				t.Fatalf("get %q = %v %v, want %d", k, es, ok, i)
			}
		}
		if !full {
			return
		}
		seen := 0
		v.m.walk(func(k string, es []*entry) {
			seen++
			if _, ok := v.model[k]; !ok {
				t.Fatalf("walk found %q, not in the model", k)
			}
		})
		if seen != len(v.model) {
			t.Fatalf("walk saw %d, want %d", seen, len(v.model))
		}
		for range 20 {
			k := fmt.Sprintf("/p/%d", rng.IntN(60000))
			if _, ok := v.model[k]; !ok {
				if _, found := v.m.get(k); found {
					t.Fatalf("get %q found a deleted or never inserted path", k)
				}
			}
		}
	}
	for batch := 0; batch < 400; batch++ {
		tx := cur.txn()
		next := maps.Clone(model)
		// Mostly growth (to pass every re-split), with deletes and
		// replacements mixed in.
		for range rng.IntN(200) + 1 {
			k := fmt.Sprintf("/p/%d", rng.IntN(60000))
			switch r := rng.IntN(10); {
			case r < 7:
				i := rng.Int()
				tx.insert(k, val(i))
				next[k] = i
			default:
				tx.del(k)
				delete(next, k)
			}
		}
		cur, model = tx.commit(), next
		versions = append(versions, version{cur, model})
		check(versions[len(versions)-1], batch%50 == 0)
	}
	if len(cur.shards) != maxShards {
		t.Errorf("%d paths in %d shards, want %d", cur.Len(), len(cur.shards), maxShards)
	}
	for i, v := range versions {
		check(v, i%40 == 0 || i == len(versions)-1)
	}
}

// TestExactRouterModel: a router fed random exact-path routes over a few
// hosts (adds, replacements, removals, priorities) answers every path like
// a brute-force search over the live routes.
func TestExactRouterModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hosts := []string{"", "a.test", "b.test"}
	live := map[string]*Route{}
	r := New()
	for step := 0; step < 300; step++ {
		var up []*Route
		var rm []string
		for range rng.IntN(30) + 1 {
			id := fmt.Sprintf("r%d", rng.IntN(3000))
			if rng.IntN(5) == 0 {
				rm = append(rm, id)
				continue
			}
			rt := &Route{ID: id, Priority: rng.IntN(3), URIs: []string{fmt.Sprintf("/x/%d", rng.IntN(500))}}
			if h := hosts[rng.IntN(len(hosts))]; h != "" {
				rt.Hosts = []string{h}
			}
			up = append(up, rt)
		}
		// With applies removals first, then upserts in order.
		for _, id := range rm {
			delete(live, id)
		}
		dedup := map[string]*Route{}
		for _, rt := range up {
			dedup[rt.ID] = rt
		}
		up = up[:0]
		for _, rt := range dedup {
			live[rt.ID] = rt
			up = append(up, rt)
		}
		var err error
		if r, err = r.With(up, rm); err != nil {
			t.Fatal(err)
		}
		if r.Len() != len(live) {
			t.Fatalf("step %d: len %d, want %d", step, r.Len(), len(live))
		}
		for range 50 {
			path := fmt.Sprintf("/x/%d", rng.IntN(500))
			host := hosts[rng.IntN(len(hosts))]
			want := bruteExact(live, host, path)
			m, ok := r.Match(&Request{Method: "GET", Host: host, Path: path})
			got := ""
			if ok {
				got = m.Route.ID
			}
			if got != want {
				t.Fatalf("step %d: %s%s matched %q, want %q", step, host, path, got, want)
			}
		}
	}
}

// bruteExact: host routes beat host-less ones; then higher priority, then
// the smaller id.
func bruteExact(live map[string]*Route, host, path string) string {
	best := func(hostMatch func(*Route) bool) string {
		var b *Route
		for _, rt := range live {
			if rt.URIs[0] != path || !hostMatch(rt) {
				continue
			}
			if b == nil || rt.Priority > b.Priority || (rt.Priority == b.Priority && rt.ID < b.ID) {
				b = rt
			}
		}
		if b == nil {
			return ""
		}
		return b.ID
	}
	if host != "" {
		if id := best(func(rt *Route) bool { return len(rt.Hosts) == 1 && rt.Hosts[0] == host }); id != "" {
			return id
		}
	}
	return best(func(rt *Route) bool { return len(rt.Hosts) == 0 })
}

// TestRouterConcurrentReaders: readers keep matching on every published
// router while a writer derives new ones from the newest (what the proxy
// and the snapshot loader do). Under -race this fails if a published
// router's tables are ever written; each reader also checks that its
// router still answers as it did when published.
func TestRouterConcurrentReaders(t *testing.T) {
	const paths = 2000
	r := New()
	var routes []*Route
	for i := range paths {
		routes = append(routes, &Route{ID: fmt.Sprint(i), URIs: []string{fmt.Sprintf("/c/%d", i)}})
	}
	r, err := r.With(routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	published := make(chan *Router, 64)
	done := make(chan struct{})
	errs := make(chan error, 8)
	var readers sync.WaitGroup
	for w := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for rt := range published {
				// Route i serves /c/i, or /moved/i once moved: record which.
				want := map[int]string{}
				for range 50 {
					i := rng.IntN(paths)
					if m, ok := rt.Match(&Request{Method: "GET", Path: fmt.Sprintf("/c/%d", i)}); ok {
						want[i] = m.Route.URIs[0]
					} else {
						want[i] = ""
					}
				}
				for range 3 {
					for i, uri := range want {
						m, ok := rt.Match(&Request{Method: "GET", Path: fmt.Sprintf("/c/%d", i)})
						got := ""
						if ok {
							got = m.Route.URIs[0]
						}
						if got != uri {
							errs <- fmt.Errorf("a published router changed: /c/%d %q then %q", i, uri, got)
							return
						}
					}
				}
			}
		}()
	}
	go func() {
		defer close(done)
		defer close(published)
		rng := rand.New(rand.NewPCG(7, 7))
		cur := r
		for step := range 300 {
			i := rng.IntN(paths)
			uri := fmt.Sprintf("/c/%d", i)
			if step%2 == 0 {
				uri = fmt.Sprintf("/moved/%d", i)
			}
			next, err := cur.With([]*Route{{ID: fmt.Sprint(i), URIs: []string{uri}}}, nil)
			if err != nil {
				errs <- err
				return
			}
			cur = next
			published <- cur
		}
	}()
	<-done
	readers.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
