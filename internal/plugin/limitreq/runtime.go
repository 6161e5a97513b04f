package limitreq

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// limiter is limit-req compiled: a leaky bucket per key (resty.limit.req)
// checked in the access phase. Requests over `rate` but within `burst` are
// delayed (unless nodelay) so that they leave at the rate; beyond, they
// are rejected.
type limiter struct {
	rules        []rule
	fromRules    bool
	nodelay      bool
	degrade      bool
	rejectedCode int
	rejectedBody []byte
	state        *state
}

type rule struct {
	rate, burst traffic.NumVar
	key         traffic.Key
	keyTpl      traffic.Template // rules[]
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
	if err := traffic.LocalPolicy(conf); err != nil {
		return nil, err
	}
	l := &limiter{rejectedCode: 503}
	if n, ok := conf["rejected_code"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			l.rejectedCode = int(v)
		}
	}
	l.nodelay, _ = conf["nodelay"].(bool)
	l.degrade, _ = conf["allow_degradation"].(bool)
	if msg, ok := conf["rejected_msg"].(string); ok {
		l.rejectedBody = traffic.MessageBody(msg)
	}
	parse := func(r *rule, m map[string]any, where string) error {
		var err error
		if r.rate, err = traffic.ParseNumVar(m["rate"]); err != nil {
			return fmt.Errorf("%srate: %w", where, err)
		}
		if r.burst, err = traffic.ParseNumVar(m["burst"]); err != nil {
			return fmt.Errorf("%sburst: %w", where, err)
		}
		return nil
	}
	if rules, ok := conf["rules"].([]any); ok {
		l.fromRules = true
		for i, x := range rules {
			rc, _ := x.(map[string]any)
			var r rule
			if err := parse(&r, rc, fmt.Sprintf("rules[%d].", i)); err != nil {
				return nil, err
			}
			key, _ := rc["key"].(string)
			r.keyTpl = traffic.CompileTemplate(key)
			l.rules = append(l.rules, r)
		}
	} else {
		var r rule
		if err := parse(&r, conf, ""); err != nil {
			return nil, err
		}
		key, _ := conf["key"].(string)
		kt, _ := conf["key_type"].(string)
		var err error
		if r.key, err = traffic.NewKey(kt, key); err != nil {
			return nil, err
		}
		l.rules = []rule{r}
	}
	n := len(l.rules)
	l.state = registry.Get(traffic.StateKey(env.Key, conf), func() *state {
		s := &state{tables: make([]*traffic.Table[bucket], n)}
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
		rate, ok1 := r.rate.Get(c)
		burst, ok2 := r.burst.Get(c)
		if !ok1 || !ok2 {
			if l.fromRules {
				continue
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
		t := l.state.tables[i]
		s := t.Shard(key)
		s.Lock()
		delay, ok := t.Get(s, key, now).incoming(rate, burst, now)
		s.Unlock()
		if !ok {
			c.Exit(l.rejectedCode, l.rejectedBody)
			return
		}
		if delay >= 0.001 && !l.nodelay {
			traffic.Sleep(c, traffic.Seconds(delay))
		}
	}
	if matched == 0 && l.fromRules {
		l.fail(c)
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
