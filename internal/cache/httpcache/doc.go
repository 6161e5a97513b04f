// Package httpcache holds the HTTP caching rules a shared cache applies
// (RFC 9111, RFC 5861 and the conditional and range parts of RFC 9110):
// Cache-Control parsing, storability, freshness lifetime and age, Vary
// variants, revalidation headers, client conditionals and byte ranges.
// It is pure: no I/O, no clocks of its own; the proxy-cache plugin
// combines it with the zones of package cache.
package httpcache
