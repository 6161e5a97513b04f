// Package trafficsplit implements APISIX's traffic-split plugin (priority
// 966): weighted canary and blue/green releases. `rules` are tried in
// order; a rule without `match`, or whose match has one `vars` expression
// that passes, sends the request to one of its `weighted_upstreams`,
// picked by smooth weighted round robin: an upstream object
// (`upstream_id`, looked up per request), an inline `upstream` (compiled
// with the route, each timeout 15 s unless given, as APISIX), or — an
// entry with only a weight — the route's own upstream. When no rule
// applies the route's upstream serves. A picked upstream_id that does not
// exist is answered 502.
//
// Schemas are ported field by field from apisix/plugins/traffic-split.lua
// and the upstream schema of apisix/schema_def.lua (Apache APISIX 3.x).
package trafficsplit
