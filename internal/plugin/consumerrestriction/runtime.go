package consumerrestriction

import (
	"encoding/json"
	"net/http"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// restriction is consumer-restriction compiled. It runs in the access
// phase (after the auth plugins' rewrite phase) and allows or denies the
// request by its consumer name, consumer group, route or service.
type restriction struct {
	get       func(c *plugin.Ctx) string
	blacklist []string
	whitelist []string
	byMethods []methodRule
	status    int
	body      []byte // rejection
	missing   []byte // the value to check is unknown
}

type methodRule struct {
	user    string
	hasUser bool
	methods []string
}

var _ plugin.Accessor = (*restriction)(nil)

func message(s string) []byte {
	b, _ := json.Marshal(map[string]string{"message": s})
	return append(b, '\n')
}

var getters = map[string]func(c *plugin.Ctx) string{
	"consumer_name": func(c *plugin.Ctx) string {
		if c.Consumer == nil {
			return ""
		}
		return c.Consumer.Username
	},
	"consumer_group_id": func(c *plugin.Ctx) string {
		if c.Consumer == nil {
			return ""
		}
		return c.Consumer.GroupID
	},
	"route_id":   func(c *plugin.Ctx) string { return c.RouteID },
	"service_id": func(c *plugin.Ctx) string { return c.ServiceID },
}

func newRestriction(conf map[string]any) (any, error) {
	typ := "consumer_name"
	if s, ok := conf["type"].(string); ok {
		typ = s
	}
	r := &restriction{get: getters[typ], status: http.StatusForbidden}
	if r.get == nil {
		r.get = getters["consumer_name"]
		typ = "consumer_name"
	}
	r.blacklist, _ = confcheck.Strings(conf, "blacklist")
	r.whitelist, _ = confcheck.Strings(conf, "whitelist")
	rules, _ := confcheck.Objects(conf, "allowed_by_methods")
	for _, m := range rules {
		var rule methodRule
		rule.user, rule.hasUser = m["user"].(string)
		rule.methods, _ = confcheck.Strings(m, "methods")
		r.byMethods = append(r.byMethods, rule)
	}
	if n, ok := confcheck.Number(conf["rejected_code"]); ok {
		r.status = int(n)
	}
	if msg, ok := conf["rejected_msg"].(string); ok {
		r.body = message(msg)
	} else {
		r.body = message("The " + typ + " is forbidden.")
	}
	r.missing = message("The request is rejected, please check the " + typ + " for this request")
	return r, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// methodAllowed is APISIX's is_method_allowed: the first rule for the user
// decides; a user without a rule may use any method.
func (r *restriction) methodAllowed(method, user string) bool {
	for _, rule := range r.byMethods {
		if rule.hasUser && rule.user == user {
			return contains(rule.methods, method)
		}
	}
	return true
}

func (r *restriction) Access(c *plugin.Ctx) {
	value := r.get(c)
	if value == "" {
		c.Exit(http.StatusUnauthorized, r.missing)
		return
	}
	if len(r.blacklist) > 0 && contains(r.blacklist, value) {
		c.Exit(r.status, r.body)
		return
	}
	block, whitelisted := false, false
	if len(r.whitelist) > 0 {
		whitelisted = contains(r.whitelist, value)
		block = !whitelisted
	}
	if len(r.byMethods) > 0 && !whitelisted && !r.methodAllowed(c.Req.Method, value) {
		block = true
	}
	if block {
		c.Exit(r.status, r.body)
	}
}
