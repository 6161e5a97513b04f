// Package consumerrestriction declares APISIX's consumer-restriction plugin:
// its name, priority (2400), configuration schemas and the cross-field
// checks APISIX's check_schema makes. When enabled it allows or denies
// requests by the authenticated consumer's name, consumer group, route or
// service (whitelist, blacklist, allowed_by_methods), answering
// rejected_code.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from
// apisix/plugins/consumer-restriction.lua (Apache APISIX 3.x).
package consumerrestriction
