package apibreaker

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// breaker is api-breaker compiled. The log phase counts the upstream's
// answers: every `failures` unhealthy statuses in a row (re)open the
// breaker; while open (2^n seconds after the n-th such trip, at most
// max_breaker_sec) the access phase answers break_response_code without
// calling the upstream. `successes` healthy statuses close it and forget
// the failures.
type breaker struct {
	code      int
	body      []byte // nil: no break_response_body (nginx's page)
	headers   []header
	maxSec    int64
	unhealthy []int
	failures  int64
	healthy   []int
	successes int64
	st        *state
}

type header struct {
	key string
	val traffic.Template
}

// state is the breaker of one route (one object and configuration); it
// survives configuration swaps.
type state struct {
	mu        sync.Mutex
	unhealthy int64
	healthy   int64
	lastTime  int64 // unix seconds of the last trip, 0: none
	lastUntil int64 // UnixNano when lastTime expires (max_breaker_sec)
}

var registry traffic.Registry[state]

var (
	_ plugin.Accessor  = (*breaker)(nil)
	_ plugin.LogPhaser = (*breaker)(nil)
)

func intOf(v any, def int64) int64 {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return def
}

func statuses(v any, def int) []int {
	arr, ok := v.([]any)
	if !ok {
		return []int{def}
	}
	out := make([]int, 0, len(arr))
	for _, x := range arr {
		out = append(out, int(intOf(x, 0)))
	}
	return out
}

func newBreaker(conf map[string]any, env plugin.Env) (any, error) {
	b := &breaker{
		code:   int(intOf(conf["break_response_code"], 502)),
		maxSec: intOf(conf["max_breaker_sec"], 300),
	}
	if s, ok := conf["break_response_body"].(string); ok {
		b.body = []byte(s)
		if hs, ok := conf["break_response_headers"].([]any); ok {
			for _, x := range hs {
				m, _ := x.(map[string]any)
				k, _ := m["key"].(string)
				v, _ := m["value"].(string)
				b.headers = append(b.headers, header{key: k, val: traffic.CompileTemplate(v)})
			}
		}
	}
	un, _ := conf["unhealthy"].(map[string]any)
	b.unhealthy = statuses(un["http_statuses"], 500)
	b.failures = max(intOf(un["failures"], 3), 1)
	he, _ := conf["healthy"].(map[string]any)
	b.healthy = statuses(he["http_statuses"], 200)
	b.successes = max(intOf(he["successes"], 3), 1)
	b.st = registry.Get(traffic.StateKey(env.Key, conf), func() *state { return &state{} })
	return b, nil
}

// Access answers for the upstream while the breaker is open.
func (b *breaker) Access(c *plugin.Ctx) {
	now := time.Now()
	st := b.st
	st.mu.Lock()
	unhealthy, last, until := st.unhealthy, st.lastTime, st.lastUntil
	st.mu.Unlock()
	if unhealthy == 0 || last == 0 || now.UnixNano() >= until {
		return
	}
	if last+b.openFor(unhealthy) < now.Unix() {
		return
	}
	if b.body == nil {
		c.Exit(b.code, nil)
		return
	}
	for i := range b.headers {
		h := &b.headers[i]
		v, _ := h.val.Resolve(c)
		c.RespHeader.Add(h.key, v)
	}
	c.Exit(b.code, b.body)
}

// openFor is how long the breaker stays open after its last trip:
// 2^ceil(unhealthy/failures) seconds, at most max_breaker_sec.
func (b *breaker) openFor(unhealthy int64) int64 {
	times := (unhealthy + b.failures - 1) / b.failures
	if times < 1 {
		times = 1
	}
	if times >= 62 {
		return b.maxSec
	}
	return min(int64(1)<<times, b.maxSec)
}

// Log counts the upstream's status.
func (b *breaker) Log(c *plugin.Ctx) {
	status, ok := upstreamStatus(c)
	if !ok {
		return
	}
	st := b.st
	if contains(b.unhealthy, status) {
		now := time.Now()
		st.mu.Lock()
		st.unhealthy++
		st.healthy = 0
		if st.unhealthy%b.failures == 0 {
			st.lastTime = now.Unix()
			st.lastUntil = now.UnixNano() + b.maxSec*int64(time.Second)
		}
		st.mu.Unlock()
		return
	}
	if !contains(b.healthy, status) {
		return
	}
	st.mu.Lock()
	if st.unhealthy > 0 {
		st.healthy++
		if st.healthy >= b.successes {
			st.unhealthy, st.healthy, st.lastTime, st.lastUntil = 0, 0, 0, 0
		}
	}
	st.mu.Unlock()
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// The bodies the proxy answers with when no upstream node answered: nginx
// then reports 502/504 as the upstream status.
var (
	proxyBadGateway = []byte(`{"error_msg":"502 Bad Gateway"}` + "\n")
	proxyGwTimeout  = []byte(`{"error_msg":"504 Gateway Time-out"}` + "\n")
)

// upstreamStatus is APISIX's core.response.get_upstream_status: the status
// of the upstream's (last) answer, none when the request never reached the
// upstream.
func upstreamStatus(c *plugin.Ctx) (int, bool) {
	if c.UpstreamAddr != "" {
		return c.Status, true
	}
	if exited, status, body := c.Exited(); exited {
		if status == 502 && bytes.Equal(body, proxyBadGateway) || status == 504 && bytes.Equal(body, proxyGwTimeout) {
			return status, true
		}
	}
	return 0, false
}
