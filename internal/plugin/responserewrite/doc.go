// Package responserewrite is APISIX's response-rewrite plugin (priority
// 899, header and body filters). When its vars match the response it sets
// the status, adds/sets/removes headers (values may name $variables), and
// replaces the body (body, body_base64) or edits it with regex filters
// (once or global, PCRE options, $1 references) — gzip or brotli encoded
// upstream bodies are decoded first. It applies to upstream answers and to
// other plugins' rejections alike.
//
// Schemas are ported field by field from apisix/plugins/response-rewrite.lua
// (Apache APISIX 3.x). See README.md.
package responserewrite
