// Package limitcount declares APISIX's limit-count plugin: its name,
// priority (1002), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it limits the number of requests per key
// in a fixed or sliding time window (or per rule), answering rejected_code
// with X-RateLimit-* headers; counters are local or in Redis (single,
// cluster, sentinel).
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/limit-count/init.lua
// and apisix/utils/redis-schema.lua (Apache APISIX 3.x).
package limitcount
