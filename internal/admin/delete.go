package admin

import (
	"context"
	"encoding/json"

	"github.com/stargate-edge/stargate/internal/resource"
)

// user is one object that may hold a reference.
type user struct {
	kind  *resource.Kind
	id    string
	value map[string]any
}

func (s *Server) objectsOf(ctx context.Context, kinds ...string) ([]user, error) {
	var out []user
	for _, name := range kinds {
		k, _ := resource.Lookup(name)
		kvs, _, err := s.st.List(ctx, k.Prefix+"/")
		if err != nil {
			return nil, storeError(err)
		}
		for _, kv := range kvs {
			var m map[string]any
			if json.Unmarshal(kv.Value, &m) != nil {
				continue
			}
			id := idString(m[k.IDField])
			if id == "" {
				continue // nested keys such as credentials
			}
			if !s.canSee(ctx, kv.Key) {
				// Still blocks the delete, but another owner's id is not told.
				id = "hidden"
			}
			out = append(out, user{kind: k, id: id, value: m})
		}
	}
	return out, nil
}

// checkDelete refuses to delete an object the live config still uses
// (APISIX: "can not delete this upstream, route [1] is still using it now";
// apisix-ingress-controller matches "still using").
func (s *Server) checkDelete(ctx context.Context, t *target) error {
	id := t.id
	switch t.kind.Name {
	case "upstreams":
		users, err := s.objectsOf(ctx, "routes", "services")
		if err != nil {
			return err
		}
		for _, u := range users {
			if idString(u.value["upstream_id"]) == id && u.value["upstream_id"] != nil {
				return badRequest("can not delete this upstream, %s [%s] is still using it now", u.kind.Label, u.id)
			}
		}
		users, err = s.objectsOf(ctx, "routes", "services", "plugin_configs", "consumers", "consumer_groups", "global_rules")
		if err != nil {
			return err
		}
		for _, u := range users {
			if trafficSplitUses(u.value, id) {
				return badRequest("can not delete this upstream, plugin in %s [%s] is still using it now", u.kind.Label, u.id)
			}
		}
	case "services":
		users, err := s.objectsOf(ctx, "routes", "stream_routes")
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.value["service_id"] != nil && idString(u.value["service_id"]) == id {
				return badRequest("can not delete this service directly, %s [%s] is still using it now", u.kind.Label, u.id)
			}
		}
	case "plugin_configs":
		users, err := s.objectsOf(ctx, "routes")
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.value["plugin_config_id"] != nil && idString(u.value["plugin_config_id"]) == id {
				return badRequest("can not delete this plugin config, route [%s] is still using it now", u.id)
			}
		}
	case "consumer_groups":
		users, err := s.objectsOf(ctx, "consumers")
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.value["group_id"] != nil && idString(u.value["group_id"]) == id {
				return badRequest("can not delete this consumer group, consumer [%s] is still using it now", u.id)
			}
		}
	case "protos":
		users, err := s.objectsOf(ctx, "routes", "services", "plugin_configs", "consumers", "consumer_groups", "global_rules")
		if err != nil {
			return err
		}
		for _, u := range users {
			plugins, _ := u.value["plugins"].(map[string]any)
			gt, _ := plugins["grpc-transcode"].(map[string]any)
			if gt != nil && gt["proto_id"] != nil && idString(gt["proto_id"]) == id {
				return badRequest("can not delete this proto, %s [%s] is still using it now", u.kind.Label, u.id)
			}
		}
	case "stream_routes":
		users, err := s.objectsOf(ctx, "stream_routes")
		if err != nil {
			return err
		}
		for _, u := range users {
			proto, _ := u.value["protocol"].(map[string]any)
			if proto != nil && proto["superior_id"] != nil && idString(proto["superior_id"]) == id {
				return badRequest("can not delete this stream route directly, stream_route [%s] is still using it now", u.id)
			}
		}
	}
	return nil
}

// trafficSplitUses tells whether an object's traffic-split plugin sends
// traffic to upstream id.
func trafficSplitUses(v map[string]any, id string) bool {
	plugins, _ := v["plugins"].(map[string]any)
	ts, _ := plugins["traffic-split"].(map[string]any)
	rules, _ := ts["rules"].([]any)
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		wus, _ := rm["weighted_upstreams"].([]any)
		for _, wu := range wus {
			m, _ := wu.(map[string]any)
			if m != nil && m["upstream_id"] != nil && idString(m["upstream_id"]) == id {
				return true
			}
		}
	}
	return false
}
