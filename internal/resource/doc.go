// Package resource defines the configuration objects of the admin API
// (routes, upstreams, services, consumers, ssls, ...): where each lives in
// the store, which methods it takes, which other objects it references, and
// the JSON Schema that validates it.
//
// Values are stored exactly as the client sent them plus id, create_time and
// update_time (APISIX >= 3.14), so diff-based tools see their own input
// back; defaults are applied when the data plane compiles a snapshot. The
// schemas under schemas/ are ported field by field from APISIX's
// schema_def.lua and are what GET /schema/{resource} serves.
package resource
