package confcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
)

// String returns conf[key] when it is a string.
func String(conf map[string]any, key string) (string, bool) {
	s, ok := conf[key].(string)
	return s, ok
}

// Bool returns conf[key] when it is a boolean.
func Bool(conf map[string]any, key string) (bool, bool) {
	b, ok := conf[key].(bool)
	return b, ok
}

// Number returns v as a float64 when it is a JSON number (json.Number from
// schema.Decode, or a Go number built by hand).
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// Strings returns conf[key] when it is an array, keeping its string items.
func Strings(conf map[string]any, key string) ([]string, bool) {
	arr, ok := conf[key].([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out, true
}

// Objects returns conf[key] when it is an array, keeping its object items.
func Objects(conf map[string]any, key string) ([]map[string]any, bool) {
	arr, ok := conf[key].([]any)
	if !ok {
		return nil, false
	}
	out := make([]map[string]any, 0, len(arr))
	for _, v := range arr {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, true
}

// Object returns conf[key] when it is an object.
func Object(conf map[string]any, key string) (map[string]any, bool) {
	m, ok := conf[key].(map[string]any)
	return m, ok
}

// ValidIPOrCIDR reports whether s is an IPv4/IPv6 address or CIDR, as
// APISIX's core.ip.validate_cidr_or_ip accepts them.
func ValidIPOrCIDR(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil && !strings.Contains(s, "%")
}

// CompileRegex compiles a PCRE-style pattern with OpenResty's option
// letters (i: caseless, m: multiline, s: dotall, x: extended; j, o, d, u, U,
// J, D are accepted and ignored). On failure the error reads as
// ngx.re / resty.core.regex report it: `pcre_compile() failed: <reason> in
// "<pattern>"`. The reason is Go's, as the runtime will use Go's regexp
// engine: patterns RE2 cannot run (look-around, back-references) are
// rejected here instead of failing per request.
func CompileRegex(pattern, opts string) (*regexp.Regexp, error) {
	var flags strings.Builder
	for _, o := range opts {
		switch o {
		case 'i':
			flags.WriteByte('i')
		case 'm':
			flags.WriteByte('m')
		case 's':
			flags.WriteByte('s')
		}
	}
	expr := pattern
	if strings.ContainsRune(opts, 'x') {
		expr = stripExtended(expr)
	}
	if flags.Len() > 0 {
		expr = "(?" + flags.String() + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("pcre_compile() failed: %s in %q", reason(err), pattern)
	}
	return re, nil
}

func reason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return err.Error()
}

// stripExtended drops unescaped whitespace and #-comments outside
// character classes, as PCRE's extended mode does.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ValidHeaderField mirrors APISIX's core.utils.validate_header_field:
// visible ASCII other than ':'.
func ValidHeaderField(field string) bool {
	for i := 0; i < len(field); i++ {
		b := field[i]
		if b <= 32 || b >= 127 || b == ':' {
			return false
		}
	}
	return true
}

// ValidHeaderValue mirrors APISIX's core.utils.validate_header_value: no
// control characters (numbers are always valid).
func ValidHeaderValue(v any) bool {
	s, ok := v.(string)
	if !ok {
		return true
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 32 || b >= 127 {
			return false
		}
	}
	return true
}
