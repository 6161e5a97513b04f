// Package apibreaker implements APISIX's api-breaker plugin (priority
// 1005), a circuit breaker per route. The log phase counts the upstream's
// statuses: each `unhealthy.failures` statuses of `unhealthy.http_statuses`
// (500) trip the breaker, which then stays open 2^n seconds after the n-th
// trip (2, 4, 8, ... capped at max_breaker_sec, 300); while open the
// access phase answers break_response_code with break_response_body and
// break_response_headers (values may use $variables), or nginx's error
// page when no body is configured, without calling the upstream.
// `healthy.successes` statuses of `healthy.http_statuses` (200) close it
// and forget the failures.
//
// APISIX keys the breaker by host and URI; Stargate keeps one breaker per
// route (per object the plugin is configured on and its configuration), so
// its memory is bounded by the configuration and it survives
// configuration swaps.
//
// Schemas are ported field by field from apisix/plugins/api-breaker.lua
// (Apache APISIX 3.x).
package apibreaker
