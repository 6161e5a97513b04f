// Package faultinjection declares APISIX's fault-injection plugin: its name,
// priority (11000), configuration schemas and the cross-field checks
// APISIX's check_schema makes. When enabled it injects faults: aborts a
// share of requests with a fixed status/body/headers, or delays them,
// optionally only when vars match.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/fault-injection.lua
// (Apache APISIX 3.x).
package faultinjection
