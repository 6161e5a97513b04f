package wire

import (
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// TestFieldChecks: every byte value, alone and at each position of a
// word, is judged as httpguts judges it.
func TestFieldChecks(t *testing.T) {
	for c := 0; c < 256; c++ {
		if TokenByte(byte(c)) != httpguts.IsTokenRune(rune(c)) {
			t.Errorf("TokenByte(%#x) = %v", c, TokenByte(byte(c)))
		}
		for _, n := range []int{1, 7, 8, 9, 16, 23} {
			for pos := 0; pos < n; pos++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				s := string(b)
				if got, want := ValidFieldValue(s), httpguts.ValidHeaderFieldValue(s); got != want {
					t.Fatalf("ValidFieldValue(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
	for _, s := range []string{"", "text/plain; charset=utf-8", "a\tb", "\xff\xfe\x80\x81\x90\xa0\xc0\xe0", "Sun, 06 Dec 2026 03:53:00 GMT\r"} {
		if got, want := ValidFieldValue(s), httpguts.ValidHeaderFieldValue(s); got != want {
			t.Errorf("ValidFieldValue(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestHopByHop(t *testing.T) {
	hop := []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	for _, k := range hop {
		if !HopByHop(k) {
			t.Errorf("HopByHop(%q) = false, want true", k)
		}
	}
	// Same lengths as hop names, and the usual end-to-end headers.
	for _, k := range []string{"Ta", "Trailers", "Upgraded", "Connexion", "Keep-Alivf", "Content-Length",
		"Proxy-Connectiom", "Transfer-Encodinh", "Proxy-Authenticatf", "Proxy-Authorizatiom",
		"Host", "Content-Type", "X-Forwarded-For", "Authorization", "Cookie", "Accept-Encoding", "Te ", ""} {
		if HopByHop(k) {
			t.Errorf("HopByHop(%q) = true, want false", k)
		}
	}
}

func FuzzFieldChecks(f *testing.F) {
	for _, s := range []string{"", "abc", "a\x7fbcdefghij", "0123456789abcdef\x00", "\t\t\t\t\t\t\t\t\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidFieldValue(s), httpguts.ValidHeaderFieldValue(s); got != want {
			t.Fatalf("ValidFieldValue(%q) = %v, want %v", s, got, want)
		}
	})
}
