package vars

import (
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// regex is a compiled ~~ or ~* operand.
//
// Go's regexp skips ahead to a literal prefix only for case-sensitive
// patterns; under (?i) it tries a match at every position, which makes a
// typical ["http_user_agent", "~*", "chrome/[0-9]+"] ten times slower than
// its case-sensitive twin. So for a case-insensitive pattern that begins
// with a literal, regex finds the literal's first case-folded occurrence
// itself and starts the regexp there.
type regex struct {
	re *regexp.Regexp
	// lead is the literal every match begins with, one fold orbit (the
	// runes regexp treats as equal under (?i)) per rune; nil when the
	// pattern has no leading literal or is case-sensitive.
	lead [][]rune
	// first marks the first UTF-8 byte of each rune in lead[0]. An ASCII
	// or leading byte is never part of an earlier rune, so a byte marked
	// here is also a rune boundary in regexp's decoding. Not used when
	// lead[0] is U+FFFD, which regexp also matches against invalid bytes.
	first [256]bool
	// decode: lead[0] is U+FFFD; scan rune by rune.
	decode bool
}

func compileRegex(pattern string, fold bool) (*regex, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if !fold {
		return &regex{re: re}, nil
	}
	if re, err = regexp.Compile("(?i)" + pattern); err != nil {
		return nil, err
	}
	r := &regex{re: re, lead: leadingOrbits(pattern)}
	if r.lead != nil {
		var buf [utf8.UTFMax]byte
		for _, c := range r.lead[0] {
			utf8.EncodeRune(buf[:], c)
			r.first[buf[0]] = true
			r.decode = r.decode || c == utf8.RuneError
		}
	}
	return r, nil
}

// leadingOrbits returns the fold orbits of the literal that starts every
// match of the case-insensitive pattern, or nil.
func leadingOrbits(pattern string) [][]rune {
	re, err := syntax.Parse(pattern, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op != syntax.OpLiteral {
		if (re.Op != syntax.OpCapture && re.Op != syntax.OpConcat) || len(re.Sub) == 0 {
			return nil
		}
		re = re.Sub[0]
	}
	if len(re.Rune) == 0 {
		return nil
	}
	lead := make([][]rune, len(re.Rune))
	for i, r := range re.Rune {
		lead[i] = []rune{r}
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				lead[i] = append(lead[i], f)
			}
		}
	}
	return lead
}

// match reports whether the regex matches anywhere in s (ngx.re.find).
//
// Starting the regexp at the literal's first occurrence i is exact: no match
// can start before i, and every assertion in the pattern sits after at
// least one rune of the literal, so it never looks at text before i.
// Candidate positions are bytes marked in first, which are rune boundaries
// in regexp's own decoding from the start of s.
func (r *regex) match(s string) bool {
	if r.lead == nil {
		return r.re.MatchString(s)
	}
	for i := 0; i < len(s); {
		w := 1
		if r.decode || r.first[s[i]] {
			var c rune
			c, w = decodeRune(s, i)
			if inOrbit(c, r.lead[0]) && hasOrbitPrefix(s, i+w, r.lead[1:]) {
				return r.re.MatchString(s[i:])
			}
		}
		i += w
	}
	return false
}

func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func inOrbit(c rune, orbit []rune) bool {
	for _, o := range orbit {
		if c == o {
			return true
		}
	}
	return false
}

// hasOrbitPrefix reports whether s[i:] begins with runes from lead, in order.
func hasOrbitPrefix(s string, i int, lead [][]rune) bool {
	for _, orbit := range lead {
		if i >= len(s) {
			return false
		}
		c, w := decodeRune(s, i)
		if !inOrbit(c, orbit) {
			return false
		}
		i += w
	}
	return true
}
