// Package limitconn implements APISIX's limit-conn plugin (priority 1003):
// it limits the requests in flight per key (resty.limit.conn). Up to
// `conn` run at once; the next `burst` wait default_conn_delay for each
// multiple of conn they exceed (a delay that, unless
// only_use_default_delay, learns from request latencies); beyond
// conn+burst requests are answered rejected_code (503) with
// `{"error_msg":rejected_msg}` or nginx's error page. The count goes up in
// the access phase and down in the log phase. `rules[]` apply several
// limits.
//
// Counts are local to the process (policy local); a configuration with a
// Redis policy is refused when it is compiled. They are exact under
// concurrency and survive configuration swaps (a request that started
// under the old configuration gives its slot back to the same counter).
//
// Schemas are ported field by field from apisix/plugins/limit-conn.lua and
// apisix/utils/redis-schema.lua (Apache APISIX 3.x).
package limitconn
