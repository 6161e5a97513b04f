// Package basicauth declares APISIX's basic-auth plugin: its name, priority
// (2520), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it authenticates a request by HTTP Basic
// credentials against the consumers' basic-auth username/password,
// optionally removing the Authorization header before proxying.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/basic-auth.lua
// (Apache APISIX 3.x).
package basicauth
