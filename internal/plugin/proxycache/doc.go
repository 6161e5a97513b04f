// Package proxycache declares APISIX's proxy-cache plugin: its name,
// priority (1085), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it caches upstream responses in a disk or
// memory cache zone under a key built from variables, answers hits with
// Apisix-Cache-Status, honours upstream Cache-Control and Vary, and deletes
// an entry on PURGE.
//
// The runtime (runtime.go) is a plugin.Responder: after the access phase
// it answers from the zone named by cache_zone, which it finds in the
// process-wide registry of package cache (cache.Lookup) when the snapshot
// compiles; zones are opened once at start and outlive configuration
// swaps. A route whose zone does not exist is left out of the data plane.
//
// Behaviour beyond APISIX's (spec/cache.md): RFC 9111 freshness from the
// origin (s-maxage, max-age, Expires, Age/Date; cache_ttl for memory zones
// and the zone's 10 s default for disk zones when the origin says
// nothing), no-store/private/no-cache, Vary variants, revalidation with
// ETag/Last-Modified (REVALIDATED on a 304), RFC 5861
// stale-while-revalidate (UPDATING) and stale-if-error (STALE), request
// coalescing (one origin fetch per key; the others wait for it), HEAD,
// byte ranges and client conditionals answered from the stored object,
// Age, and PURGE. With cache_control, the client's Cache-Control is
// honoured too (no-store/no-cache bypass, max-age, min-fresh, max-stale,
// only-if-cached). With consumer_isolation, an authenticated consumer's
// key gets the suffix "#consumer=<name>".
//
// Schemas are ported field by field from apisix/plugins/proxy-cache/init.lua
// (Apache APISIX 3.x).
package proxycache
