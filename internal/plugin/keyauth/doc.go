// Package keyauth declares APISIX's key-auth plugin: its name, priority
// (2500), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it authenticates a request by an API key
// sent in a header (apikey) or query argument and maps it to the consumer
// whose key-auth credential holds that key; a failure answers 401
// {"message":"Missing API key in request"|"Invalid API key in request"} with
// WWW-Authenticate, unless anonymous_consumer is set.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/key-auth.lua (Apache
// APISIX 3.x).
package keyauth
