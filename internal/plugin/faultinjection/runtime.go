package faultinjection

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
	"github.com/stargate-edge/stargate/internal/vars"
)

// injector is fault-injection compiled. In the rewrite phase it may delay
// the request, then may answer it itself (abort), each for a percentage of
// the requests and only when one of its vars expressions matches.
type injector struct {
	delay *delay
	abort *abort
}

type delay struct {
	d       time.Duration
	percent int // -1: always
	vars    []*vars.Expr
	hasVars bool
}

type abort struct {
	status  int
	body    traffic.Template
	hasBody bool
	headers []header
	percent int
	vars    []*vars.Expr
	hasVars bool
}

type header struct {
	key string
	val traffic.Template
}

var _ plugin.Rewriter = (*injector)(nil)

func percent(m map[string]any) int {
	if n, ok := m["percentage"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			return int(v)
		}
	}
	return -1
}

func compileVars(m map[string]any) ([]*vars.Expr, bool, error) {
	list, ok := m["vars"].([]any)
	if !ok {
		return nil, false, nil
	}
	out := make([]*vars.Expr, 0, len(list))
	for _, x := range list {
		e, err := vars.Compile(x)
		if err != nil {
			return nil, true, err
		}
		out = append(out, e)
	}
	return out, true, nil
}

func newInjector(conf map[string]any) (any, error) {
	in := &injector{}
	if m, ok := conf["delay"].(map[string]any); ok {
		d := &delay{percent: percent(m)}
		if n, ok := m["duration"].(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("delay.duration: %w", err)
			}
			d.d = traffic.Seconds(f)
		}
		var err error
		if d.vars, d.hasVars, err = compileVars(m); err != nil {
			return nil, fmt.Errorf("delay.vars: %w", err)
		}
		in.delay = d
	}
	if m, ok := conf["abort"].(map[string]any); ok {
		a := &abort{status: http.StatusOK, percent: percent(m)}
		if n, ok := m["http_status"].(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				a.status = int(v)
			}
		}
		if b, ok := m["body"].(string); ok {
			a.body, a.hasBody = traffic.CompileTemplate(b), true
		}
		if hs, ok := m["headers"].(map[string]any); ok {
			for k, v := range hs {
				s, ok := v.(string)
				if !ok {
					s = fmt.Sprint(v) // a number
				}
				a.headers = append(a.headers, header{key: http.CanonicalHeaderKey(k), val: traffic.CompileTemplate(s)})
			}
		}
		var err error
		if a.vars, a.hasVars, err = compileVars(m); err != nil {
			return nil, fmt.Errorf("abort.vars: %w", err)
		}
		in.abort = a
	}
	return in, nil
}

// hit is sample_hit: random(1, 100) <= percentage.
func hit(percent int) bool {
	return percent < 0 || rand.IntN(100) < percent
}

// match is vars_match: one of the expressions matches (an empty list
// matches nothing).
func match(exprs []*vars.Expr, c *plugin.Ctx) bool {
	for _, e := range exprs {
		if e.Match(c.Vars) {
			return true
		}
	}
	return false
}

func (in *injector) Rewrite(c *plugin.Ctx) {
	abortVars, delayVars := true, true
	if a := in.abort; a != nil && a.hasVars {
		abortVars = match(a.vars, c)
	}
	if d := in.delay; d != nil && d.hasVars {
		delayVars = match(d.vars, c)
	}
	if d := in.delay; d != nil && hit(d.percent) && delayVars {
		traffic.Sleep(c, d.d)
	}
	a := in.abort
	if a == nil || !hit(a.percent) || !abortVars {
		return
	}
	for i := range a.headers {
		h := &a.headers[i]
		v, _ := h.val.Resolve(c)
		c.RespHeader.Set(h.key, v)
	}
	if !a.hasBody {
		c.Exit(a.status, nil)
		return
	}
	body, _ := a.body.Resolve(c)
	c.Exit(a.status, []byte(body))
}
