// Package keyauth is APISIX's key-auth plugin (priority 2500, rewrite
// phase). It authenticates a request by an API key sent in a header
// (apikey) or query argument (apikey) and maps it to the consumer whose
// key-auth credential holds that key, setting X-Consumer-Username,
// X-Credential-Identifier and X-Consumer-Custom-ID for the upstream. A
// failure answers 401 {"message":"Missing API key in request"|"Invalid API
// key in request"} with `WWW-Authenticate: apikey realm="key"`, unless
// anonymous_consumer names a consumer to fall back to. hide_credentials
// keeps the key from the upstream.
//
// The package also holds what the other auth plugins share with it:
// Attach (the consumer headers), ConsumerByName (anonymous_consumer) and
// the query-string helpers.
//
// Schemas are ported field by field from apisix/plugins/key-auth.lua (Apache
// APISIX 3.x). See README.md.
package keyauth
