// Package realip declares APISIX's real-ip plugin: its name, priority
// (23000), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it replaces the client address with one
// taken from a variable or header (e.g. X-Forwarded-For) when the peer is a
// trusted address, optionally walking the list recursively.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/real-ip.lua (Apache
// APISIX 3.x).
package realip
