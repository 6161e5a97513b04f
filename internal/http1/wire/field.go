package wire

import (
	"net/http"
	"strings"
)

// Field names and values, checked at the speed the request path needs:
// both sides check every field of every request and response, and the
// byte-at-a-time loops of httpguts cost about 7 instructions a byte, the
// largest single item of the proxy's own work after the header maps
// (callgrind, BENCHMARKS.md "Tenth session"). FuzzFieldChecks holds these
// to httpguts' answers.

// tokenTable marks tchar (RFC 9110 section 5.6.2): the bytes of a field
// name and of a method.
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// TokenByte reports whether c may appear in a token (a field name).
func TokenByte(c byte) bool { return tokenTable[c] }

// ValidFieldValue reports whether every byte of s may appear in a field
// value: no control other than HTAB, no DEL (httpguts.ValidHeaderFieldValue).
// Eight bytes are checked at a time; a word that may hold a control (a
// HTAB does too) is looked at byte by byte.
func ValidFieldValue(s string) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte below 0x20 sets its high bit in x-0x20..20 while it is
		// clear in x; a 0x7f byte is a zero byte of x^0x7f..7f. A borrow
		// can only flag bytes above one that is flagged rightly.
		d := x ^ (0x7f * ones)
		if ((x-0x20*ones)&^x|(d-ones)&^d)&highs != 0 {
			for j := i; j < i+8; j++ {
				if !FieldByte(s[j]) {
					return false
				}
			}
		}
	}
	for ; i < len(s); i++ {
		if !FieldByte(s[i]) {
			return false
		}
	}
	return true
}

// HopByHop reports whether the canonical field name k is a hop-by-hop
// field (RFC 9110 section 7.6.1, and the non-standard ones proxies drop):
// Connection, Keep-Alive, Proxy-Connection, Proxy-Authenticate,
// Proxy-Authorization, TE, Trailer, Transfer-Encoding and Upgrade. A
// switch on the length instead of nine map deletions per header map.
func HopByHop(k string) bool {
	switch len(k) {
	case 2:
		return k == "Te"
	case 7:
		return k == "Trailer" || k == "Upgrade"
	case 10:
		return k == "Connection" || k == "Keep-Alive"
	case 16:
		return k == "Proxy-Connection"
	case 17:
		return k == "Transfer-Encoding"
	case 18:
		return k == "Proxy-Authenticate"
	case 19:
		return k == "Proxy-Authorization"
	}
	return false
}

// DeleteNamed deletes from h the fields that the Connection values name
// (RFC 9110 section 7.6.1). The usual tokens (close, keep-alive, upgrade,
// TE) name no field or a hop-by-hop one, which goes anyway: they are
// skipped without canonicalising them (an allocation) or looking them up.
func DeleteNamed(h http.Header, connection []string) {
	for _, v := range connection {
		for name := range strings.SplitSeq(v, ",") {
			if name = TrimOWS(name); name != "" && !UsualConnectionToken(name) {
				h.Del(name)
			}
		}
	}
}

// UsualConnectionToken reports the Connection tokens that name no
// end-to-end field.
func UsualConnectionToken(t string) bool {
	return strings.EqualFold(t, "close") || strings.EqualFold(t, "keep-alive") ||
		strings.EqualFold(t, "upgrade") || strings.EqualFold(t, "te")
}
