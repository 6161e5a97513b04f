// Package proxy is the data plane's HTTP side: the listeners (HTTP/1.1 and
// h2c, TLS with SNI and HTTP/2 by ALPN), and the request pipeline of
// DESIGN §5: match a route in the current snapshot, run the global and
// route plugin chains, pick an upstream node, proxy with retries and
// timeouts, feed the result back to the balancer and health checks, and
// run the header and log phases.
//
// The pipeline reads one snapshot per request, so a config swap never
// changes a request half-way. Per-request work is only what the request
// itself needs; everything derivable from config was compiled before.
package proxy
