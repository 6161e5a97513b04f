package router_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stargate-edge/stargate/internal/proxy/router"
	"github.com/stargate-edge/stargate/internal/vars"
)

type mapVars map[string]string

func (m mapVars) Var(n string) (string, bool) { v, ok := m[n]; return v, ok }

func rt(id string, uris []string, opts ...func(*router.Route)) *router.Route {
	r := &router.Route{ID: id, URIs: uris}
	for _, o := range opts {
		o(r)
	}
	return r
}

func hosts(h ...string) func(*router.Route) { return func(r *router.Route) { r.Hosts = h } }
func prio(p int) func(*router.Route)        { return func(r *router.Route) { r.Priority = p } }
func methods(ms ...string) func(*router.Route) {
	return func(r *router.Route) {
		for _, m := range ms {
			r.Methods |= router.MethodBit(m)
		}
	}
}
func remote(cidrs ...string) func(*router.Route) {
	return func(r *router.Route) {
		for _, c := range cidrs {
			r.Remote = append(r.Remote, netip.MustParsePrefix(c))
		}
	}
}
func withVars(t *testing.T, raw any) func(*router.Route) {
	e, err := vars.Compile(raw)
	if err != nil {
		t.Fatal(err)
	}
	return func(r *router.Route) { r.Vars = e }
}

func TestMatch(t *testing.T) {
	routes := []*router.Route{
		rt("exact", []string{"/a"}),
		rt("prefix-a", []string{"/a*"}),
		rt("prefix-a-slash", []string{"/a/*"}),
		rt("prefix-a-b", []string{"/a/b/*"}),
		rt("param", []string{"/user/:id/profile"}),
		rt("host-exact", []string{"/h"}, hosts("api.example.com")),
		rt("host-wild", []string{"/h"}, hosts("*.example.com")),
		rt("host-wild-deeper", []string{"/h"}, hosts("*.b.example.com")),
		rt("hostless-h", []string{"/h"}, prio(100)),
		rt("host-only-x", []string{"/x"}, hosts("only.example.com")),
		rt("hostless-y", []string{"/y"}),
		rt("low", []string{"/p"}, prio(1)),
		rt("high", []string{"/p"}, prio(10)),
		rt("get", []string{"/m"}, methods("GET")),
		rt("post", []string{"/m"}, methods("POST", "PURGE")),
		rt("lan", []string{"/r"}, remote("10.0.0.0/8")),
		rt("v6", []string{"/r"}, remote("::1/128")),
		rt("vars", []string{"/v"}, withVars(t, []any{[]any{"arg_name", "==", "json"}})),
		rt("vars-fallback", []string{"/v"}, prio(-1)),
		rt("multi", []string{"/m1", "/m2"}),
		rt("any-host-star", []string{"/star"}, hosts("*")),
		rt("root", []string{"/*"}),
	}
	r, err := router.Build(routes)
	if err != nil {
		t.Fatal(err)
	}
	lan, v6, pub := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("::1"), netip.MustParseAddr("203.0.113.9")
	for _, c := range []struct {
		desc, method, host, path string
		remote                   netip.Addr
		vars                     mapVars
		want                     string
	}{
		{"exact beats prefix", "GET", "", "/a", pub, nil, "exact"},
		{"/a* matches /abc", "GET", "", "/abc", pub, nil, "prefix-a"},
		{"/a/* beats /a*", "GET", "", "/a/x", pub, nil, "prefix-a-slash"},
		{"deeper prefix wins", "GET", "", "/a/b/c", pub, nil, "prefix-a-b"},
		{"/a/* matches /a/", "GET", "", "/a/", pub, nil, "prefix-a-slash"},
		{"param", "GET", "", "/user/42/profile", pub, nil, "param"},
		{"param needs a value", "GET", "", "/user//profile", pub, nil, "root"},
		{"param extra segment", "GET", "", "/user/42/profile/x", pub, nil, "root"},
		{"exact host", "GET", "api.example.com", "/h", pub, nil, "host-exact"},
		{"wildcard host", "GET", "www.example.com", "/h", pub, nil, "host-wild"},
		{"wildcard covers deeper names", "GET", "a.b.c.example.com", "/h", pub, nil, "host-wild"},
		{"deeper wildcard covers deeper names", "GET", "y.z.b.example.com", "/h", pub, nil, "host-wild-deeper"},
		{"longer wildcard wins", "GET", "x.b.example.com", "/h", pub, nil, "host-wild-deeper"},
		{"wildcard does not cover the apex", "GET", "example.com", "/h", pub, nil, "hostless-h"},
		{"host route beats higher-priority hostless", "GET", "api.example.com", "/h", pub, nil, "host-exact"},
		{"host without matching uri falls back", "GET", "only.example.com", "/y", pub, nil, "hostless-y"},
		{"host-only route needs its host", "GET", "other.com", "/x", pub, nil, "root"},
		{"priority", "GET", "", "/p", pub, nil, "high"},
		{"method GET", "GET", "", "/m", pub, nil, "get"},
		{"method POST", "POST", "", "/m", pub, nil, "post"},
		{"method PURGE", "PURGE", "", "/m", pub, nil, "post"},
		{"method not allowed falls to prefix", "PUT", "", "/m", pub, nil, "root"},
		{"remote cidr", "GET", "", "/r", lan, nil, "lan"},
		{"remote v6", "GET", "", "/r", v6, nil, "v6"},
		{"remote mismatch", "GET", "", "/r", pub, nil, "root"},
		{"vars match", "GET", "", "/v", pub, mapVars{"arg_name": "json"}, "vars"},
		{"vars miss", "GET", "", "/v", pub, mapVars{"arg_name": "xml"}, "vars-fallback"},
		{"uris", "GET", "", "/m2", pub, nil, "multi"},
		{"host * matches any host", "GET", "whatever.io", "/star", pub, nil, "any-host-star"},
		{"catch-all", "GET", "", "/nothing/here", pub, nil, "root"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			m, ok := r.Match(&router.Request{Method: c.method, Host: c.host, Path: c.path, Remote: c.remote, Vars: c.vars})
			got := "<none>"
			if ok {
				got = m.Route.ID
			}
			if got != c.want {
				t.Errorf("%s %s%s: got %s, want %s", c.method, c.host, c.path, got, c.want)
			}
		})
	}
	m, _ := r.Match(&router.Request{Method: "GET", Path: "/user/42/profile", Remote: pub})
	if m.Params["id"] != "42" {
		t.Errorf("params = %v", m.Params)
	}
}

func TestNoMatch(t *testing.T) {
	r, _ := router.Build([]*router.Route{rt("a", []string{"/a"})})
	if _, ok := r.Match(&router.Request{Method: "GET", Path: "/b"}); ok {
		t.Error("matched /b")
	}
}

// TestWithIsPersistent: With leaves the old router untouched, replaces by
// id, and removes.
func TestWithIsPersistent(t *testing.T) {
	r1, _ := router.Build([]*router.Route{rt("a", []string{"/a"}), rt("b", []string{"/b"})})
	r2, err := r1.With([]*router.Route{rt("a", []string{"/a2"})}, []string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	match := func(r *router.Router, p string) string {
		m, ok := r.Match(&router.Request{Method: "GET", Path: p})
		if !ok {
			return ""
		}
		return m.Route.ID
	}
	for _, c := range []struct {
		r    *router.Router
		path string
		want string
	}{
		{r1, "/a", "a"}, {r1, "/b", "b"}, {r1, "/a2", ""},
		{r2, "/a", ""}, {r2, "/a2", "a"}, {r2, "/b", ""},
	} {
		if got := match(c.r, c.path); got != c.want {
			t.Errorf("%s: got %q, want %q", c.path, got, c.want)
		}
	}
	if r1.Len() != 2 || r2.Len() != 1 {
		t.Errorf("len %d %d", r1.Len(), r2.Len())
	}

	// Extending an older router again (a branch) must see that router's
	// routes, not the newest ones, and leave both lines intact.
	r3, err := r1.With([]*router.Route{rt("b", []string{"/b3"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r4, err := r2.With([]*router.Route{rt("c", []string{"/c"})}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    *router.Router
		path string
		want string
	}{
		{r1, "/a", "a"}, {r1, "/b", "b"}, {r1, "/b3", ""},
		{r2, "/a2", "a"}, {r2, "/c", ""},
		{r3, "/a", "a"}, {r3, "/b", ""}, {r3, "/b3", "b"}, {r3, "/a2", ""},
		{r4, "/a2", ""}, {r4, "/c", "c"}, {r4, "/b", ""},
	} {
		if got := match(c.r, c.path); got != c.want {
			t.Errorf("branch %s: got %q, want %q", c.path, got, c.want)
		}
	}
	if r3.Len() != 2 || r4.Len() != 1 {
		t.Errorf("branch len %d %d", r3.Len(), r4.Len())
	}
	// And the newest of a line keeps extending: replace r3's b.
	r5, err := r3.With([]*router.Route{rt("b", []string{"/b5"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if match(r5, "/b3") != "" || match(r5, "/b5") != "b" || match(r5, "/a") != "a" || r5.Len() != 2 {
		t.Error("r5 wrong")
	}
}

func TestInvalid(t *testing.T) {
	for _, r := range []*router.Route{{ID: "", URIs: []string{"/"}}, {ID: "x"}, {ID: "x", URIs: []string{"nope"}}} {
		if _, err := router.Build([]*router.Route{r}); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

func build(n int) *router.Router {
	routes := make([]*router.Route, n)
	for i := range routes {
		routes[i] = rt(fmt.Sprint(i), []string{fmt.Sprintf("/api/v1/r%d", i)}, hosts(fmt.Sprintf("h%d.example.com", i%100)))
	}
	r, _ := router.Build(routes)
	return r
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 10_000, 100_000} {
		r := build(n)
		req := &router.Request{Method: "GET", Host: fmt.Sprintf("h%d.example.com", (n-1)%100), Path: fmt.Sprintf("/api/v1/r%d", n-1)}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok := r.Match(req); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkWith: one route change on a 100k-route router.
// BenchmarkWith: one route change on a 100k-route router, each on the
// previous result, as the snapshot loader does.
func BenchmarkWith(b *testing.B) {
	r := build(100_000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if r, err = r.With([]*router.Route{rt("5", []string{fmt.Sprintf("/changed/%d", i)})}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
