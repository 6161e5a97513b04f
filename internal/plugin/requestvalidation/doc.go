// Package requestvalidation declares APISIX's request-validation plugin: its
// name, priority (2800), configuration schemas and the cross-field checks
// APISIX's check_schema makes. When enabled it validates request headers
// and/or body against JSON Schemas before proxying, answering rejected_code
// (400) when they do not match.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from
// apisix/plugins/request-validation.lua (Apache APISIX 3.x).
package requestvalidation
