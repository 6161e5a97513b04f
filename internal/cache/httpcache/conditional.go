package httpcache

import (
	"net/http"
	"strconv"
	"strings"
)

// NotModified reports whether a client's conditional GET or HEAD is
// answered 304 from a stored response with header stored (RFC 9110
// §13.1.2, §13.1.3, §13.2.2): If-None-Match, when present, decides alone
// (weak comparison); otherwise If-Modified-Since against Last-Modified (or
// Date, RFC 9111 §4.3.2).
func NotModified(method string, req, stored http.Header) bool {
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	if inm := req.Values("If-None-Match"); len(inm) > 0 {
		etag := stored.Get("Etag")
		for _, v := range inm {
			for _, t := range splitTags(v) {
				if t == "*" {
					return true
				}
				if etag != "" && weakMatch(t, etag) {
					return true
				}
			}
		}
		return false
	}
	ims := req.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	lm := stored.Get("Last-Modified")
	if lm == "" {
		lm = stored.Get("Date")
	}
	mod, err := http.ParseTime(lm)
	if err != nil {
		return false
	}
	return !mod.After(since)
}

// NotModifiedHeader reduces a stored header to what a 304 carries (RFC
// 9110 §15.4.5): no content fields.
func NotModifiedHeader(h http.Header) {
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding"} {
		delete(h, k)
	}
}

// splitTags splits an entity-tag list; quoted tags may contain commas.
func splitTags(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out
		}
		start := 0
		if strings.HasPrefix(s, "W/") {
			start = 2
		}
		if start < len(s) && s[start] == '"' {
			end := strings.IndexByte(s[start+1:], '"')
			if end < 0 {
				return append(out, s)
			}
			out = append(out, s[:start+end+2])
			s = s[start+end+2:]
			continue
		}
		i := strings.IndexByte(s, ',')
		if i < 0 {
			return append(out, strings.TrimSpace(s))
		}
		out = append(out, strings.TrimSpace(s[:i]))
		s = s[i:]
	}
}

func weakMatch(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// RangeKind is what to do with a Range request.
type RangeKind int

// Range outcomes.
const (
	// RangeNone: answer the whole representation (no Range, a malformed
	// one, several ranges, or an If-Range that does not match).
	RangeNone RangeKind = iota
	// RangeOK: answer 206 with the one range.
	RangeOK
	// RangeUnsatisfiable: answer 416.
	RangeUnsatisfiable
)

// Range evaluates a Range request against a stored full response of size
// bytes (RFC 9110 §14): one byte range is served as 206; several ranges
// are answered with the whole representation, which the RFC allows.
func Range(req, stored http.Header, size int64) (kind RangeKind, start, length int64) {
	spec := req.Get("Range")
	if spec == "" {
		return RangeNone, 0, 0
	}
	if ir := req.Get("If-Range"); ir != "" && !ifRangeMatches(ir, stored) {
		return RangeNone, 0, 0
	}
	unit, set, ok := strings.Cut(spec, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return RangeNone, 0, 0
	}
	if strings.Contains(set, ",") {
		return RangeNone, 0, 0
	}
	set = strings.TrimSpace(set)
	first, last, ok := strings.Cut(set, "-")
	if !ok {
		return RangeNone, 0, 0
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		// Suffix range: the last N bytes.
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return RangeNone, 0, 0
		}
		if n == 0 || size == 0 {
			return RangeUnsatisfiable, 0, 0
		}
		if n > size {
			n = size
		}
		return RangeOK, size - n, n
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return RangeNone, 0, 0
	}
	e := size - 1
	if last != "" {
		e, err = strconv.ParseInt(last, 10, 64)
		if err != nil || e < s {
			return RangeNone, 0, 0
		}
		if e > size-1 {
			e = size - 1
		}
	}
	if s >= size {
		return RangeUnsatisfiable, 0, 0
	}
	return RangeOK, s, e - s + 1
}

// ifRangeMatches: a strong entity tag equal to the stored one, or an HTTP
// date equal to the stored Last-Modified (RFC 9110 §13.1.5).
func ifRangeMatches(ir string, stored http.Header) bool {
	ir = strings.TrimSpace(ir)
	if strings.HasPrefix(ir, `"`) {
		etag := stored.Get("Etag")
		return etag != "" && !strings.HasPrefix(etag, "W/") && etag == ir
	}
	if strings.HasPrefix(ir, "W/") {
		return false
	}
	t, err := http.ParseTime(ir)
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(stored.Get("Last-Modified"))
	return err == nil && t.Equal(lm)
}

// ContentRange formats a Content-Range value.
func ContentRange(start, length, size int64) string {
	return "bytes " + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(start+length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// Unsatisfied is the Content-Range of a 416.
func Unsatisfied(size int64) string { return "bytes */" + strconv.FormatInt(size, 10) }

// HasValidators reports whether a stored response can be revalidated.
func HasValidators(h http.Header) bool {
	return h.Get("Etag") != "" || h.Get("Last-Modified") != ""
}

// Conditional adds the validators of a stored response to an outgoing
// revalidation request (RFC 9111 §4.3.1).
func Conditional(out, stored http.Header) {
	if etag := stored.Get("Etag"); etag != "" {
		out.Set("If-None-Match", etag)
	}
	if lm := stored.Get("Last-Modified"); lm != "" {
		out.Set("If-Modified-Since", lm)
	}
}

// ClientConditionals are the request fields a cache strips before filling
// itself from the origin: it wants the whole representation.
var ClientConditionals = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"}
