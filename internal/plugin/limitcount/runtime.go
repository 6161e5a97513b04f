package limitcount

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/limitrule"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// limiter is limit-count compiled: one or more rules (count per
// time_window per key), each with its own counters, checked in order in
// the access phase.
type limiter struct {
	limitrule.Config        // rules: count and time_window
	rules            []rule // what limit-count adds to each of Config.Rules
	sliding          bool
	showHeaders      bool
	state            *state
}

// rule is what limit-count keeps per rule besides its numbers and key.
type rule struct {
	limitStr string // count as the header shows it, when constant
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

func newLimiter(conf map[string]any, env plugin.Env) (any, error) {
	cfg, err := limitrule.Parse(conf, [2]string{"count", "time_window"}, "remote_addr")
	if err != nil {
		return nil, err
	}
	l := &limiter{Config: cfg, rules: make([]rule, len(cfg.Rules)), showHeaders: true}
	if b, ok := conf["show_limit_quota_header"].(bool); ok {
		l.showHeaders = b
	}
	if wt, _ := conf["window_type"].(string); wt == "sliding" {
		l.sliding = true
	}
	// A rules[] entry names its quota headers after header_prefix (its
	// position by default); a plain configuration takes them from
	// plugin_metadata, per request.
	if l.FromRules {
		rules, _ := conf["rules"].([]any)
		for i, x := range rules {
			rc, _ := x.(map[string]any)
			prefix, ok := rc["header_prefix"].(string)
			if !ok {
				prefix = strconv.Itoa(i + 1)
			}
			r := &l.rules[i]
			r.hLimit = http.CanonicalHeaderKey("X-" + prefix + "-RateLimit-Limit")
			r.hRemaining = http.CanonicalHeaderKey("X-" + prefix + "-RateLimit-Remaining")
			r.hReset = http.CanonicalHeaderKey("X-" + prefix + "-RateLimit-Reset")
		}
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
		count, window := &l.Rules[0].Nums[0], &l.Rules[0].Nums[1]
		stateKey = "group\x00" + strings.Join([]string{g, count.Raw(), window.Raw(), wt}, "_")
	}
	for i := range l.rules {
		if count := &l.Rules[i].Nums[0]; !count.IsVar() {
			v, _ := count.Get(nil)
			l.rules[i].limitStr = strconv.FormatInt(int64(v), 10)
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

func (l *limiter) Access(c *plugin.Ctx) {
	now := time.Now().UnixNano()
	matched := false
	for i := range l.Rules {
		key, limit, window, ok := l.Resolve(c, i)
		if !ok {
			continue
		}
		matched = true
		if !l.check(c, i, &l.rules[i], key, int64(limit), window, now) {
			return
		}
	}
	if !matched {
		l.Fail(c)
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
		if !l.FromRules {
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
		l.Reject(c)
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
