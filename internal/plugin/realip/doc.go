// Package realip is APISIX's real-ip plugin (priority 23000, rewrite
// phase). When the peer is a trusted address (or no trusted_addresses are
// set) it replaces the client address with the one from source — the last
// X-Forwarded-For hop, or with recursive the rightmost untrusted one, or
// any other variable — so that every later plugin, the X-Forwarded-For and
// X-Real-IP sent upstream and the access log see the real client.
//
// Schemas are ported field by field from apisix/plugins/real-ip.lua (Apache
// APISIX 3.x). See README.md.
package realip
