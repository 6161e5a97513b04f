// Package uriblocker implements APISIX's uri-blocker plugin (priority
// 2900): in the rewrite phase it rejects requests whose URI matches any of
// the block_rules regexes, answering rejected_code (403) with
// {"error_msg": rejected_msg}, or with nginx's error page when no message
// is configured.
//
// The schema is ported from apisix/plugins/uri-blocker.lua (Apache APISIX
// 3.x); the rules are matched against the request URI as the client sent
// it (path and query) and against its normalised path, so that
// "/./internal/x" cannot slip past "^/internal/". See README.md.
package uriblocker
