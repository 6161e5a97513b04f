package vars

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLeadingOrbits(t *testing.T) {
	tests := []struct {
		pattern string
		want    [][]rune
	}{
		{"ab/", [][]rune{{'A', 'a'}, {'B', 'b'}, {'/'}}},
		{"k", [][]rune{{'K', 'k', '\u212a'}}},
		{"chrome/[0-9]+", [][]rune{{'C', 'c'}, {'H', 'h'}, {'R', 'r'}, {'O', 'o'}, {'M', 'm'}, {'E', 'e'}, {'/'}}},
		{"(a)b", [][]rune{{'A', 'a'}}},
		{"(?-i)Ab", [][]rune{{'A'}, {'b'}}},
		{"^abc", nil},
		{"\\babc", nil},
		{"a*b", nil},
		{"ab|ac", [][]rune{{'A', 'a'}}},
		{"[ab]c", nil},
		{"", nil},
		{"(", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, leadingOrbits(tt.pattern)); diff != "" {
			t.Errorf("leadingOrbits(%q) mismatch (-want +got):\n%s", tt.pattern, diff)
		}
	}
}

// TestRegexPrefilter checks that the literal prefilter never changes what
// the case-insensitive regexp alone would answer.
func TestRegexPrefilter(t *testing.T) {
	patterns := []string{
		"chrome/[0-9]+", "CHROME", "k", "s", "ab", "a\\b", "a$", "ab(?m)^c",
		"(?-i)Ab", "(x)y+z", "é", "\ufffd", "a\\Bb", "ab|ac", "a(?:)b",
	}
	inputs := []string{
		"", "Mozilla Chrome/120", "chrome/", "CHROME/9", "xchromE/1x",
		"\u212a", "K", "\u017f", "S", "ab", "a", "xab", "aB", "ab\nc", "a b",
		"Ab", "AB", "xyz", "XYYZ", "É", "é", "\xff", "a\xffb", "\xe2\x84", "a\x80ab",
		"\xe2\xe2\x84\xaa", "é\u212a", "\u017ft", "ſ\xff",
	}
	for _, p := range patterns {
		r, err := compileRegex(p, true)
		if err != nil {
			t.Fatalf("compileRegex(%q): %v", p, err)
		}
		plain := regexp.MustCompile("(?i)" + p)
		for _, s := range inputs {
			if got, want := r.match(s), plain.MatchString(s); got != want {
				t.Errorf("~* %q on %q = %v, regexp says %v", p, s, got, want)
			}
		}
	}
}

func FuzzRegexPrefilter(f *testing.F) {
	f.Add("chrome/[0-9]+", "Mozilla Chrome/120")
	f.Add("k\\b", "\u212a ")
	f.Add("ab(?m)$", "xAB\n")
	f.Add("(a)b+", "a\xffAbb")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		r, err := compileRegex(pattern, true)
		if err != nil {
			return
		}
		if got, want := r.match(s), r.re.MatchString(s); got != want {
			t.Fatalf("~* %q on %q = %v, regexp says %v", pattern, s, got, want)
		}
	})
}
