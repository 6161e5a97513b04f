// Package limitreq implements APISIX's limit-req plugin (priority 1001): a
// leaky bucket per key (resty.limit.req). Requests beyond `rate` per
// second but within `burst` are delayed so that they reach the upstream at
// the rate (or pass at once with `nodelay`); beyond rate+burst they are
// answered rejected_code (503) with `{"error_msg":rejected_msg}` or
// nginx's error page. `key` is a variable or, with key_type
// var_combination, a template such as "$remote_addr $http_x_user"; a key
// that does not resolve falls back to the client address. `rules[]` apply
// several buckets.
//
// Buckets are local to the process (policy local); a configuration with a
// Redis policy is refused when it is compiled. They are exact under
// concurrency and survive configuration swaps.
//
// Schemas are ported field by field from apisix/plugins/limit-req.lua and
// apisix/utils/redis-schema.lua (Apache APISIX 3.x).
package limitreq
