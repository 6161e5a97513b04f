// Package prometheus declares APISIX's prometheus plugin: its name, priority
// (500), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it records request metrics with APISIX's
// metric names and labels (apisix_http_status, apisix_bandwidth,
// apisix_http_latency, ...) for the metrics endpoint; it also runs in the
// stream subsystem.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/prometheus.lua
// (Apache APISIX 3.x).
package prometheus
