// Package consumerrestriction is APISIX's consumer-restriction plugin
// (priority 2400, access phase, so after the auth plugins). It allows or
// denies requests by the authenticated consumer's name, consumer group,
// route or service (whitelist, blacklist, allowed_by_methods), answering
// rejected_code (403) with {"message":"The <type> is forbidden."} or
// rejected_msg.
//
// Schemas are ported field by field from
// apisix/plugins/consumer-restriction.lua (Apache APISIX 3.x). See
// README.md.
package consumerrestriction
