package cache

import (
	"regexp"
	"testing"
)

func TestMatchKey(t *testing.T) {
	keys := []string{"example.com/img/a.png", "example.com/css/a.css", "www.example.com/img/b.png", "EXAMPLE.com/img/c.png", "example.com/img"}
	for _, p := range []string{`^example\.com/img/`, `^example\.com/img/.*\.png$`, `example\.com/img`, `(?i)^example\.com/img/`,
		`^example\.com/(img|css)/`, `(?m)^example`, `^`, `\.png$`, `^example\.com/img$`, `^e|^w`} {
		m, err := MatchKey(p)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(p)
		for _, k := range keys {
			if got, want := m(&Entry{skey: k}), re.MatchString(k); got != want {
				t.Errorf("%s on %s: %v, want %v", p, k, got, want)
			}
		}
	}
	if _, err := MatchKey("a("); err == nil {
		t.Error("bad pattern accepted")
	}
	if p, exact := anchoredPrefix(`^example\.com/img/`); p != "example.com/img/" || !exact {
		t.Errorf("prefix %q %v", p, exact)
	}
}
