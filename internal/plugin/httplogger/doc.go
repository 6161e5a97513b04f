// Package httplogger implements APISIX's http-logger plugin (priority 410):
// each request's log entry — APISIX's default entry or a log_format from
// the plugin's config or plugin_metadata — is queued in the log phase and
// sent in batches, as a JSON array or newline-delimited JSON, to an HTTP(S)
// collector by APISIX's batch processor rules (batch_max_size,
// inactive_timeout, buffer_duration, max_retry_count, retry_delay).
//
// A request never waits for the collector: entries go to a bounded buffer
// (dropped and counted when full) drained by one goroutine per logger,
// which lives only while there is something to send. A logger is
// identified by the configured object's key and its configuration, so a
// recompiled snapshot keeps its buffer; it is forgotten once no compiled
// instance uses it and its buffer is empty.
//
// Schemas are ported field by field from apisix/plugins/http-logger.lua and
// apisix/utils/batch-processor.lua, the entry from apisix/utils/log-util.lua
// (Apache APISIX 3.x). See README.md.
package httplogger
