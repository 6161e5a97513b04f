// Package basicauth is APISIX's basic-auth plugin (priority 2520, rewrite
// phase). It authenticates a request by HTTP Basic credentials against the
// consumers' basic-auth username/password; failures answer 401 with
// `WWW-Authenticate: Basic realm="basic"`. hide_credentials removes the
// Authorization header before proxying.
//
// Schemas are ported field by field from apisix/plugins/basic-auth.lua
// (Apache APISIX 3.x). See README.md.
package basicauth
