// Package mocking declares APISIX's mocking plugin: its name, priority
// (10900), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it answers requests with a mock response,
// given as an example body or generated from a JSON Schema, without
// contacting the upstream.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/mocking.lua (Apache
// APISIX 3.x).
package mocking
