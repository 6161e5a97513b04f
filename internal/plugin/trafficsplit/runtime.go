package trafficsplit

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/vars"
)

// splitter is traffic-split compiled: the first rule whose match passes
// (or that has none) picks one of its weighted upstreams per request by
// smooth weighted round robin, and the proxy sends the request there.
type splitter struct {
	rules []rule
}

type rule struct {
	hasMatch bool
	match    []*vars.Expr
	wrr      *wrr
}

// target is one weighted upstream: an upstream object by id (resolved at
// request time, so that it follows edits of that upstream), an inline
// upstream compiled with the route, or neither: the route's own upstream.
type target struct {
	id string
	up *upstream.Upstream
}

// wrr is nginx's smooth weighted round robin over a rule's targets.
type wrr struct {
	mu      sync.Mutex
	targets []target
	weights []int
	current []int
	total   int
}

var _ plugin.Accessor = (*splitter)(nil)

// inlineTimeout is APISIX's default for each timeout of an inline
// upstream (traffic-split.lua set_upstream).
var inlineTimeout = json.Number("15")

func newSplitter(conf map[string]any, env plugin.Env) (any, error) {
	s := &splitter{}
	rules, _ := conf["rules"].([]any)
	for i, x := range rules {
		rc, _ := x.(map[string]any)
		var r rule
		if m, ok := rc["match"].([]any); ok {
			r.hasMatch = true
			for _, mx := range m {
				mm, _ := mx.(map[string]any)
				e, err := vars.Compile(mm["vars"])
				if err != nil {
					return nil, fmt.Errorf("rules[%d].match: %w", i, err)
				}
				r.match = append(r.match, e)
			}
		}
		ups, ok := rc["weighted_upstreams"].([]any)
		if !ok {
			ups = []any{map[string]any{"weight": json.Number("1")}} // schema default
		}
		w := &wrr{}
		// As APISIX's roundrobin server list: entries naming the same
		// upstream_id, like those naming no upstream, are one server whose
		// weight is the last one given.
		seen := map[string]int{}
		for j, ux := range ups {
			um, _ := ux.(map[string]any)
			weight := 1
			if n, ok := um["weight"].(json.Number); ok {
				v, err := n.Int64()
				if err != nil {
					return nil, fmt.Errorf("rules[%d].weighted_upstreams[%d].weight: %w", i, j, err)
				}
				weight = int(v)
			}
			var t target
			dedup := ""
			switch {
			case um["upstream_id"] != nil:
				t.id = fmt.Sprint(um["upstream_id"])
				dedup = "id:" + t.id
			case um["upstream"] != nil:
				uc, _ := um["upstream"].(map[string]any)
				if env.Upstreams == nil {
					return nil, errors.New("no upstream manager")
				}
				uc = maps.Clone(uc)
				tm, _ := uc["timeout"].(map[string]any)
				tm = maps.Clone(tm)
				if tm == nil {
					tm = map[string]any{}
				}
				for _, k := range []string{"connect", "send", "read"} {
					if _, ok := tm[k]; !ok {
						tm[k] = inlineTimeout
					}
				}
				uc["timeout"] = tm
				up, err := env.Upstreams.Compile(fmt.Sprintf("%s#traffic-split/%d/%d", env.Key, i, j), uc)
				if err != nil {
					return nil, fmt.Errorf("rules[%d].weighted_upstreams[%d].upstream: %w", i, j, err)
				}
				t.up = up
			default:
				dedup = "route"
			}
			if k, ok := seen[dedup]; ok && dedup != "" {
				w.weights[k] = weight
				continue
			}
			if dedup != "" {
				seen[dedup] = len(w.targets)
			}
			w.targets = append(w.targets, t)
			w.weights = append(w.weights, weight)
		}
		w.current = make([]int, len(w.targets))
		for _, x := range w.weights {
			if x > 0 {
				w.total += x
			}
		}
		r.wrr = w
		s.rules = append(s.rules, r)
	}
	return s, nil
}

// next picks a target; nil when every weight is 0.
func (w *wrr) next() *target {
	if w.total == 0 {
		return nil
	}
	w.mu.Lock()
	best := -1
	for i, x := range w.weights {
		if x <= 0 {
			continue
		}
		w.current[i] += x
		if best < 0 || w.current[i] > w.current[best] {
			best = i
		}
	}
	w.current[best] -= w.total
	w.mu.Unlock()
	return &w.targets[best]
}

// Access picks the upstream, following traffic-split.lua: rules in order;
// a rule without match applies; a rule with match applies when one of its
// vars expressions matches. When no rule applies the route's upstream is
// used.
func (s *splitter) Access(c *plugin.Ctx) {
	var chosen *wrr
	passed := true
	for i := range s.rules {
		r := &s.rules[i]
		if !r.hasMatch {
			passed, chosen = true, r.wrr
			break
		}
		// An empty match list leaves the previous rule's verdict, as the
		// Lua loop does.
		for _, m := range r.match {
			if passed = m.Match(c.Vars); passed {
				break
			}
		}
		if passed {
			chosen = r.wrr
			break
		}
	}
	if !passed || chosen == nil {
		return
	}
	t := chosen.next()
	switch {
	case t == nil:
		c.Upstream = nil
	case t.up != nil:
		c.Upstream = t.up
	case t.id != "":
		var up *upstream.Upstream
		ok := false
		if c.Upstreams != nil {
			up, ok = c.Upstreams.Upstream(t.id)
		}
		if !ok || up == nil {
			// APISIX: the upstream_id picked does not exist.
			c.Exit(http.StatusBadGateway, nil)
			return
		}
		c.Upstream = up
	default:
		c.Upstream = nil // the route's own upstream
	}
}
