// Package httplogger declares APISIX's http-logger plugin: its name,
// priority (410), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it sends access log entries, in batches,
// as JSON or newline-delimited JSON to an HTTP(S) endpoint.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/http-logger.lua and
// apisix/utils/batch-processor.lua (Apache APISIX 3.x).
package httplogger
