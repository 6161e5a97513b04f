// Package prometheus implements APISIX's prometheus plugin (priority 500):
// in the log phase it records each request in metrics that keep APISIX's
// names, types, help texts, labels and latency buckets (apisix_http_status,
// apisix_bandwidth, apisix_http_latency, apisix_http_requests_total,
// apisix_node_info, ...), so that APISIX's Grafana dashboards work
// unchanged.
//
// The metrics are package-level collectors created once per process;
// Collectors hands them to the process registry, which the admin listener
// serves at /metrics. SetVersion, SetEtcdProbe and SetConnCensus feed the
// node-level metrics. See README.md for the metrics, the label
// cardinality and the differences from APISIX.
//
// The schema is ported from apisix/plugins/prometheus.lua and the metrics
// from apisix/plugins/prometheus/exporter.lua (Apache APISIX 3.x).
package prometheus
