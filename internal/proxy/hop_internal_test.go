package proxy

import (
	"maps"
	"net/http"
	"slices"
	"testing"
)

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
