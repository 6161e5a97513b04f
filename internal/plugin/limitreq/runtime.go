package limitreq

import (
	"math"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/limitrule"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// limiter is limit-req compiled: a leaky bucket per key (resty.limit.req)
// checked in the access phase. Requests over `rate` but within `burst` are
// delayed (unless nodelay) so that they leave at the rate; beyond, they
// are rejected.
type limiter struct {
	limitrule.Config // rules: rate and burst
	nodelay          bool
	state            *state
}

type state struct {
	tables []*traffic.Table[bucket]
}

// bucket is one key's leaky bucket: the excess (in requests) over the
// rate at the last accepted request.
type bucket struct {
	excess float64
	last   int64 // UnixNano
	rate   float64
}

var registry traffic.Registry[state]

var _ plugin.Accessor = (*limiter)(nil)

// idle: the bucket has drained.
func idle(b *bucket, now int64) bool {
	if b.rate <= 0 {
		return true
	}
	return float64(now-b.last)/float64(time.Second)*b.rate >= b.excess+1
}

func newLimiter(conf map[string]any, env plugin.Env) (any, error) {
	cfg, err := limitrule.Parse(conf, [2]string{"rate", "burst"}, "")
	if err != nil {
		return nil, err
	}
	l := &limiter{Config: cfg}
	l.nodelay, _ = conf["nodelay"].(bool)
	n := len(l.Rules)
	l.state = registry.Get(traffic.StateKey(env.Key, conf), func() *state {
		s := &state{tables: make([]*traffic.Table[bucket], n)}
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
		key, rate, burst, ok := l.Resolve(c, i)
		if !ok {
			continue
		}
		matched = true
		t := l.state.tables[i]
		s := t.Shard(key)
		s.Lock()
		delay, ok := t.Get(s, key, now).incoming(rate, burst, now)
		s.Unlock()
		if !ok {
			l.Reject(c)
			return
		}
		if delay >= 0.001 && !l.nodelay {
			traffic.Sleep(c, traffic.Seconds(delay))
		}
	}
	if !matched {
		l.Fail(c)
	}
}

// incoming is resty.limit.req's incoming(key, commit=true): the bucket
// leaks `rate` requests per second; a request adds one. Over `burst` the
// request is rejected (and not counted); otherwise it waits excess/rate
// seconds.
func (b *bucket) incoming(rate, burst float64, now int64) (float64, bool) {
	excess := 0.0
	if b.last != 0 {
		elapsed := math.Abs(float64(now-b.last)) / float64(time.Second)
		excess = math.Max(b.excess-rate*elapsed+1, 0)
		if excess > burst {
			return 0, false
		}
	}
	b.excess, b.last, b.rate = excess, now, rate
	if rate <= 0 {
		return 0, true
	}
	return excess / rate, true
}
