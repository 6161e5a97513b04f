// Package router matches requests to routes with APISIX's
// radixtree_host_uri semantics: routes with hosts beat host-less routes
// whatever their priority; within a host, an exact uri beats a :param uri,
// which beats a prefix (`/a/*`, `/a*`), a deeper prefix beating a shallower
// one; for the same path, higher priority is tried first, then methods,
// remote addresses and vars decide.
//
// A Router is immutable. Its tables are persistent radix trees, so With
// derives a new Router from a few changed routes in time proportional to
// the change, not to the number of routes: a single route update does not
// rebuild a 100k-route table (APISIX #9140).
package router
