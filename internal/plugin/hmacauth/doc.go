// Package hmacauth is APISIX's hmac-auth plugin (priority 2530, rewrite
// phase, the 3.x scheme). It authenticates a request signed with
// `Authorization: Signature keyId=,algorithm=,headers=,signature=` against
// the consumer's secret_key, checking the algorithm, clock skew, required
// signed headers and optionally the body digest. Failures answer 401 with
// `WWW-Authenticate: hmac realm="hmac"`.
//
// Schemas are ported field by field from apisix/plugins/hmac-auth.lua
// (Apache APISIX 3.x). See README.md.
package hmacauth
