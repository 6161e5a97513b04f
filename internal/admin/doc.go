// Package admin serves the management API: the APISIX Admin API v3 dialect
// under /api/stargate/v1/ and, identically, /apisix/admin/.
//
// Handlers return errors; one renderer (render.go) turns them into JSON with
// the status codes and messages APISIX clients match on. Client mistakes are
// always 4xx with error_msg; anything unexpected is logged with detail and
// answered with a generic 500, never a stack trace. Writes are validated
// (JSON Schema, then cross-field, plugin and reference checks) before they
// reach the store, so a refused request writes nothing.
//
// A request comes from the platform operator (an admin key, as in APISIX:
// it sees everything) or from a user (a login or personal access token)
// acting in one organization, who sees only that organization's objects
// (principal.go, tenancy.go). Accounts are /auth, /me, /users and /orgs
// (accounts.go, orgs.go); /audit, /hosts, /owners and /stats are in
// tenancy_api.go. The account model itself is internal/tenant.
package admin
