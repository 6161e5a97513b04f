// Package hmacauth declares APISIX's hmac-auth plugin: its name, priority
// (2530), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it authenticates a request signed with
// `Authorization: Signature keyId=,algorithm=,headers=,signature=` against
// the consumer's secret_key, checking clock skew, required signed headers
// and optionally the body digest.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/hmac-auth.lua
// (Apache APISIX 3.x).
package hmacauth
