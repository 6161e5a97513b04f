// Package gzip declares APISIX's gzip plugin: its name, priority (995),
// configuration schemas and the cross-field checks APISIX's check_schema
// makes. When enabled it compresses responses of the configured content
// types and minimum length with gzip.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/gzip.lua (Apache
// APISIX 3.x).
package gzip
