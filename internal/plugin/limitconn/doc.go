// Package limitconn declares APISIX's limit-conn plugin: its name, priority
// (1003), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it limits concurrent requests per key
// (conn, burst, default_conn_delay), delaying the excess up to burst and
// rejecting the rest with rejected_code; it also runs in the stream
// subsystem.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/limit-conn.lua and
// apisix/utils/redis-schema.lua (Apache APISIX 3.x).
package limitconn
