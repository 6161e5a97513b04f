// Package brotli implements APISIX's brotli plugin (priority 996): it
// compresses responses of the configured content types and minimum length
// with Brotli when the client's Accept-Encoding allows "br" and the
// upstream sent nothing already encoded.
//
// The schema is ported from apisix/plugins/brotli.lua (Apache APISIX
// 3.x). The encoder is github.com/andybalholm/brotli, a pure-Go port of
// Google's C encoder: comp_level and lgwin map to its quality and window;
// mode and lgblock are accepted but have no setting there (they only tune
// the encoder, the output is valid Brotli either way). See README.md.
package brotli
