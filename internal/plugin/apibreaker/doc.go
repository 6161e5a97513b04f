// Package apibreaker declares APISIX's api-breaker plugin: its name,
// priority (1005), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it breaks the circuit to an upstream that
// keeps answering unhealthy statuses, answering break_response_code for an
// exponentially growing time (up to max_breaker_sec) until healthy responses
// return.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/api-breaker.lua
// (Apache APISIX 3.x).
package apibreaker
