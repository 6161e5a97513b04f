package admin

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/stargate-edge/stargate/internal/resource"
)

// identityAttr is the consumer config field that identifies a consumer to
// an auth plugin; two consumers with the same one would be ambiguous
// (APISIX 3.18 refuses them too, #13529).
var identityAttr = map[string]string{
	"key-auth":   "key",
	"basic-auth": "username",
	"jwt-auth":   "key",
	"hmac-auth":  "key_id",
	"ldap-auth":  "user_dn",
}

// checkDuplicateIdentity refuses a consumer or credential whose auth
// identity is already used by another consumer or credential.
func (s *Server) checkDuplicateIdentity(ctx context.Context, t *target, value map[string]any) error {
	plugins, _ := value["plugins"].(map[string]any)
	want := map[string]string{} // plugin -> identity
	for name, conf := range plugins {
		attr, ok := identityAttr[name]
		if !ok {
			continue
		}
		m, _ := conf.(map[string]any)
		if v, ok := m[attr].(string); ok && v != "" && !strings.HasPrefix(v, "$secret://") && !strings.HasPrefix(v, "$env://") {
			want[name] = v
		}
	}
	if len(want) == 0 {
		return nil
	}
	ck, _ := resource.Lookup("consumers")
	kvs, _, err := s.st.List(ctx, ck.Prefix+"/")
	if err != nil {
		return storeError(err)
	}
	self := t.key()
	for _, kv := range kvs {
		if kv.Key == self {
			continue
		}
		var other struct {
			Plugins map[string]map[string]any `json:"plugins"`
		}
		if json.Unmarshal(kv.Value, &other) != nil {
			continue
		}
		for name, v := range want {
			if got, _ := other.Plugins[name][identityAttr[name]].(string); got == v {
				if !s.canSee(ctx, kv.Key) {
					return badRequest("duplicate %s of plugin %s: it is already in use", identityAttr[name], name)
				}
				rest := strings.TrimPrefix(kv.Key, ck.Prefix+"/")
				user, cred, isCred := strings.Cut(rest, "/credentials/")
				if isCred {
					return badRequest("duplicate %s of plugin %s found with credential: %s of consumer: %s", identityAttr[name], name, cred, user)
				}
				return badRequest("duplicate %s of plugin %s found with consumer: %s", identityAttr[name], name, user)
			}
		}
	}
	return nil
}
