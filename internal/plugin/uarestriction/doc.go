// Package uarestriction declares APISIX's ua-restriction plugin: its name,
// priority (2999), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it allows or denies requests whose
// User-Agent matches regexes (allowlist or denylist), answering 403
// {"message":...}.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/ua-restriction.lua
// (Apache APISIX 3.x).
package uarestriction
