// Package cache holds the cache zones of an edge (DESIGN §6, spec/cache.md):
// named stores of HTTP responses with a size cap, in memory or on disk,
// each with a key index that makes listing and purging O(index).
//
// A Zone stores Entries. An Entry is one stored response: its cache key,
// the Vary variant it belongs to, URL, method, status, size, times and
// flags. Entries are immutable once published; a refresh publishes a new
// one. Responses that Vary get one Entry per variant under one key; the
// zone keeps which request fields select the variant.
//
// Memory zones keep entries and bodies in an otter cache weighted by bytes
// (W-TinyLFU admission and eviction). Disk zones keep one file per entry
// (header, metadata, body and a CRC-32C trailer, written to a temporary
// file and renamed, so a crash never leaves a torn object under a live
// name, and a file that fails its checksum is dropped, never served),
// and an in-memory index (a map plus a CLOCK ring for eviction) persisted
// as an append-only log with periodic snapshots in the zone directory, so
// the index survives restarts without walking the files. Both keep usage
// within the cap plus one object: inserts are serialised with eviction.
//
// Zones are process-wide: cmd/stargate opens them once from the static
// configuration and publishes them with SetZones; the proxy-cache plugin
// finds its zone with Lookup when a snapshot compiles, so zones (and their
// contents) outlive configuration swaps. Purges are applied with a purge
// epoch: a response fetched before a purge and committed after it is
// dropped if the purge matches it, so nothing purged is served after the
// purge returns.
package cache
