// Package gzip is APISIX's gzip plugin (priority 995, body filter). It
// compresses responses with gzip when APISIX's conditions (listed
// Content-Type, length at least min_length when known, HTTP version) and
// nginx's gzip module's (status 200/403/404, nothing already encoded, a
// client Accept-Encoding that allows gzip) hold, streaming the body through
// a pooled encoder at comp_level; vary adds "Vary: Accept-Encoding".
//
// Schemas are ported field by field from apisix/plugins/gzip.lua (Apache
// APISIX 3.x). See README.md.
package gzip
