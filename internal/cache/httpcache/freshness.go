package httpcache

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lifetime is the freshness lifetime of a response for a shared cache
// (RFC 9111 §4.2.1): s-maxage, then max-age, then Expires minus Date. When
// the origin says none of these, def (the operator's heuristic TTL) is
// used and explicit is false. An Expires that does not parse means
// "already expired" (lifetime 0).
func Lifetime(cc Directives, h http.Header, responseTime time.Time, def time.Duration) (lifetime time.Duration, explicit bool) {
	switch {
	case cc.SMaxAge >= 0:
		return time.Duration(cc.SMaxAge) * time.Second, true
	case cc.MaxAge >= 0:
		return time.Duration(cc.MaxAge) * time.Second, true
	}
	if exp, ok := h["Expires"]; ok && len(exp) > 0 {
		t, err := http.ParseTime(exp[0])
		if err != nil {
			return 0, true
		}
		date := responseTime
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			date = d
		}
		if l := t.Sub(date); l > 0 {
			return l, true
		}
		return 0, true
	}
	return def, false
}

// InitialAge is the corrected initial age of a response (RFC 9111 §4.2.3):
// the larger of the apparent age (response time minus Date) and the Age
// field plus the request's round trip. Date has a resolution of one
// second, so the apparent age is taken at that resolution: a response
// dated this second is not counted as up to a second old.
func InitialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	var apparent time.Duration
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		if a := responseTime.Truncate(time.Second).Sub(d); a > 0 {
			apparent = a
		}
	}
	var ageValue time.Duration
	if v := h.Get("Age"); v != "" {
		if n := deltaOr(strings.TrimSpace(v), true, Absent); n >= 0 {
			ageValue = time.Duration(n) * time.Second
		}
	}
	delay := responseTime.Sub(requestTime)
	if delay < 0 {
		delay = 0
	}
	corrected := ageValue + delay
	if apparent > corrected {
		return apparent
	}
	return corrected
}

// Storable reports whether RFC 9111 §3 lets a shared cache store a
// response, and if not, why. The operator's own rules (which statuses,
// Set-Cookie, no_cache variables) are the caller's.
func Storable(reqHeader http.Header, resp Directives, status int, respHeader http.Header) (bool, string) {
	switch {
	case resp.NoStore:
		return false, "no-store"
	case resp.Private && len(resp.PrivateFields) == 0:
		return false, "private"
	case status == http.StatusPartialContent:
		return false, "partial content"
	}
	if _, ok := reqHeader["Authorization"]; ok && !resp.Public && resp.SMaxAge < 0 && !resp.MustRevalidate {
		return false, "authorization"
	}
	if _, star := VaryFields(respHeader); star {
		return false, "vary *"
	}
	return true, ""
}

// StripFields removes what a response's qualified private/no-cache
// directives and hop-by-hop framing say not to store.
func StripFields(h http.Header, cc Directives) {
	for _, f := range cc.PrivateFields {
		h.Del(f)
	}
	for _, f := range cc.NoCacheFields {
		h.Del(f)
	}
}

// VaryFields returns the field names of Vary, canonical and sorted, and
// whether one of them is "*".
func VaryFields(h http.Header) (names []string, star bool) {
	vals := h["Vary"]
	if len(vals) == 0 {
		return nil, false
	}
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			switch f {
			case "":
				continue
			case "*":
				return nil, true
			}
			f = http.CanonicalHeaderKey(f)
			dup := false
			for _, n := range names {
				dup = dup || n == f
			}
			if !dup {
				names = append(names, f)
			}
		}
	}
	sort.Strings(names)
	return names, false
}

// VariantHash identifies the variant a request selects among responses
// that Vary on names: FNV-1a over each field's normalised values (trimmed,
// joined by ", "). It is stable across processes. Zero names give 0.
func VariantHash(names []string, req http.Header) uint64 {
	if len(names) == 0 {
		return 0
	}
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
	}
	for _, n := range names {
		add(n)
		h ^= 0xfe // separates the name from its values
		h *= prime
		for i, v := range req[n] {
			if i > 0 {
				add(", ")
			}
			add(strings.TrimSpace(v))
		}
		h ^= 0xff // ends the field
		h *= prime
	}
	if h == 0 {
		h = 1
	}
	return h
}

// UpdateHeaders returns a copy of stored updated with the fields of a 304
// response (RFC 9111 §4.3.4), leaving the framing ones alone.
func UpdateHeaders(stored, notModified http.Header) http.Header {
	out := stored.Clone()
	for k, v := range notModified {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding", "Content-Type":
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// AgeSeconds formats an age for the Age field.
func AgeSeconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}
