// Package schema compiles the JSON Schemas that define Stargate's resources
// and plugins and validates documents against them.
//
// Clients and tests written for APISIX match on its error strings, which come
// from lua-resty-jsonschema ("property \"uri\" validation failed: wrong type:
// expected string, got number"). The validator here is santhosh-tekuri's
// (drafts 4 to 2020-12, precise locations); this package translates its error
// tree into the first error in APISIX's wording, so one schema file serves
// both validation and the /schema endpoints.
package schema
