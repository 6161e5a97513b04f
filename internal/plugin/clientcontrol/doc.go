// Package clientcontrol declares APISIX's client-control plugin: its name,
// priority (22000), configuration schemas and the cross-field checks
// APISIX's check_schema makes. When enabled it sets per-route client limits,
// currently the maximum request body size.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/client-control.lua
// (Apache APISIX 3.x).
package clientcontrol
