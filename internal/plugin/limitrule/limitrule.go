// Package limitrule reads and applies what limit-conn, limit-req and
// limit-count configure alike: either one limit (two numbers and a key
// with its key_type) or rules[] of them (two numbers and a key template
// each), plus rejected_code, rejected_msg and allow_degradation. The three
// plugins keep their own counters; this package only decides, per request,
// which rules apply with which numbers and key, and how a request is
// rejected or failed, so that the three cannot drift apart on APISIX's
// shared semantics.
//
// It is not a plugin and registers nothing.
package limitrule

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
)

// Rule is one limit: its two numbers (conn and burst, rate and burst, or
// count and time_window), each a constant or resolved per request, and
// the key that picks its counter.
type Rule struct {
	Nums   [2]traffic.NumVar
	key    traffic.Key      // a plain configuration's key and key_type
	keyTpl traffic.Template // a rules[] entry's key
}

// Config is a limit plugin's configuration as the three plugins share it.
type Config struct {
	Rules        []Rule
	FromRules    bool   // Rules are rules[], not the plain configuration
	RejectedCode int    // rejected_code, 503 by default
	RejectedBody []byte // rejected_msg as sent; nil: nginx's page
	Degrade      bool   // allow_degradation
}

// Parse reads conf after checking its policy is the local one. fields are
// the names of a rule's two numbers; defaultKey is a plain
// configuration's key when conf has none. Errors name the field, as
// "rules[1].burst: ...".
func Parse(conf map[string]any, fields [2]string, defaultKey string) (Config, error) {
	if err := traffic.LocalPolicy(conf); err != nil {
		return Config{}, err
	}
	cfg := Config{RejectedCode: 503}
	if n, ok := conf["rejected_code"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			cfg.RejectedCode = int(v)
		}
	}
	cfg.Degrade, _ = conf["allow_degradation"].(bool)
	if msg, ok := conf["rejected_msg"].(string); ok {
		cfg.RejectedBody = traffic.MessageBody(msg)
	}
	parse := func(r *Rule, m map[string]any, where string) error {
		for i, f := range fields {
			var err error
			if r.Nums[i], err = traffic.ParseNumVar(m[f]); err != nil {
				return fmt.Errorf("%s%s: %w", where, f, err)
			}
		}
		return nil
	}
	if rules, ok := conf["rules"].([]any); ok {
		cfg.FromRules = true
		for i, x := range rules {
			rc, _ := x.(map[string]any)
			var r Rule
			if err := parse(&r, rc, fmt.Sprintf("rules[%d].", i)); err != nil {
				return Config{}, err
			}
			key, _ := rc["key"].(string)
			r.keyTpl = traffic.CompileTemplate(key)
			cfg.Rules = append(cfg.Rules, r)
		}
		return cfg, nil
	}
	var r Rule
	if err := parse(&r, conf, ""); err != nil {
		return Config{}, err
	}
	key, ok := conf["key"].(string)
	if !ok {
		key = defaultKey
	}
	kt, _ := conf["key_type"].(string)
	var err error
	if r.key, err = traffic.NewKey(kt, key); err != nil {
		return Config{}, err
	}
	cfg.Rules = []Rule{r}
	return cfg, nil
}

// Resolve is rule i's counter key and two numbers (in the order of
// Parse's fields) for c, and whether the rule applies. As APISIX does, a
// rule does not apply when its numbers do not resolve to numbers or, for
// a rules[] entry, when its key template has none of its variables set;
// a plain configuration's key always resolves (falling back to
// remote_addr). The plugins go through the rules in order, counting the
// request against each that applies, and Fail it when none does.
//
// It is a per-rule call, not an iterator or a callback, because it sits on
// the request path: both of those measured about 7% slower in
// limit-count's BenchmarkAccess.
func (cfg *Config) Resolve(c *plugin.Ctx, i int) (key string, a, b float64, ok bool) {
	r := &cfg.Rules[i]
	a, ok1 := r.Nums[0].Get(c)
	b, ok2 := r.Nums[1].Get(c)
	if !ok1 || !ok2 {
		return "", 0, 0, false
	}
	if cfg.FromRules {
		k, n := r.keyTpl.Resolve(c)
		if n == 0 {
			return "", 0, 0, false
		}
		return k, a, b, true
	}
	return r.key.Resolve(c), a, b, true
}

// Fail ends the request with a 500 when no rule applies (the limit cannot
// be applied), unless allow_degradation lets it through unlimited.
func (cfg *Config) Fail(c *plugin.Ctx) {
	if !cfg.Degrade {
		c.Exit(http.StatusInternalServerError, nil)
	}
}

// Reject ends a request over the limit with rejected_code and
// rejected_msg.
func (cfg *Config) Reject(c *plugin.Ctx) { c.Exit(cfg.RejectedCode, cfg.RejectedBody) }

// CheckUniqueKeys is the cross-field check the three plugins' check_schema
// share: two rules[] entries may not have the same key, since they would
// share one counter.
func CheckUniqueKeys(conf map[string]any) error {
	rules, _ := confcheck.Objects(conf, "rules")
	seen := map[string]bool{}
	for _, rule := range rules {
		key, _ := confcheck.String(rule, "key")
		if seen[key] {
			return fmt.Errorf("duplicate key '%s' in rules", key)
		}
		seen[key] = true
	}
	return nil
}
