// Package requestvalidation is APISIX's request-validation plugin
// (priority 2800, rewrite phase). It validates the request headers
// (header_schema) and the body (body_schema; JSON, or
// application/x-www-form-urlencoded) against JSON Schemas compiled once
// with internal/schema, answering rejected_code (400) with rejected_msg or
// the validator's message. A valid JSON body is sent upstream as the JSON
// that was checked (defaults filled in), as APISIX does.
//
// Schemas are ported field by field from
// apisix/plugins/request-validation.lua (Apache APISIX 3.x). See README.md.
package requestvalidation
