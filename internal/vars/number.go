package vars

import (
	"math"
	"strconv"
)

// maxExp mirrors LuaJIT's STRSCAN_MAXEXP: a longer exponent is not a number.
const maxExp = 1 << 20

func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hexVal(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasWordFold reports whether s[i:] starts with the lowercase ASCII word w,
// ignoring case.
func hasWordFold(s string, i int, w string) bool {
	if len(s)-i < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if lower(s[i+j]) != w[j] {
			return false
		}
	}
	return true
}

// luaToNumber converts s the way LuaJIT's tonumber(s) does (lj_strscan with
// no C suffixes): optional surrounding whitespace, an optional sign, then a
// decimal number with optional fraction and e-exponent, a hexadecimal
// number (0x…, optional fraction and p-exponent), or inf, infinity, nan in
// any case. It does not allocate unless the value overflows.
func luaToNumber(s string) (float64, bool) {
	n := len(s)
	// Fast path: a short run of decimal digits.
	if n > 0 && n <= 15 {
		var v uint64
		j := 0
		for ; j < n && isDigit(s[j]); j++ {
			v = v*10 + uint64(s[j]-'0')
		}
		if j == n {
			return float64(v), true
		}
	}
	i := 0
	neg := false
	if i < n && !isDigit(s[i]) {
		for i < n && isSpace(s[i]) {
			i++
		}
		if i < n && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		if i < n && s[i] >= 'A' {
			var v float64
			switch {
			case hasWordFold(s, i, "inf"):
				v = math.Inf(1)
				i += 3
				if hasWordFold(s, i, "inity") {
					i += 5
				}
			case hasWordFold(s, i, "nan"):
				v = math.NaN()
				i += 3
			default:
				return 0, false
			}
			for i < n && isSpace(s[i]) {
				i++
			}
			if i != n {
				return 0, false
			}
			if neg {
				v = -v
			}
			return v, true
		}
	}
	var v float64
	var ok bool
	if i+1 < n && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		v, i, ok = scanHex(s, i+2)
	} else {
		v, i, ok = scanDec(s, i)
	}
	if !ok {
		return 0, false
	}
	for i < n && isSpace(s[i]) {
		i++
	}
	if i != n {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanExp scans an exponent's digits (after 'e' or 'p') at s[i:].
func scanExp(s string, i int) (exp int, end int, ok bool) {
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return 0, i, false
	}
	for ; i < len(s) && isDigit(s[i]); i++ {
		exp = exp*10 + int(s[i]-'0')
		if exp >= maxExp {
			return 0, i, false
		}
	}
	if neg {
		exp = -exp
	}
	return exp, i, true
}

// scanDec scans an unsigned decimal number at s[i:] and returns its value
// and the index after it.
func scanDec(s string, i int) (float64, int, bool) {
	start := i
	digits, dot := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 {
		return 0, i, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		_, end, ok := scanExp(s, i+1)
		if !ok {
			return 0, i, false
		}
		i = end
	}
	// s[start:i] is valid ParseFloat syntax now. A range error still
	// returns the right value (±Inf or 0), as LuaJIT does.
	v, _ := strconv.ParseFloat(s[start:i], 64)
	return v, i, true
}

// scanHex scans the digits of a hexadecimal number (after "0x") at s[i:].
func scanHex(s string, i int) (float64, int, bool) {
	var mant uint64
	exp := 0
	digits, dot, sticky := 0, false, false
	for ; i < len(s); i++ {
		c := s[i]
		if d, ok := hexVal(c); ok {
			digits++
			if mant < 1<<60 {
				mant = mant<<4 | d
				if dot {
					exp -= 4
				}
			} else {
				if !dot {
					exp += 4
				}
				sticky = sticky || d != 0
			}
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 {
		return 0, i, false
	}
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		e, end, ok := scanExp(s, i+1)
		if !ok {
			return 0, i, false
		}
		exp += e
		i = end
	}
	if sticky {
		mant |= 1
	}
	return math.Ldexp(float64(mant), exp), i, true
}

// luaNumberString formats f the way Lua's tostring does ("%.14g").
func luaNumberString(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}
