package cache

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// MatchKey compiles an RE2 pattern searched in entries' keys (purges and
// listings). A pattern anchored on a literal prefix (^example\.com/img/)
// is checked with the prefix first, so scanning a large index mostly
// costs a string comparison per entry; a pattern that is nothing but such
// a prefix skips the regexp entirely.
func MatchKey(pattern string) (func(*Entry) bool, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	prefix, exact := anchoredPrefix(pattern)
	// The storage key starts with the key: without a NUL in the prefix,
	// testing it there spares finding where the key ends.
	nul := strings.IndexByte(prefix, 0) >= 0
	switch {
	case exact && !nul:
		return func(e *Entry) bool { return strings.HasPrefix(e.skey, prefix) }, nil
	case exact:
		return func(e *Entry) bool { return strings.HasPrefix(e.Key(), prefix) }, nil
	case prefix != "" && !nul:
		return func(e *Entry) bool { return strings.HasPrefix(e.skey, prefix) && re.MatchString(e.Key()) }, nil
	case prefix != "":
		return func(e *Entry) bool {
			k := e.Key()
			return strings.HasPrefix(k, prefix) && re.MatchString(k)
		}, nil
	}
	return func(e *Entry) bool { return re.MatchString(e.Key()) }, nil
}

// anchoredPrefix returns the literal every match must start with when the
// pattern is ^literal..., and whether the pattern is only that.
func anchoredPrefix(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return "", false
	}
	lit := re.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	return string(lit.Rune), len(re.Sub) == 2
}
