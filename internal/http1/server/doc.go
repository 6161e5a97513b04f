// Package server is the data plane's HTTP/1.1 listener: a lean
// replacement for net/http's server on the proxy ports, plain and TLS.
// HTTP/2 — h2c by prior knowledge, h2 by ALPN — is handed to
// golang.org/x/net/http2, with this server's header cap and per-read and
// per-write timeouts applied to each stream (h2.go).
//
// Why not net/http: measured on the 2-core benchmark machine, a bare
// net/http handler writing a prebuilt 1 KB answer reaches 0.87× nginx
// while a hand-written HTTP/1.1 responder reaches 1.46× (DESIGN §5). The
// difference is per-request work that a proxy does not need: a background
// read goroutine per request (for CloseNotify and context cancellation),
// a context and cancel func per request, textproto's line-by-line header
// reader with a string per key and value, and a response writer with two
// layers of buffering. This server reads each request's header block into
// one string and slices keys and values out of it, writes the status line
// and headers straight into the connection's bufio.Writer, and flushes
// once per response — or once per batch when requests are pipelined.
//
// It still hands handlers a *http.Request and an http.ResponseWriter
// (with Flush, Hijack and ReadFrom), so the plugin pipeline, the
// WebSocket path (httputil.ReverseProxy) and HTTP/2 share one handler.
// DESIGN §5 planned TLS on the standard library; serving HTTP/1.1 over TLS
// here too keeps both ports' parsing and defences identical (net/http lets
// chunked win over a conflicting Content-Length where this server refuses
// the request), and the TLS handshake itself is still crypto/tls.
//
// Stricter than net/http where a public edge should be (RFC 9112):
// Content-Length together with Transfer-Encoding is refused with 400, as
// nginx does, instead of letting chunked win; obs-fold, whitespace before
// the colon, control characters and duplicate Host headers are 400; a
// transfer coding other than chunked is 501; a header block over the
// limit is 431.
//
// What it does not do: request contexts are not cancelled when a client
// disconnects mid-request (the proxy notices on its next write, as nginx
// does with proxy_ignore_client_abort off only at its next event), and
// there is no Upgrade: h2c (only prior knowledge), matching net/http.
package server
