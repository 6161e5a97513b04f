// Package jwtauth is APISIX's jwt-auth plugin (priority 2510, rewrite
// phase). It authenticates a request by a JWT taken from a header, query
// argument or cookie: the token's key claim names the consumer, whose
// secret (HS256/384/512) or public key (RS*, PS*, ES*, EdDSA) verifies the
// signature with the consumer's algorithm, and exp/nbf are checked with
// the consumer's lifetime_grace_period. Failures answer 401 with
// `WWW-Authenticate: Bearer realm="jwt"`.
//
// Schemas are ported field by field from apisix/plugins/jwt-auth.lua (Apache
// APISIX 3.x). See README.md.
package jwtauth
