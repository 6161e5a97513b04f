// Package responserewrite declares APISIX's response-rewrite plugin: its
// name, priority (899), configuration schemas and the cross-field checks
// APISIX's check_schema makes. When enabled it rewrites the response sent to
// the client: status code, headers (add/set/remove), and the body (replaced,
// base64-decoded, or edited by regex filters), optionally only when vars
// match.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/response-rewrite.lua
// (Apache APISIX 3.x).
package responserewrite
