// Package forwardauth declares APISIX's forward-auth plugin: its name,
// priority (2002), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it asks an external authorization service
// about each request, forwarding chosen request headers, and either passes
// the request on (with chosen response headers) or answers with the
// service's response.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/forward-auth.lua
// (Apache APISIX 3.x).
package forwardauth
