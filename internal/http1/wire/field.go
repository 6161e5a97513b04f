package wire

import (
	"iter"
	"net/http"
	"net/textproto"
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

// ValidFieldValue reports whether every byte of s may appear in a field
// value: no control other than HTAB, no DEL (httpguts.ValidHeaderFieldValue).
// Eight bytes are checked at a time, the last eight overlapping the word
// before; a word that may hold a control (a HTAB does too) is looked at
// byte by byte.
func ValidFieldValue(s string) bool {
	if len(s) < 8 {
		return validBytes(s)
	}
	for i := 0; i < len(s); i += 8 {
		if i > len(s)-8 {
			i = len(s) - 8
		}
		w := s[i : i+8]
		if !cleanWord(uint64(w[0])|uint64(w[1])<<8|uint64(w[2])<<16|uint64(w[3])<<24|
			uint64(w[4])<<32|uint64(w[5])<<40|uint64(w[6])<<48|uint64(w[7])<<56) && !validBytes(w) {
			return false
		}
	}
	return true
}

// cleanWord reports that none of the eight bytes of x is below 0x20 or
// 0x7f: a byte below 0x20 sets its high bit in x-0x20..20 while it is
// clear in x, and a 0x7f byte is a zero byte of x^0x7f..7f. A borrow can
// only flag bytes above one flagged rightly, so false means "look".
func cleanWord(x uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	d := x ^ (0x7f * ones)
	return ((x-0x20*ones)&^x|(d-ones)&^d)&highs == 0
}

func validBytes(s string) bool {
	for i := 0; i < len(s); i++ {
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
// (RFC 9110 section 7.6.1), each token trimmed of spaces as net/http's
// reverse proxy trims them. The usual tokens (close, keep-alive, upgrade,
// TE) name no field or a hop-by-hop one, which goes anyway: they are
// skipped without canonicalising them (an allocation) or looking them up.
func DeleteNamed(h http.Header, connection []string) {
	for name := range tokens(connection) {
		if !UsualConnectionToken(name) {
			h.Del(name)
		}
	}
}

// tokens yields the tokens of the Connection values, each trimmed of
// spaces, empty ones left out.
func tokens(connection []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, v := range connection {
			for t := range strings.SplitSeq(v, ",") {
				if t = strings.TrimSpace(t); t != "" && !yield(t) {
					return
				}
			}
		}
	}
}

// NamesFields reports whether the Connection values name a field other
// than a hop-by-hop one (DeleteNamed would delete something).
func NamesFields(connection []string) bool {
	for name := range tokens(connection) {
		if !UsualConnectionToken(name) && !HopByHop(CanonicalKey(name)) {
			return true
		}
	}
	return false
}

// NamesField reports whether the Connection values name the field name
// (which is then hop-by-hop).
func NamesField(connection []string, name string) bool {
	for t := range tokens(connection) {
		if strings.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// UsualConnectionToken reports the Connection tokens that name no
// end-to-end field.
func UsualConnectionToken(t string) bool {
	return strings.EqualFold(t, "close") || strings.EqualFold(t, "keep-alive") ||
		strings.EqualFold(t, "upgrade") || strings.EqualFold(t, "te")
}

// ValidToken reports whether s is a token (a field name, a method).
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return true
}

// ValidName reports whether the field name s is a token; a common name
// spelled canonically is known without a loop over its bytes.
func ValidName(s string) bool { return commonField(s) || ValidToken(s) }

// FieldKey checks the field name and returns its key in Header's
// canonical form. A common name spelled canonically is recognised by a
// few comparisons instead of a loop over its bytes, as nginx looks up
// the fields it knows in a hash.
//
// Other names are checked and found canonical or not in one loop over
// their bytes (nameClass), where checking the token and then looking for
// a byte to change took two.
func FieldKey(name string) (string, bool) {
	if commonField(name) {
		return name, true
	}
	switch token, canonical := nameForm(name); {
	case !token:
		return "", false
	case canonical:
		return name, true
	}
	return canonicalSlow(name), true
}

// nameForm reports whether s is a token, and whether its letters are in
// Header's canonical form (upper case first and after each '-', lower
// case elsewhere), in one loop over its bytes.
func nameForm(s string) (token, canonical bool) {
	token, canonical = s != "", true
	upper := true
	for i := 0; i < len(s); i++ {
		switch nameClass[s[i]] {
		case classNone:
			token = false
		case classLower:
			canonical = canonical && !upper
		case classUpper:
			canonical = canonical && upper
		}
		upper = s[i] == '-'
	}
	return token, canonical
}

// The classes of bytes in a field name, for FieldKey.
const (
	classNone  = iota // not a tchar
	classLower        // a to z
	classUpper        // A to Z
	classOther        // another tchar
)

var nameClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case !tokenTable[c]:
		case 'a' <= c && c <= 'z':
			t[c] = classLower
		case 'A' <= c && c <= 'Z':
			t[c] = classUpper
		default:
			t[c] = classOther
		}
	}
	return t
}()

// commonField reports, by a few comparisons, the commonNames most
// requests and responses carry and those Stargate's own plugins add to
// every request they pass (key-auth's X-Consumer-*, limit-count's
// X-Ratelimit-*); TestFieldKey holds every name it knows to commonNames.
func commonField(s string) bool {
	switch len(s) {
	case 3:
		return s == "Age" || s == "Via" || s == "Dnt"
	case 4:
		return s == "Date" || s == "Host" || s == "Etag" || s == "Vary"
	case 5:
		return s == "Range"
	case 6:
		return s == "Server" || s == "Accept" || s == "Cookie" || s == "Origin" || s == "Pragma" || s == "Apikey"
	case 7:
		return s == "Expires" || s == "Referer" || s == "Upgrade"
	case 8:
		return s == "Location" || s == "Priority" || s == "If-Range"
	case 9:
		return s == "X-Real-Ip" || s == "Sec-Ch-Ua"
	case 10:
		return s == "Connection" || s == "User-Agent" || s == "Set-Cookie" || s == "Keep-Alive"
	case 12:
		return s == "Content-Type" || s == "X-Request-Id"
	case 13:
		return s == "Cache-Control" || s == "Last-Modified" || s == "Accept-Ranges" ||
			s == "Authorization" || s == "If-None-Match" || s == "Content-Range"
	case 14:
		return s == "Content-Length" || s == "Sec-Fetch-Dest" || s == "Sec-Fetch-Mode" ||
			s == "Sec-Fetch-Site" || s == "Sec-Fetch-User"
	case 15:
		return s == "Accept-Encoding" || s == "Accept-Language" || s == "X-Forwarded-For"
	case 16:
		return s == "Content-Encoding" || s == "X-Forwarded-Host" || s == "X-Requested-With" ||
			s == "Sec-Ch-Ua-Mobile"
	case 17:
		return s == "Transfer-Encoding" || s == "If-Modified-Since" || s == "X-Forwarded-Proto" ||
			s == "X-Ratelimit-Limit" || s == "X-Ratelimit-Reset"
	case 18:
		return s == "Sec-Ch-Ua-Platform"
	case 19:
		return s == "X-Consumer-Username"
	case 20:
		return s == "X-Consumer-Custom-Id"
	case 21:
		return s == "X-Ratelimit-Remaining"
	case 23:
		return s == "X-Credential-Identifier"
	case 25:
		return s == "Upgrade-Insecure-Requests"
	}
	return false
}

// Line is one field line of a parsed head: its key in canonical form,
// the line as it came without its line end (the name keeps its spelling,
// the value its spacing), and the value parsed from it. A proxy passes
// such lines on as they came (server.RequestLines, client.Options.Lines)
// instead of writing them again from a header map; nginx likewise keeps
// the names' spelling and order, though it writes each line again from
// the name and the trimmed value.
type Line struct{ Key, Text, Value string }

// Seen tells a repeated field while a parser fills a header map that
// started empty: the first keys it added are compared directly, which
// costs less than the map lookup it replaces; past those, the map is
// asked.
type Seen struct {
	keys [16]string
	n    int
}

// Repeat reports whether key is in h already, and records it if not
// (the caller then adds it).
func (s *Seen) Repeat(h http.Header, key string) bool {
	if s.n <= len(s.keys) {
		for _, k := range s.keys[:s.n] {
			if k == key {
				return true
			}
		}
	} else if _, ok := h[key]; ok {
		return true
	}
	if s.n < len(s.keys) {
		s.keys[s.n] = key
	}
	s.n++
	return false
}

// CanonicalKey is textproto.CanonicalMIMEHeaderKey for a valid token,
// without allocating for keys already canonical (a substring of the block)
// or common ones (interned); clients and upstreams that send lower-case
// names are not rare.
func CanonicalKey(s string) string {
	if _, canonical := nameForm(s); !canonical {
		return canonicalSlow(s)
	}
	return s
}

func canonicalSlow(s string) string {
	if len(s) > 64 {
		return textproto.CanonicalMIMEHeaderKey(s)
	}
	var a [64]byte
	b := a[:len(s)]
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	if k, ok := commonKeys[string(b)]; ok {
		return k
	}
	return string(b)
}

// commonNames are the field names, in canonical form (Go's: "Etag",
// "X-Real-Ip"), that CanonicalKey interns when they come spelled
// otherwise (no allocation for a client's "user-agent" or "apikey"), and
// of which commonField knows the usual ones without a lookup.
var commonNames = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Access-Control-Allow-Credentials",
	"Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin",
	"Access-Control-Expose-Headers", "Access-Control-Max-Age", "Age", "Allow", "Alt-Svc", "Apikey",
	"Authorization", "Cache-Control", "Connection", "Content-Disposition", "Content-Encoding",
	"Content-Language", "Content-Length", "Content-Location", "Content-Range", "Content-Security-Policy",
	"Content-Type", "Cookie", "Cross-Origin-Embedder-Policy", "Cross-Origin-Opener-Policy",
	"Cross-Origin-Resource-Policy", "Date", "Dnt", "Etag", "Expires", "Host", "If-Modified-Since", "If-None-Match", "If-Range",
	"Keep-Alive", "Last-Modified", "Link", "Location", "Origin", "Pragma", "Priority", "Proxy-Authenticate", "Range",
	"Referer", "Referrer-Policy", "Retry-After", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
	"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Server", "Server-Timing", "Set-Cookie",
	"Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Upgrade", "Upgrade-Insecure-Requests", "User-Agent", "Vary", "Via",
	"Www-Authenticate", "X-Cache", "X-Consumer-Custom-Id", "X-Consumer-Username", "X-Content-Type-Options",
	"X-Credential-Identifier", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Frame-Options",
	"X-Powered-By", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Real-Ip",
	"X-Request-Id", "X-Requested-With", "X-Xss-Protection",
}

var commonKeys = func() map[string]string {
	m := make(map[string]string, len(commonNames))
	for _, k := range commonNames {
		m[k] = k
	}
	return m
}()
