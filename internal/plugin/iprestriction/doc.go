// Package iprestriction declares APISIX's ip-restriction plugin: its name,
// priority (3000), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it allows or denies clients by IP address
// or CIDR (whitelist or blacklist), answering response_code with
// {"message":...}; it also runs in the stream subsystem.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/ip-restriction.lua
// (Apache APISIX 3.x).
package iprestriction
