package limitcount

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// limiter is limit-count compiled: one or more rules (count per
// time_window per key), each with its own counters, checked in order in
// the access phase.
type limiter struct {
	rules        []rule
	fromRules    bool
	sliding      bool
	showHeaders  bool
	degrade      bool
	rejectedCode int
	rejectedBody []byte // nil: nginx's page
	state        *state
}

// rule is one count/time_window/key; a plain configuration is one rule.
type rule struct {
	count, window traffic.NumVar
	limitStr      string // count as the header shows it, when constant
	key           traffic.Key
	keyTpl        traffic.Template // rules[]: resolved, then used as a constant
	// The quota headers of a rules[] entry (a plain configuration uses
	// headerNames).
	hLimit     string
	hRemaining string
	hReset     string
}

// state is what survives configuration swaps: one counter table per rule.
type state struct {
	tables []*traffic.Table[counter]
}

// counter is one key's window. Fixed windows use used/expire/endSec;
// sliding windows use cur/prev of window ids wid and wid-1.
type counter struct {
	used   int64
	expire int64 // UnixNano when the fixed window ends
	endSec int64 // the window end as APISIX's reset header sees it (ngx.time)

	wid       int64
	cur, prev int64
	windowNs  int64
}

var registry traffic.Registry[state]

// names are the quota headers of a plain (not rules[]) configuration:
// limit-count's plugin_metadata limit_header, remaining_header and
// reset_header.
type names struct{ limit, remaining, reset string }

var defaultNames = &names{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"}

var headerNames atomic.Pointer[names]

func init() { headerNames.Store(defaultNames) }

// setMetadata receives limit-count's plugin_metadata (nil when deleted).
func setMetadata(conf map[string]any) {
	n := *defaultNames
	for field, dst := range map[string]*string{"limit_header": &n.limit, "remaining_header": &n.remaining, "reset_header": &n.reset} {
		if v, ok := conf[field].(string); ok && v != "" {
			*dst = http.CanonicalHeaderKey(v)
		}
	}
	headerNames.Store(&n)
}

var _ plugin.Accessor = (*limiter)(nil)

func idle(c *counter, now int64) bool {
	if c.windowNs > 0 { // sliding: both windows over
		return now/c.windowNs > c.wid+1
	}
	return now >= c.expire
}

func num(v any, def int) int {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
	}
	return def
}

func newLimiter(conf map[string]any, env plugin.Env) (any, error) {
	if err := traffic.LocalPolicy(conf); err != nil {
		return nil, err
	}
	l := &limiter{rejectedCode: num(conf["rejected_code"], 503), showHeaders: true}
	if b, ok := conf["show_limit_quota_header"].(bool); ok {
		l.showHeaders = b
	}
	l.degrade, _ = conf["allow_degradation"].(bool)
	if wt, _ := conf["window_type"].(string); wt == "sliding" {
		l.sliding = true
	}
	if msg, ok := conf["rejected_msg"].(string); ok {
		l.rejectedBody = traffic.MessageBody(msg)
	}

	if rules, ok := conf["rules"].([]any); ok {
		l.fromRules = true
		for i, x := range rules {
			rc, _ := x.(map[string]any)
			var r rule
			var err error
			if r.count, err = traffic.ParseNumVar(rc["count"]); err != nil {
				return nil, fmt.Errorf("rules[%d].count: %w", i, err)
			}
			if r.window, err = traffic.ParseNumVar(rc["time_window"]); err != nil {
				return nil, fmt.Errorf("rules[%d].time_window: %w", i, err)
			}
			key, _ := rc["key"].(string)
			r.keyTpl = traffic.CompileTemplate(key)
			prefix, ok := rc["header_prefix"].(string)
			if !ok {
				prefix = strconv.Itoa(i + 1)
			}
			r.hLimit = http.CanonicalHeaderKey("X-" + prefix + "-RateLimit-Limit")
			r.hRemaining = http.CanonicalHeaderKey("X-" + prefix + "-RateLimit-Remaining")
			r.hReset = http.CanonicalHeaderKey("X-" + prefix + "-RateLimit-Reset")
			l.rules = append(l.rules, r)
		}
	} else {
		var r rule
		var err error
		if r.count, err = traffic.ParseNumVar(conf["count"]); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		if r.window, err = traffic.ParseNumVar(conf["time_window"]); err != nil {
			return nil, fmt.Errorf("time_window: %w", err)
		}
		key, ok := conf["key"].(string)
		if !ok {
			key = "remote_addr"
		}
		kt, _ := conf["key_type"].(string)
		if r.key, err = traffic.NewKey(kt, key); err != nil {
			return nil, err
		}
		l.rules = []rule{r} // header names from plugin_metadata, per request
	}

	// Counters live as long as some compiled instance of the same
	// configuration on the same object does; a group shares them across
	// objects (APISIX's gen_group_key: group, count, time_window,
	// window_type).
	stateKey := traffic.StateKey(env.Key, conf)
	if g, ok := conf["group"].(string); ok {
		wt := "fixed"
		if l.sliding {
			wt = "sliding"
		}
		stateKey = "group\x00" + strings.Join([]string{g, l.rules[0].count.Raw(), l.rules[0].window.Raw(), wt}, "_")
	}
	for i := range l.rules {
		if r := &l.rules[i]; !r.count.IsVar() {
			v, _ := r.count.Get(nil)
			r.limitStr = strconv.FormatInt(int64(v), 10)
		}
	}
	n := len(l.rules)
	l.state = registry.Get(stateKey, func() *state {
		s := &state{tables: make([]*traffic.Table[counter], n)}
		for i := range s.tables {
			s.tables[i] = traffic.NewTable(0, time.Second, idle)
		}
		return s
	})
	return l, nil
}

func (l *limiter) fail(c *plugin.Ctx) {
	if !l.degrade {
		c.Exit(http.StatusInternalServerError, nil)
	}
}

func (l *limiter) Access(c *plugin.Ctx) {
	now := time.Now().UnixNano()
	matched := 0
	for i := range l.rules {
		r := &l.rules[i]
		limit, ok1 := r.count.Get(c)
		window, ok2 := r.window.Get(c)
		if !ok1 || !ok2 {
			if l.fromRules {
				continue // APISIX skips a rule whose values do not resolve
			}
			l.fail(c)
			return
		}
		var key string
		if l.fromRules {
			k, n := r.keyTpl.Resolve(c)
			if n == 0 {
				continue
			}
			key = k
		} else {
			key = r.key.Resolve(c)
		}
		matched++
		if !l.check(c, i, r, key, int64(limit), window, now) {
			return
		}
	}
	if matched == 0 && l.fromRules {
		l.fail(c)
	}
}

// check counts one request against a rule and sets the quota headers; it
// reports whether the request may go on.
func (l *limiter) check(c *plugin.Ctx, i int, r *rule, key string, limit int64, window float64, now int64) bool {
	t := l.state.tables[i]
	s := t.Shard(key)
	s.Lock()
	e := t.Get(s, key, now)
	var remaining int64
	var reset string
	var ok bool
	if l.sliding {
		ok, remaining, reset = e.slide(limit, window, now)
	} else {
		ok, remaining, reset = e.fixed(limit, window, now)
	}
	s.Unlock()

	if l.showHeaders {
		hLimit, hRemaining, hReset := r.hLimit, r.hRemaining, r.hReset
		if !l.fromRules {
			n := headerNames.Load()
			hLimit, hRemaining, hReset = n.limit, n.remaining, n.reset
		}
		h := c.RespHeader
		if h == nil {
			h = http.Header{}
			c.RespHeader = h
		}
		vals := make([]string, 3) // one allocation for the three headers
		vals[0], vals[1], vals[2] = r.limitStr, strconv.FormatInt(remaining, 10), reset
		if vals[0] == "" {
			vals[0] = strconv.FormatInt(limit, 10)
		}
		h[hLimit] = vals[0:1:1]
		h[hRemaining] = vals[1:2:2]
		h[hReset] = vals[2:3:3]
	}
	if !ok {
		c.Exit(l.rejectedCode, l.rejectedBody)
	}
	return ok
}

// fixed is resty.limit.count with APISIX's reset bookkeeping
// (limit-count-local.lua): the window starts at a key's first request and
// lasts time_window seconds; the reset header is the window end minus
// now, in whole seconds (ngx.time), and time_window itself on the first
// request of a window.
func (e *counter) fixed(limit int64, window float64, now int64) (bool, int64, string) {
	sec := now / int64(time.Second)
	if now >= e.expire {
		e.used = 0
		e.expire = now + int64(window*float64(time.Second))
		e.endSec = sec + int64(window)
	}
	if e.used+1 > limit {
		return false, 0, strconv.FormatInt(max(e.endSec-sec, 0), 10)
	}
	e.used++
	remaining := limit - e.used
	if e.used == 1 {
		return true, remaining, traffic.FormatNumber(window)
	}
	return true, remaining, strconv.FormatInt(max(e.endSec-sec, 0), 10)
}

// ceil2 is sliding-window.lua's round_off_decimal_places(x, 2).
func ceil2(x float64) float64 { return math.Ceil(x*100) / 100 }

// slide is APISIX's sliding window (limit-count/sliding-window): the
// previous window's count, weighted by the share of it still inside the
// sliding window, plus the current window's count must stay below the
// limit.
func (e *counter) slide(limit int64, window float64, now int64) (bool, int64, string) {
	wns := int64(window * float64(time.Second))
	if wns <= 0 {
		wns = 1
	}
	if e.windowNs != wns {
		*e = counter{windowNs: wns}
	}
	wid := now / wns
	switch {
	case wid == e.wid:
	case wid == e.wid+1:
		e.prev, e.cur, e.wid = e.cur, 0, wid
	default:
		e.prev, e.cur, e.wid = 0, 0, wid
	}
	remainingTime := float64(wns-now%wns) / float64(time.Second)
	lim := float64(limit)
	count := float64(e.cur)
	if e.cur >= limit {
		return false, 0, traffic.FormatNumber(ceil2(remainingTime))
	}
	last := math.Min(float64(e.prev), lim)
	lastRate := last / window
	estimatedLast := lastRate * remainingTime
	if estimatedLast+count >= lim {
		delay := remainingTime
		if lastRate != 0 {
			delay = math.Max(remainingTime-(lim-count)/lastRate, 0)
		}
		return false, 0, traffic.FormatNumber(ceil2(delay))
	}
	e.cur++
	remaining := int64(math.Floor(lim - float64(e.cur) - estimatedLast))
	return true, remaining, traffic.FormatNumber(ceil2(remainingTime))
}
