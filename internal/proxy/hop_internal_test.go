package proxy

import (
	"maps"
	"net/http"
	"slices"
	"testing"
)

func TestIsHop(t *testing.T) {
	hop := []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	for _, k := range hop {
		if !isHop(k) {
			t.Errorf("isHop(%q) = false, want true", k)
		}
	}
	// Same lengths as hop names, and the usual end-to-end headers.
	for _, k := range []string{"Ta", "Trailers", "Upgraded", "Connexion", "Keep-Alivf", "Content-Length",
		"Proxy-Connectiom", "Transfer-Encodinh", "Proxy-Authenticatf", "Proxy-Authorizatiom",
		"Host", "Content-Type", "X-Forwarded-For", "Authorization", "Cookie", "Accept-Encoding", "Te "} {
		if isHop(k) {
			t.Errorf("isHop(%q) = true, want false", k)
		}
	}
}

func TestRemoveHop(t *testing.T) {
	h := http.Header{
		"Connection":        {"close, X-Secret", " x-other "},
		"Keep-Alive":        {"timeout=5"},
		"Te":                {"trailers"},
		"Upgrade":           {"h2c"},
		"Transfer-Encoding": {"chunked"},
		"X-Secret":          {"1"},
		"X-Other":           {"2"},
		"Content-Type":      {"text/plain"},
		"X-Kept":            {"3"},
	}
	removeHop(h)
	got := slices.Sorted(maps.Keys(h))
	if want := []string{"Content-Type", "X-Kept"}; !slices.Equal(got, want) {
		t.Fatalf("left %v, want %v", got, want)
	}
}
