// Package echo declares APISIX's echo plugin: its name, priority (412),
// configuration schemas and the cross-field checks APISIX's check_schema
// makes. When enabled it replaces or surrounds the upstream response body
// (before_body, body, after_body) and sets response headers.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/echo.lua (Apache
// APISIX 3.x).
package echo
