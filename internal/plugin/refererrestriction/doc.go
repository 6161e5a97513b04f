// Package refererrestriction is APISIX's referer-restriction plugin
// (priority 2990, access phase). It allows (whitelist) or denies
// (blacklist) requests by the host of their Referer, hosts given exactly
// or as "*.example.com" suffixes ("*" alone matches every host). A missing
// or malformed Referer is rejected unless bypass_missing. Rejections answer
// 403 {"message": message} ("Your referer host is not allowed").
//
// Schemas are ported field by field from
// apisix/plugins/referer-restriction.lua (Apache APISIX 3.x). See
// README.md.
package refererrestriction
