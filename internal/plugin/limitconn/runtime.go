package limitconn

import (
	"encoding/json"
	"hash/maphash"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/limitrule"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// limiter is limit-conn compiled: it counts the requests in flight per
// key (resty.limit.conn). Up to `conn` pass at once; the next `burst` are
// delayed by default_conn_delay per excess multiple of conn; beyond that
// they are rejected. The count goes up in the access phase and down in the
// log phase.
type limiter struct {
	limitrule.Config // rules: conn and burst
	onlyDefault      bool
	state            *state
}

// state survives configuration swaps: per rule, the in-flight counts and
// the unit delay resty.limit.conn learns from request latencies.
type state struct {
	rules []ruleState
}

type ruleState struct {
	table     *traffic.Table[gauge]
	unitDelay atomic.Uint64 // float64 bits, seconds
}

type gauge struct{ n int64 }

// held is what one request took, given back in the log phase.
type held struct {
	rs    *ruleState
	key   string
	delay float64
	req   *http.Request
}

// heldKey names one rule of one plugin instance for one request: a route
// and a global rule may both run limit-conn on the same request.
type heldKey struct {
	c    *plugin.Ctx
	l    *limiter
	rule int
}

// pendingShards map requests to what they hold between access and log.
// A request whose log phase never came (it should not happen) is found by
// a sweep once its context is done, and gives its slot back then.
const pendingShards = 32

type pending struct {
	mu        sync.Mutex
	m         map[heldKey]held
	nextSweep int64
	_         [32]byte
}

var (
	registry traffic.Registry[state]
	seed     = maphash.MakeSeed()
)

var (
	_ plugin.Accessor  = (*limiter)(nil)
	_ plugin.LogPhaser = (*limiter)(nil)
)

// inFlight is package-wide: a request is one Ctx whatever chain it went
// through.
var inFlight [pendingShards]pending

func pendingFor(c *plugin.Ctx) *pending {
	return &inFlight[maphash.Comparable(seed, c)%pendingShards]
}

func gaugeIdle(g *gauge, _ int64) bool { return g.n <= 0 }

func newLimiter(conf map[string]any, env plugin.Env) (any, error) {
	cfg, err := limitrule.Parse(conf, [2]string{"conn", "burst"}, "")
	if err != nil {
		return nil, err
	}
	l := &limiter{Config: cfg}
	l.onlyDefault, _ = conf["only_use_default_delay"].(bool)
	delay := 0.0
	if n, ok := conf["default_conn_delay"].(json.Number); ok {
		delay, _ = n.Float64()
	}
	n := len(l.Rules)
	l.state = registry.Get(traffic.StateKey(env.Key, conf), func() *state {
		s := &state{rules: make([]ruleState, n)}
		for i := range s.rules {
			// A gauge is deleted when it drops to zero; the sweep only
			// catches ones left at zero by a race.
			s.rules[i].table = traffic.NewTable(0, time.Minute, gaugeIdle)
			s.rules[i].unitDelay.Store(math.Float64bits(delay))
		}
		return s
	})
	return l, nil
}

func (l *limiter) Access(c *plugin.Ctx) {
	matched := false
	for i := range l.Rules {
		key, maxConn, burst, ok := l.Resolve(c, i)
		if !ok {
			continue
		}
		matched = true
		rs := &l.state.rules[i]
		delay, ok := rs.incoming(key, maxConn, burst)
		if !ok {
			l.Reject(c)
			return
		}
		l.hold(c, i, held{rs: rs, key: key, delay: delay, req: c.Req})
		if delay >= 0.001 {
			traffic.Sleep(c, traffic.Seconds(delay))
		}
	}
	if !matched {
		l.Fail(c)
	}
}

// incoming is resty.limit.conn's incoming(key, commit=true).
func (rs *ruleState) incoming(key string, maxConn, burst float64) (float64, bool) {
	t := rs.table
	s := t.Shard(key)
	s.Lock()
	g := t.Get(s, key, time.Now().UnixNano())
	conn := g.n + 1
	if float64(conn) > maxConn+burst {
		if g.n <= 0 {
			t.Delete(s, key)
		}
		s.Unlock()
		return 0, false
	}
	g.n = conn
	s.Unlock()
	if float64(conn) > maxConn && maxConn > 0 {
		unit := math.Float64frombits(rs.unitDelay.Load())
		return unit * math.Floor(float64(conn-1)/maxConn), true
	}
	return 0, true
}

// leaving is resty.limit.conn's leaving(key, latency): one less in flight,
// and the unit delay moves halfway to the request's latency.
func (rs *ruleState) leaving(key string, latency float64, learn bool) {
	t := rs.table
	s := t.Shard(key)
	s.Lock()
	if g, ok := t.Lookup(s, key); ok {
		g.n--
		if g.n <= 0 {
			t.Delete(s, key)
		}
	}
	s.Unlock()
	if learn {
		unit := math.Float64frombits(rs.unitDelay.Load())
		rs.unitDelay.Store(math.Float64bits((latency + unit) / 2))
	}
}

func (l *limiter) hold(c *plugin.Ctx, i int, h held) {
	p := pendingFor(c)
	now := time.Now().UnixNano()
	var stale []held
	p.mu.Lock()
	if p.m == nil {
		p.m = make(map[heldKey]held)
	}
	p.m[heldKey{c, l, i}] = h
	if now >= p.nextSweep {
		p.nextSweep = now + int64(5*time.Second)
		for k, v := range p.m {
			if v.req != nil && v.req.Context().Err() != nil {
				stale = append(stale, v)
				delete(p.m, k)
			}
		}
	}
	p.mu.Unlock()
	for _, v := range stale {
		v.rs.leaving(v.key, 0, false)
	}
}

// Log gives back what the request took (APISIX's decrease in the log
// phase). Unless only_use_default_delay, the unit delay learns from the
// upstream's response time (or, when the request was not proxied, its
// time minus the delay it was given).
func (l *limiter) Log(c *plugin.Ctx) {
	p := pendingFor(c)
	for i := range l.Rules {
		k := heldKey{c, l, i}
		p.mu.Lock()
		h, ok := p.m[k]
		if ok {
			delete(p.m, k)
		}
		p.mu.Unlock()
		if !ok {
			continue
		}
		// APISIX: upstream_response_time when proxied, else request_time
		// minus the delay given.
		latency := c.Latency.Seconds() - h.delay
		if c.UpstreamAddr != "" {
			latency = c.UpstreamLatency.Seconds()
		}
		h.rs.leaving(h.key, latency, !l.onlyDefault)
	}
}
