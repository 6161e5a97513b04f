// Package cors declares APISIX's cors plugin: its name, priority (4000),
// configuration schemas and the cross-field checks APISIX's check_schema
// makes. When enabled it answers CORS preflight requests and adds the
// Access-Control-* (and Timing-Allow-Origin) headers for allowed origins,
// given as a list, regexes or plugin metadata.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/cors.lua (Apache
// APISIX 3.x).
package cors
