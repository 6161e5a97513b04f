// Package faultinjection implements APISIX's fault-injection plugin
// (priority 11000), in the rewrite phase: `delay` sleeps `duration`
// seconds, then `abort` answers `http_status` with `body` (variables such
// as $remote_addr resolved; nginx's error page when no body is given) and
// `headers`, without calling the upstream. Each applies to `percentage`
// of the requests (all when unset) and, with `vars`, only when one of its
// expressions matches.
//
// Schemas are ported field by field from apisix/plugins/fault-injection.lua
// (Apache APISIX 3.x).
package faultinjection
