// Package redirect declares APISIX's redirect plugin: its name, priority
// (900), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it answers with a redirect to a URI
// template, a regex_uri substitution, or the HTTPS version of the request
// (301/308).
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/redirect.lua (Apache
// APISIX 3.x).
package redirect
