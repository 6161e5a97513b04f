package httpcache

import (
	"math"
	"net/http"
	"strings"
)

// Absent is the value of a numeric directive that was not given.
const Absent = -1

// maxDelta is where delta-seconds saturate (RFC 9111 §1.2.2: 2^31).
const maxDelta = 1 << 31

// Directives are the Cache-Control directives (RFC 9111 §5.2, RFC 5861) a
// shared cache acts on, from a request or a response. Numeric directives
// are seconds, Absent when not given.
type Directives struct {
	NoStore         bool
	NoCache         bool
	Private         bool
	Public          bool
	MustRevalidate  bool
	ProxyRevalidate bool
	NoTransform     bool
	OnlyIfCached    bool
	Immutable       bool
	// NoCacheFields and PrivateFields are the field names of the
	// qualified forms (no-cache="Set-Cookie"): those fields are not
	// stored, the rest of the response is.
	NoCacheFields []string
	PrivateFields []string

	MaxAge               int64
	SMaxAge              int64
	MinFresh             int64
	StaleWhileRevalidate int64
	StaleIfError         int64
	// MaxStale is math.MaxInt64 for a bare max-stale (any staleness).
	MaxStale int64
}

// ParseCacheControl parses every Cache-Control field line of h.
func ParseCacheControl(h http.Header) Directives {
	return ParseCacheControlValues(h["Cache-Control"])
}

// ParseCacheControlValues parses Cache-Control field values. It never
// fails: unknown directives are ignored, the first occurrence of a
// directive wins, and a malformed max-age or s-maxage counts as 0 (the
// response is stale) as RFC 9111 §4.2.1 allows.
func ParseCacheControlValues(values []string) Directives {
	d := Directives{MaxAge: Absent, SMaxAge: Absent, MinFresh: Absent,
		StaleWhileRevalidate: Absent, StaleIfError: Absent, MaxStale: Absent}
	var seen uint32
	for _, v := range values {
		for len(v) > 0 {
			var name, arg string
			var hasArg bool
			name, arg, hasArg, v = nextDirective(v)
			if name == "" {
				continue
			}
			bit, ok := directiveBits[strings.ToLower(name)]
			if !ok {
				continue
			}
			if seen&bit != 0 {
				continue // first occurrence wins
			}
			seen |= bit
			switch bit {
			case bitNoStore:
				d.NoStore = true
			case bitNoCache:
				d.NoCache = true
				if hasArg {
					d.NoCacheFields = fieldList(arg)
				}
			case bitPrivate:
				d.Private = true
				if hasArg {
					d.PrivateFields = fieldList(arg)
				}
			case bitPublic:
				d.Public = true
			case bitMustRevalidate:
				d.MustRevalidate = true
			case bitProxyRevalidate:
				d.ProxyRevalidate = true
			case bitNoTransform:
				d.NoTransform = true
			case bitOnlyIfCached:
				d.OnlyIfCached = true
			case bitImmutable:
				d.Immutable = true
			case bitMaxAge:
				d.MaxAge = deltaOr(arg, hasArg, 0)
			case bitSMaxAge:
				d.SMaxAge = deltaOr(arg, hasArg, 0)
			case bitMinFresh:
				d.MinFresh = deltaOr(arg, hasArg, Absent)
			case bitSWR:
				d.StaleWhileRevalidate = deltaOr(arg, hasArg, Absent)
			case bitSIE:
				d.StaleIfError = deltaOr(arg, hasArg, Absent)
			case bitMaxStale:
				if !hasArg {
					d.MaxStale = math.MaxInt64
				} else {
					d.MaxStale = deltaOr(arg, hasArg, Absent)
				}
			}
		}
	}
	return d
}

const (
	bitNoStore uint32 = 1 << iota
	bitNoCache
	bitPrivate
	bitPublic
	bitMustRevalidate
	bitProxyRevalidate
	bitNoTransform
	bitOnlyIfCached
	bitImmutable
	bitMaxAge
	bitSMaxAge
	bitMinFresh
	bitSWR
	bitSIE
	bitMaxStale
)

var directiveBits = map[string]uint32{
	"no-store": bitNoStore, "no-cache": bitNoCache, "private": bitPrivate, "public": bitPublic,
	"must-revalidate": bitMustRevalidate, "proxy-revalidate": bitProxyRevalidate,
	"no-transform": bitNoTransform, "only-if-cached": bitOnlyIfCached, "immutable": bitImmutable,
	"max-age": bitMaxAge, "s-maxage": bitSMaxAge, "min-fresh": bitMinFresh,
	"stale-while-revalidate": bitSWR, "stale-if-error": bitSIE, "max-stale": bitMaxStale,
}

// nextDirective cuts one directive off a comma-separated list:
// token [ "=" ( token / quoted-string ) ]. A quoted string may hold commas
// and backslash escapes.
func nextDirective(s string) (name, arg string, hasArg bool, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ',' {
		i++
	}
	name = strings.TrimSpace(s[:i])
	if i == len(s) || s[i] == ',' {
		return name, "", false, s[i:]
	}
	// s[i] == '='
	s = strings.TrimLeft(s[i+1:], " \t")
	hasArg = true
	if len(s) > 0 && s[0] == '"' {
		var b strings.Builder
		j := 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
			j++
		}
		arg = b.String()
		if j < len(s) {
			j++ // closing quote
		}
		s = s[j:]
		// Skip anything up to the next comma (junk after the quote).
		if k := strings.IndexByte(s, ','); k >= 0 {
			return name, arg, true, s[k:]
		}
		return name, arg, true, ""
	}
	j := strings.IndexByte(s, ',')
	if j < 0 {
		return name, strings.TrimSpace(s), true, ""
	}
	return name, strings.TrimSpace(s[:j]), true, s[j:]
}

// deltaOr parses delta-seconds; bad gives bad (saturating at 2^31).
func deltaOr(arg string, hasArg bool, bad int64) int64 {
	if !hasArg || arg == "" {
		return bad
	}
	var n int64
	for i := 0; i < len(arg); i++ {
		c := arg[i]
		if c < '0' || c > '9' {
			return bad
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	if n > maxDelta {
		n = maxDelta
	}
	return n
}

func fieldList(arg string) []string {
	var out []string
	for _, f := range strings.Split(arg, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, http.CanonicalHeaderKey(f))
		}
	}
	return out
}
