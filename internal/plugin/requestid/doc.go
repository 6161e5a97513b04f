// Package requestid declares APISIX's request-id plugin: its name, priority
// (12015), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it adds a unique request ID header (uuid,
// nanoid, range_id, ksuid or uuidv7) to the request sent upstream and, by
// default, to the response.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/request-id.lua
// (Apache APISIX 3.x).
package requestid
