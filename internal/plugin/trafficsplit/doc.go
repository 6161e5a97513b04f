// Package trafficsplit declares APISIX's traffic-split plugin: its name,
// priority (966), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it splits traffic between weighted
// upstreams (by upstream_id or inline upstream, or the route's own when
// neither is given), per rule selected by vars matches.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/traffic-split.lua
// and the upstream schema of apisix/schema_def.lua (Apache APISIX 3.x).
package trafficsplit
