// Package proxyrewrite declares APISIX's proxy-rewrite plugin: its name,
// priority (1008), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it rewrites the request sent upstream:
// URI (fixed or by regex_uri), method, Host and request headers
// (add/set/remove).
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/proxy-rewrite.lua
// (Apache APISIX 3.x).
package proxyrewrite
