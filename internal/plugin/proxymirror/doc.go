// Package proxymirror declares APISIX's proxy-mirror plugin: its name,
// priority (1010), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it mirrors a sample of requests to
// another host (and optionally path), discarding the mirror's responses.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/proxy-mirror.lua
// (Apache APISIX 3.x).
package proxymirror
