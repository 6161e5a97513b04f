// Package admin serves the management API: the APISIX Admin API v3 dialect
// under /api/stargate/v1/ and, identically, /apisix/admin/.
//
// Handlers return errors; one renderer (render.go) turns them into JSON with
// the status codes and messages APISIX clients match on. Client mistakes are
// always 4xx with error_msg; anything unexpected is logged with detail and
// answered with a generic 500, never a stack trace. Writes are validated
// (JSON Schema, then cross-field, plugin and reference checks) before they
// reach the store, so a refused request writes nothing.
package admin
