// Package redirect is APISIX's redirect plugin (priority 900, rewrite
// phase). It answers with a redirect to a uri template ($var, ${var}), to
// a regex_uri substitution of the path, or — http_to_https — to the https
// version of a plain-http request (301 for GET/HEAD, 308 otherwise);
// encode_uri escapes the new path and append_query_string keeps the query.
// The body is nginx's page for the status, as APISIX sends it.
//
// Schemas are ported field by field from apisix/plugins/redirect.lua (Apache
// APISIX 3.x). See README.md.
package redirect
