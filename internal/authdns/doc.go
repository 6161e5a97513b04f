// Package authdns is Stargate's authoritative DNS server and its zone model.
//
// Zones and records live in the store under Prefix ("/stargate/dns/"): one
// key per zone (ZoneKey, the zone's settings and SOA serial) and one key
// per record (RecordKey). The admin API writes them, using the model of
// this package (Zone, Record, Record.Validate, ParseZoneFile, ExportZone)
// so that what the API accepts is exactly what the server can answer; the
// server (Server) only watches the store.
//
// The server compiles each zone into an immutable value (names → RRsets,
// delegation points, wildcards, the transfer list) and keeps the set of
// zones in an atomic pointer; a change to one zone recompiles that zone
// only, within the watch's coalescing delay (tens of milliseconds). A record
// that does not build is left out and logged; the rest of its zone keeps
// serving.
//
// Answers follow what operators of Knot, NSD and BIND expect: AA on
// authoritative data, REFUSED outside our zones, NXDOMAIN/NODATA with the
// SOA (RFC 2308), apex NS with glue, referrals at delegations, CNAME
// chasing inside the zone, wildcards (RFC 4592), EDNS0 with the client's
// UDP size and TC=1 when an answer does not fit, minimal ANY (RFC 8482),
// the question's case echoed, AXFR/IXFR over TCP to allowed addresses and
// NOTIFY (RFC 1996) to each zone's secondaries when its serial changes.
//
// Why this package owns the wire loop: miekg/dns parses and packs DNS
// messages (every query that is not plain goes through it), but its server
// decodes every packet into a Msg and allocates per query. The hot path
// here instead matches the question directly in the packet and answers
// from responses packed at compile time (only the ID, flags, the question's
// case and an OPT record are patched; NXDOMAIN from a per-zone template),
// so a common query costs no allocation; anything unusual (wildcards, ANY,
// transfers, EDNS options beyond the size, truncation) falls back to the
// full resolver, which produced those packed answers in the first place,
// so both paths answer alike (a test checks it byte for byte). On Linux,
// UDP is read and answered in batches with recvmmsg/sendmmsg. miekg/dns
// stays behind this package's types: nothing else imports it.
package authdns
