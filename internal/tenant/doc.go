// Package tenant holds Stargate's account model: users, organizations,
// memberships with roles, API tokens, invitations, resource ownership,
// hostname claims and the audit log. It knows nothing about HTTP; the
// admin API (internal/admin) maps requests onto it.
//
// Everything lives in the store next to, never inside, the APISIX objects
// (DESIGN §3):
//
//	/stargate/accounts/users/<user id>          a user (argon2id password hash)
//	/stargate/accounts/usernames/<lower name>   uniqueness claim → user id
//	/stargate/accounts/emails/<lower email>     uniqueness claim → user id
//	/stargate/accounts/orgs/<org id>            an organization (parent for child orgs)
//	/stargate/accounts/members/<org>/<user>     a membership with its role
//	/stargate/accounts/tokens/<sha256(secret)>  a login session or personal access token
//	/stargate/accounts/invites/<sha256(code)>   a pending invitation (expires)
//	/stargate/owners/<object key>               which organization owns an object
//	/stargate/audit/<org id | "-">/<time id>    one audit entry (expires, capped)
//
// The Directory and the Owners and Hosts indexes are kept in memory and
// follow the store with Watch, so lookups never scan the store; every
// write here also updates the index at once (read-your-writes), and a
// watch event older than what the index holds is ignored. Token checks
// read the token key from the store on every request, so a revocation
// holds on the next request on every control node.
package tenant
