// Package jwtauth declares APISIX's jwt-auth plugin: its name, priority
// (2510), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it authenticates a request by a JWT taken
// from a header, query argument or cookie, finds the consumer by the token's
// key claim and verifies the signature (HS*, RS*, ES*, PS*, EdDSA) and the
// exp/nbf claims.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/jwt-auth.lua (Apache
// APISIX 3.x).
package jwtauth
