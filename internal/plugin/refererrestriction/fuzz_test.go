package refererrestriction

import (
	"strings"
	"testing"
)

func FuzzRefererHost(f *testing.F) {
	for _, s := range []string{"http://a.com/x", "https://[::1]:80/", "//h", "ftp://x", "http://", "http://[", "https:///a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		host, ok := refererHost(ref)
		if ok && (host == "" || !strings.Contains(ref, "//"+host)) {
			t.Fatalf("refererHost(%q) = %q", ref, host)
		}
	})
}
