// Package limitcount implements APISIX's limit-count plugin (priority
// 1002): at most `count` requests per `time_window` seconds per key, in a
// fixed window (starting at a key's first request) or APISIX's sliding
// window, answering rejected_code (503) with `{"error_msg":rejected_msg}`
// or nginx's error page, and X-RateLimit-Limit / -Remaining / -Reset on
// every answer (show_limit_quota_header). `rules[]` apply several limits
// with their own header prefixes; `group` shares one counter between every
// route of the group.
//
// Counters are local to the process (policy local); a configuration with
// a Redis policy is refused when it is compiled. They are exact under
// concurrency and survive configuration swaps: they are keyed by the
// object the plugin is configured on and the plugin's configuration.
//
// Schemas are ported field by field from apisix/plugins/limit-count/init.lua
// and apisix/utils/redis-schema.lua (Apache APISIX 3.x).
package limitcount
