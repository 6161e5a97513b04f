// Package refererrestriction declares APISIX's referer-restriction plugin:
// its name, priority (2990), configuration schemas and the cross-field
// checks APISIX's check_schema makes. When enabled it allows or denies
// requests by the host of their Referer (whitelist or blacklist, `*.`
// wildcards), answering 403 {"message":...}.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from
// apisix/plugins/referer-restriction.lua (Apache APISIX 3.x).
package refererrestriction
