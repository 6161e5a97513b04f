// Package mocking is APISIX's mocking plugin (priority 10900, access
// phase). It answers requests itself, without the upstream: with
// response_example (its $variables resolved) or with data generated from
// response_schema (JSON or XML), response_status, content_type,
// response_headers, an optional delay in seconds, and
// "x-mock-by: APISIX/3.18.0" unless with_mock_header is false.
//
// Schemas are ported field by field from apisix/plugins/mocking.lua (Apache
// APISIX 3.x). See README.md.
package mocking
