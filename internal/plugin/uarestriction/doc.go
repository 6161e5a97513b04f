// Package uarestriction is APISIX's ua-restriction plugin (priority 2999,
// access phase). It allows or denies requests by User-Agent regexes: with
// an allowlist a request passes when one of its User-Agent values matches
// a rule, with a denylist it is rejected when one matches. A missing
// User-Agent is rejected unless bypass_missing. Rejections answer 403
// {"message": message} ("Not allowed").
//
// Schemas are ported field by field from apisix/plugins/ua-restriction.lua
// (Apache APISIX 3.x). See README.md.
package uarestriction
