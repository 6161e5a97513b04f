package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/schema"
	"github.com/stargate-edge/stargate/internal/store"
)

// prepare validates a complete object (id and times already set by the
// caller) and returns the bytes to store. Order follows APISIX's
// check_conf: schema, then cross-field rules, plugins, references and, for
// routes, the conflict check Stargate adds.
func (s *Server) prepare(ctx context.Context, r *http.Request, t *target, value map[string]any) ([]byte, error) {
	if err := s.validate(ctx, t, value); err != nil {
		return nil, err
	}
	if err := s.checkTenantValue(ctx, t, value); err != nil {
		return nil, err
	}
	if t.kind.Name == "routes" && r.URL.Query().Get("force") != "true" {
		if other, dup := s.conf.check(t.id, value); dup {
			rk, _ := resource.Lookup("routes")
			if !s.canSee(ctx, rk.Key(other)) {
				return nil, badRequest("route conflicts with a route of another owner: same host, uri, methods, priority and vars")
			}
			return nil, badRequest("route conflicts with route [%s]: same host, uri, methods, priority and vars (use ?force=true to store it anyway)", other)
		}
	}
	if t.kind.Name == "ssls" {
		if err := s.sealSSL(value); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, badRequest("invalid configuration: %v", err)
	}
	return raw, nil
}

// validate runs every check that does not depend on the request itself;
// POST /schema/validate and /configs/validate use it too.
func (s *Server) validate(ctx context.Context, t *target, value map[string]any) error {
	if t.kind.Name == "plugin_metadata" {
		return s.validateMetadata(t, value)
	}
	value[t.kind.IDField] = t.id
	if t.kind.Name == "secrets" {
		value["id"] = t.id
	}
	if pre := preChecks[t.kind.Name]; pre != nil {
		if err := pre(value); err != nil {
			return err
		}
	}
	sc, ok := resource.Schema(t.schema())
	if !ok {
		return fmt.Errorf("admin: no schema %q", t.schema())
	}
	// Secrets keep "<manager>/<id>" in value.id but their schema checks
	// the bare id.
	doc := value
	if t.kind.Name == "secrets" {
		doc = shallowWith(value, "id", lastSeg(t.id))
	}
	if err := sc.Validate(doc); err != nil {
		return badRequest("invalid configuration: %s", err.Error())
	}
	if check := kindChecks[t.kind.Name]; check != nil {
		if err := check(value); err != nil {
			return err
		}
	}
	if err := s.checkPlugins(ctx, t, value); err != nil {
		return err
	}
	if t.kind.Name == "consumers" || t.kind.Name == "credentials" {
		if err := s.checkDuplicateIdentity(ctx, t, value); err != nil {
			return err
		}
	}
	return s.checkRefs(ctx, t, value)
}

func shallowWith(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// validateMetadata checks plugin_metadata/<plugin> against the plugin's
// metadata schema; a plugin without one accepts only an empty object, as in
// APISIX.
func (s *Server) validateMetadata(t *target, value map[string]any) error {
	p, ok := plugin.Lookup(t.id)
	if !ok {
		return badRequest("invalid plugin name")
	}
	value["id"] = t.id
	doc := map[string]any{}
	for k, v := range value {
		if k != "id" && k != "create_time" && k != "update_time" {
			doc[k] = v
		}
	}
	sc := p.Schema(plugin.SchemaMetadata)
	if sc == nil {
		if len(doc) > 0 {
			keys := make([]string, 0, len(doc))
			for k := range doc {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return badRequest("invalid configuration: additional properties forbidden, found %s", keys[0])
		}
		return nil
	}
	if err := sc.Validate(doc); err != nil {
		return badRequest("invalid configuration: %s", err.Error())
	}
	return nil
}

// checkPlugins validates every plugin config of an object.
func (s *Server) checkPlugins(ctx context.Context, t *target, value map[string]any) error {
	plugins, ok := value["plugins"].(map[string]any)
	if !ok {
		return nil
	}
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := plugin.Lookup(name)
		if !ok {
			if t.kind.Name == "credentials" {
				return badRequest("unknown plugin %s", name)
			}
			return badRequest("unknown plugin [%s]", name)
		}
		typ := plugin.SchemaRoute
		switch t.kind.Name {
		case "consumers":
			if p.Type == "auth" {
				typ = plugin.SchemaConsumer
			}
		case "credentials":
			if p.Type != "auth" {
				return badRequest("only supports auth type plugins in consumer credential")
			}
			typ = plugin.SchemaConsumer
		case "stream_routes":
			if !p.Stream {
				return badRequest("unknown plugin [%s]", name)
			}
		}
		if p.Scope == "global" && t.kind.Name != "global_rules" {
			return badRequest("failed to check the configuration of plugin %s err: plugin %s can only be used in global rules", name, name)
		}
		if err := p.Validate(plugins[name], typ); err != nil {
			return badRequest("failed to check the configuration of plugin %s err: %s", name, err.Error())
		}
		if name == "proxy-cache" {
			if err := s.checkCacheZone(plugins[name]); err != nil {
				return badRequest("failed to check the configuration of plugin %s err: %s", name, err.Error())
			}
		}
	}
	if t.kind.Name == "credentials" && len(plugins) > 1 {
		return badRequest("invalid configuration: property \"plugins\" validation failed: expect object to have at most 1 properties")
	}
	if t.kind.Name == "global_rules" {
		return s.checkGlobalRulePlugins(ctx, t.id, names)
	}
	return nil
}

// checkCacheZone refuses a proxy-cache config naming a zone that is not
// configured, or one of the wrong kind for its cache_strategy.
func (s *Server) checkCacheZone(conf any) error {
	m, _ := conf.(map[string]any)
	strategy, _ := m["cache_strategy"].(string)
	if strategy == "" {
		strategy = "disk"
	}
	zone, _ := m["cache_zone"].(string)
	if zone == "" {
		zone = "disk_cache_one"
		if strategy == "memory" {
			zone = "memory_cache"
		}
	}
	if s.opts.CacheZones == nil {
		return nil
	}
	kind, ok := s.opts.CacheZones[zone]
	if !ok {
		return fmt.Errorf("cache_zone %s not found", zone)
	}
	if kind != strategy {
		return fmt.Errorf("invalid or empty cache_zone for cache_strategy: %s", strategy)
	}
	return nil
}

// checkGlobalRulePlugins enforces APISIX 3.15's rule: a plugin may sit in
// only one global rule.
func (s *Server) checkGlobalRulePlugins(ctx context.Context, id string, names []string) error {
	k, _ := resource.Lookup("global_rules")
	kvs, _, err := s.st.List(ctx, k.Prefix+"/")
	if err != nil {
		return storeError(err)
	}
	for _, kv := range kvs {
		var other struct {
			ID      any            `json:"id"`
			Plugins map[string]any `json:"plugins"`
		}
		if json.Unmarshal(kv.Value, &other) != nil || idString(other.ID) == id {
			continue
		}
		for _, n := range names {
			if _, dup := other.Plugins[n]; dup {
				return badRequest("plugin '%s' already exists in global rule with id '%s'", n, idString(other.ID))
			}
		}
	}
	return nil
}

// checkRefs makes sure every referenced object exists (APISIX: "failed to
// fetch upstream info by upstream id [9], response code: 404").
func (s *Server) checkRefs(ctx context.Context, t *target, value map[string]any) error {
	for _, ref := range t.kind.Refs {
		v, ok := value[ref.Field]
		if !ok || v == nil {
			continue
		}
		if err := s.checkRef(ctx, ref.Kind, idString(v)); err != nil {
			return err
		}
	}
	// An upstream (standalone or inline) may name a client certificate.
	for _, up := range upstreamsOf(t.kind.Name, value) {
		tls, _ := up["tls"].(map[string]any)
		if tls == nil || tls["client_cert_id"] == nil {
			continue
		}
		id := idString(tls["client_cert_id"])
		sk, _ := resource.Lookup("ssls")
		kv, err := s.st.Get(ctx, sk.Key(id))
		if err == nil && !s.canSee(ctx, kv.Key) {
			err = store.ErrNotFound
		}
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return badRequest("failed to fetch ssl info by ssl id [%s], response code: 404", id)
			}
			return storeError(err)
		}
		var ssl struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(kv.Value, &ssl)
		if ssl.Type != "client" {
			return badRequest("failed to fetch ssl info by ssl id [%s], wrong ssl type", id)
		}
	}
	if t.kind.Name == "stream_routes" {
		if proto, ok := value["protocol"].(map[string]any); ok && proto["superior_id"] != nil {
			id := idString(proto["superior_id"])
			ok, err := s.visible(ctx, t.kind.Key(id))
			if err != nil {
				return err
			}
			if !ok {
				return badRequest("failed to fetch stream route info by stream route id [%s], response code: 404", id)
			}
		}
	}
	return nil
}

// upstreamsOf returns the upstream objects carried by a value: itself for
// an upstream, the inline `upstream` for routes, services, stream routes.
func upstreamsOf(kind string, value map[string]any) []map[string]any {
	if kind == "upstreams" {
		return []map[string]any{value}
	}
	if up, ok := value["upstream"].(map[string]any); ok {
		return []map[string]any{up}
	}
	return nil
}

// preChecks run before the schema, as routes.lua does, so that their
// messages win over the schema's.
var preChecks = map[string]func(map[string]any) error{
	"routes": func(v map[string]any) error {
		if err := exclusive(v, "host", "hosts"); err != nil {
			return err
		}
		return exclusive(v, "remote_addr", "remote_addrs")
	},
	"ssls": func(v map[string]any) error {
		// Read-only facts the API adds to answers; a client that sends
		// back what it read must not be refused for them.
		for _, f := range []string{"fingerprint", "validity_start", "validity_end"} {
			delete(v, f)
		}
		return defaultSNIs(v)
	},
}

// kindChecks are the cross-field rules APISIX runs in Lua after the schema
// (apisix/admin/<kind>.lua check_conf and friends).
var kindChecks = map[string]func(map[string]any) error{
	"routes":        checkRoute,
	"services":      checkService,
	"upstreams":     func(v map[string]any) error { return checkUpstream(v) },
	"stream_routes": checkStreamRoute,
}

func checkRoute(v map[string]any) error {
	if _, ok := v["script"]; ok {
		return badRequest("invalid configuration: script is not supported by Stargate (it runs no Lua); use plugins")
	}
	if _, ok := v["filter_func"]; ok {
		return badRequest("invalid configuration: filter_func is not supported by Stargate (it runs no Lua); use vars")
	}
	if up, ok := v["upstream"].(map[string]any); ok {
		if err := checkUpstream(up); err != nil {
			return err
		}
	}
	return nil
}

func checkService(v map[string]any) error {
	if _, ok := v["script"]; ok {
		return badRequest("invalid configuration: script is not supported by Stargate (it runs no Lua); use plugins")
	}
	if up, ok := v["upstream"].(map[string]any); ok {
		return checkUpstream(up)
	}
	return nil
}

func checkStreamRoute(v map[string]any) error {
	if up, ok := v["upstream"].(map[string]any); ok {
		return checkUpstream(up)
	}
	return nil
}

func exclusive(v map[string]any, a, b string) error {
	_, hasA := v[a]
	_, hasB := v[b]
	if hasA && hasB {
		return badRequest("only one of %s or %s is allowed", a, b)
	}
	return nil
}

// checkUpstream runs upstream.lua's checks beyond the schema.
func checkUpstream(up map[string]any) error {
	typ, _ := up["type"].(string)
	hashOn, _ := up["hash_on"].(string)
	if hashOn == "" {
		hashOn = "vars"
	}
	if typ == "chash" && hashOn != "consumer" {
		if _, ok := up["key"]; !ok {
			return badRequest("missing key")
		}
	}
	if typ == "chash" && hashOn == "vars" {
		if key, _ := up["key"].(string); key != "" && !validHashVar(key) {
			return badRequest("invalid configuration: failed to match pattern \"^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$\" with %q", key)
		}
	}
	if pass, _ := up["pass_host"].(string); pass == "rewrite" {
		if h, _ := up["upstream_host"].(string); h == "" {
			return badRequest("invalid configuration: `upstream_host` can't be empty when `pass_host` is `rewrite`")
		}
	}
	return nil
}

func validHashVar(k string) bool {
	switch k {
	case "uri", "server_name", "server_addr", "request_uri", "remote_port", "remote_addr", "query_string", "host", "hostname", "mqtt_client_id":
		return true
	}
	if rest, ok := strings.CutPrefix(k, "arg_"); ok && rest != "" {
		for _, c := range rest {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'z' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	return false
}

var _ = schema.Decode
