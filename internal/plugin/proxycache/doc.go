// Package proxycache declares APISIX's proxy-cache plugin: its name,
// priority (1085), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it caches upstream responses in a disk or
// memory cache zone under a key built from variables, answers hits with
// Apisix-Cache-Status, honours upstream Cache-Control and Vary, and deletes
// an entry on PURGE.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/proxy-cache/init.lua
// (Apache APISIX 3.x).
package proxycache
