package trafficsplit_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func names(t *testing.T, e *edgetest.Env, n int, path string, hdr ...string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		r := e.Get(path, hdr...)
		if r.Status != 200 {
			got[fmt.Sprint(r.Status)]++
			continue
		}
		got[edgetest.Name(r.Body)]++
	}
	return got
}

func TestSplit(t *testing.T) {
	e := edgetest.New(t)
	a, b, c := edgetest.NewEcho(t, "a"), edgetest.NewEcho(t, "b"), edgetest.NewEcho(t, "c")
	e.Put("/upstreams/a", a.Upstream())
	e.Put("/upstreams/b", b.Upstream())
	tests := []struct {
		desc  string
		rules string
		hdr   []string
		n     int
		want  map[string]int
	}{
		{
			desc:  "weights 3:1 between an upstream_id and the route's upstream",
			rules: `[{"weighted_upstreams":[{"upstream_id":"b","weight":3},{"weight":1}]}]`,
			n:     40, want: map[string]int{"b": 30, "a": 10},
		},
		{
			desc:  "inline upstream",
			rules: fmt.Sprintf(`[{"weighted_upstreams":[{"upstream":%s,"weight":1},{"upstream_id":"b","weight":1}]}]`, c.Upstream()),
			n:     10, want: map[string]int{"c": 5, "b": 5},
		},
		{
			desc:  "match passes: the rule's upstreams",
			rules: `[{"match":[{"vars":[["http_x_canary","==","1"]]},{"vars":[["arg_v","==","2"]]}],"weighted_upstreams":[{"upstream_id":"b"}]}]`,
			hdr:   []string{"X-Canary", "1"},
			n:     4, want: map[string]int{"b": 4},
		},
		{
			desc:  "match fails: the route's upstream",
			rules: `[{"match":[{"vars":[["http_x_canary","==","1"]]}],"weighted_upstreams":[{"upstream_id":"b"}]}]`,
			hdr:   []string{"X-Canary", "0"},
			n:     4, want: map[string]int{"a": 4},
		},
		{
			desc: "first rule that applies wins; a rule without match catches the rest",
			rules: fmt.Sprintf(`[{"match":[{"vars":[["http_x_canary","==","1"]]}],"weighted_upstreams":[{"upstream_id":"b"}]},
				{"weighted_upstreams":[{"upstream":%s}]}]`, c.Upstream()),
			n: 3, want: map[string]int{"c": 3},
		},
		{
			desc:  "weight 0 is never picked",
			rules: `[{"weighted_upstreams":[{"upstream_id":"b","weight":0},{"weight":2}]}]`,
			n:     6, want: map[string]int{"a": 6},
		},
		{
			desc:  "every weight 0: the route's upstream",
			rules: `[{"weighted_upstreams":[{"upstream_id":"b","weight":0}]}]`,
			n:     3, want: map[string]int{"a": 3},
		},
		{
			desc:  "no weighted_upstreams: the route's upstream",
			rules: `[{"match":[{"vars":[["arg_x","==","1"]]}]}]`,
			n:     3, want: map[string]int{"a": 3},
		},
		{
			desc:  "an upstream_id listed twice is one server with the last weight",
			rules: `[{"weighted_upstreams":[{"upstream_id":"b","weight":1},{"weight":1},{"upstream_id":"b","weight":3}]}]`,
			n:     8, want: map[string]int{"b": 6, "a": 2},
		},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			uri := fmt.Sprintf("/s/%d", i)
			e.Put(fmt.Sprintf("/routes/s%d", i), fmt.Sprintf(`{"uri":%q,"upstream_id":"a","plugins":{"traffic-split":{"rules":%s}}}`, uri, tc.rules))
			got := names(t, e, tc.n, uri, tc.hdr...)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUpstreamIDFollowsEdits: an upstream_id is looked up per request, so
// editing that upstream takes effect without touching the route; a
// missing one is a 502.
func TestUpstreamIDFollowsEdits(t *testing.T) {
	e := edgetest.New(t)
	a, b, d := edgetest.NewEcho(t, "a"), edgetest.NewEcho(t, "b"), edgetest.NewEcho(t, "d")
	e.Put("/upstreams/a", a.Upstream())
	e.Put("/upstreams/b", b.Upstream())
	e.Put("/routes/1", `{"uri":"/x","upstream_id":"a","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"b"}]}]}}}`)
	if n := edgetest.Name(e.Get("/x").Body); n != "b" {
		t.Fatalf("got %q", n)
	}
	e.Put("/upstreams/b", d.Upstream())
	if n := edgetest.Name(e.Get("/x").Body); n != "d" {
		t.Errorf("after editing upstream b: %q", n)
	}
	e.Put("/routes/2", `{"uri":"/missing","upstream_id":"a","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"nope"}]}]}}}`)
	r := e.Get("/missing")
	if r.Status != 502 || r.Body != string(plugin.ErrorPage(502)) {
		t.Errorf("missing upstream_id: %d %q", r.Status, r.Body)
	}
}

func TestInlineUpstreamOptions(t *testing.T) {
	e := edgetest.New(t)
	a, c := edgetest.NewEcho(t, "a"), edgetest.NewEcho(t, "c")
	e.Put("/routes/1", fmt.Sprintf(`{"uri":"/p","upstream":%s,"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[
		{"upstream":{"type":"roundrobin","nodes":[{"host":"127.0.0.1","port":%s,"weight":1}],"pass_host":"rewrite","upstream_host":"canary.internal"}}]}]}}}`,
		a.Upstream(), strings.Split(c.Addr, ":")[1]))
	r := e.Get("/p", "Host", "public.example.com")
	if edgetest.Name(r.Body) != "c" || !strings.Contains(r.Body, `"host":"canary.internal"`) {
		t.Errorf("inline upstream with pass_host rewrite: %d %s", r.Status, r.Body)
	}
}

// TestConcurrentWeights: the smooth round robin keeps exact proportions
// under concurrency.
func TestConcurrentWeights(t *testing.T) {
	e := edgetest.New(t)
	a, b := edgetest.NewEcho(t, "a"), edgetest.NewEcho(t, "b")
	e.Put("/routes/1", fmt.Sprintf(`{"uri":"/c","upstream":%s,"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream":%s,"weight":3},{"weight":1}]}]}}}`,
		a.Upstream(), b.Upstream()))
	const n = 400
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := e.Try("GET", "/c", ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if a.Hits() != n/4 || b.Hits() != 3*n/4 {
		t.Errorf("a %d, b %d; want %d and %d", a.Hits(), b.Hits(), n/4, 3*n/4)
	}
}

func TestBadVarsRejectedAtWrite(t *testing.T) {
	e := edgetest.New(t)
	code, body := e.Admin("PUT", "/routes/1", `{"uri":"/v","upstream":{"nodes":{"127.0.0.1:1":1}},"plugins":{"traffic-split":{"rules":[{"match":[{"vars":[["arg_x","bad-op","1"]]}]}]}}}`)
	if code != 400 || !strings.Contains(body, "traffic-split") || !strings.Contains(body, "failed to validate the 'vars' expression") {
		t.Errorf("%d %s", code, body)
	}
}
