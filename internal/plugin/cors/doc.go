// Package cors is APISIX's cors plugin (priority 4000). In the rewrite
// phase it answers every OPTIONS request on the route itself (an empty 200,
// so preflights never reach the upstream or the auth plugins); in the
// header filter it sets Access-Control-Allow-Origin/-Methods/-Headers/
// -Max-Age, -Expose-Headers and -Allow-Credentials (and Timing-Allow-Origin)
// on every answer whose Origin is allowed — by allow_origins ("*", "**" or
// a comma list) or, when configured, by allow_origins_by_regex alone — and
// "Vary: Origin" whenever the answer depends on the Origin.
//
// Schemas are ported field by field from apisix/plugins/cors.lua (Apache
// APISIX 3.x). See README.md.
package cors
