package wire

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// TestFieldChecks: every byte value, alone and at each position of a
// word, is judged as httpguts judges it.
func TestFieldChecks(t *testing.T) {
	for c := 0; c < 256; c++ {
		if ValidToken(string([]byte{byte(c)})) != httpguts.IsTokenRune(rune(c)) {
			t.Errorf("ValidToken(%#x) = %v", c, ValidToken(string([]byte{byte(c)})))
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
		// As a field name: httpguts' verdict, Go's canonical form.
		key, ok := FieldKey(s)
		if ok != httpguts.ValidHeaderFieldName(s) || ok && key != http.CanonicalHeaderKey(s) {
			t.Fatalf("FieldKey(%q) = %q, %v", s, key, ok)
		}
	})
}

func TestCanonicalKey(t *testing.T) {
	for _, k := range []string{"content-type", "CONTENT-TYPE", "x-custom-header", "X-Custom-Header", "a", "x_y-z", "www-authenticate", "-x", "x--y", strings.Repeat("ab-", 30)} {
		if got, want := CanonicalKey(k), http.CanonicalHeaderKey(k); got != want {
			t.Errorf("CanonicalKey(%q) = %q, want %q", k, got, want)
		}
	}
	for _, k := range commonNames {
		if http.CanonicalHeaderKey(k) != k {
			t.Errorf("commonNames: %s is not canonical", k)
		}
	}
	if n := testing.AllocsPerRun(100, func() { CanonicalKey("content-type"); CanonicalKey("X-Already"); CanonicalKey("apikey") }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

// TestFieldKey: every name FieldKey takes as common is valid and
// canonical, and any other name gets httpguts' verdict and Go's
// canonical form.
func TestFieldKey(t *testing.T) {
	for _, name := range []string{"Date", "Server", "Content-Type", "Content-Length", "Connection", "Host",
		"User-Agent", "Accept", "Accept-Encoding", "X-Forwarded-For", "X-Real-Ip", "Etag", "Age", "Via",
		"Range", "Cookie", "Origin", "Pragma", "Expires", "Referer", "Upgrade", "Location", "Set-Cookie",
		"Keep-Alive", "X-Request-Id", "Cache-Control", "Last-Modified", "Accept-Ranges", "Authorization",
		"If-None-Match", "Content-Range", "Accept-Language", "Content-Encoding", "X-Forwarded-Host",
		"Transfer-Encoding", "If-Modified-Since", "X-Forwarded-Proto", "Vary", "Apikey", "X-Ratelimit-Limit",
		"X-Ratelimit-Reset", "X-Ratelimit-Remaining", "X-Consumer-Username", "X-Consumer-Custom-Id",
		"X-Credential-Identifier", "Dnt", "Priority", "If-Range", "Sec-Ch-Ua", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
		"Sec-Fetch-Site", "Sec-Fetch-User", "X-Requested-With", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
		"Upgrade-Insecure-Requests"} {
		if http.CanonicalHeaderKey(name) != name {
			t.Errorf("%s: not canonical", name)
		}
		if !commonField(name) {
			t.Errorf("%s: not common", name)
		}
		if commonKeys[name] != name {
			t.Errorf("%s: not in commonNames", name)
		}
	}
	for _, name := range []string{"Date", "date", "ETag", "x-real-ip", "X-Real-IP", "content-length", "X Y", "", "a:b", "\xff", "Content-Length ",
		"DNT", "sec-fetch-dest", "X-1a", "X-1A", "x_y-Z", "-a", "a--B", "A-b", "Xa", "XA", "x", "X", "1", "~"} {
		key, ok := FieldKey(name)
		if ok != httpguts.ValidHeaderFieldName(name) || ok && key != http.CanonicalHeaderKey(name) {
			t.Errorf("FieldKey(%q) = %q, %v", name, key, ok)
		}
	}
	for c := 0; c < 256; c++ {
		name := "X-" + string(rune(c))
		if c >= 0x80 {
			name = "X-" + string([]byte{byte(c)})
		}
		key, ok := FieldKey(name)
		if ok != httpguts.ValidHeaderFieldName(name) || ok && key != http.CanonicalHeaderKey(name) {
			t.Errorf("FieldKey(%q) = %q, %v", name, key, ok)
		}
	}
}

func TestSeen(t *testing.T) {
	// A repeat of an early key when 15, 16 and 17 keys were added: the
	// direct comparisons, at their bound, and past it.
	for _, n := range []int{1, 15, 16, 17} {
		h := http.Header{}
		var s Seen
		for i := range n {
			key := "K" + strings.Repeat("x", i)
			if s.Repeat(h, key) {
				t.Fatalf("n=%d: new key %s taken for a repeat", n, key)
			}
			h[key] = []string{"v"}
		}
		for _, key := range []string{"K", "K" + strings.Repeat("x", n-1)} {
			if !s.Repeat(h, key) {
				t.Errorf("n=%d: repeat of %s not seen", n, key)
			}
		}
		if s.Repeat(h, "Knew") {
			t.Errorf("n=%d: a new key taken for a repeat", n)
		}
	}

	h := http.Header{}
	var s Seen
	for i := range 40 {
		key := "K" + strings.Repeat("x", i%20) // each of 20 keys twice
		if got, want := s.Repeat(h, key), i >= 20; got != want {
			t.Fatalf("Repeat(%s) #%d = %v", key, i, got)
		}
		h[key] = append(h[key], "v")
	}
}
