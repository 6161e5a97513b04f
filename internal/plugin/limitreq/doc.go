// Package limitreq declares APISIX's limit-req plugin: its name, priority
// (1001), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it limits the request rate per key with a
// leaky bucket (rate, burst, optional nodelay), answering rejected_code
// beyond rate+burst; state is local or in Redis.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/limit-req.lua and
// apisix/utils/redis-schema.lua (Apache APISIX 3.x).
package limitreq
