// Package traffic holds what Stargate's traffic plugins (limit-req,
// limit-count, limit-conn, api-breaker, traffic-split, fault-injection)
// share: APISIX's variable templates (core.utils.resolve_var) and limit
// keys, the error pages nginx sends for a bare `return code`, a registry
// that keeps long-lived state across configuration swaps, and a sharded
// table of per-key counters with bounded memory.
//
// It is not a plugin and registers nothing.
package traffic
