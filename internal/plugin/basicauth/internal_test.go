package basicauth

import (
	"encoding/base64"
	"testing"
)

func TestParseBasic(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		h, user, pass string
		ok            bool
	}{
		{"Basic " + enc("u:p"), "u", "p", true},
		{"BASIC " + enc("u:p"), "u", "p", true},
		{"Basic\t" + enc("u:p"), "u", "p", true},
		{"xBasic " + enc("u:p"), "u", "p", true}, // APISIX's regex is not anchored
		{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("u:pw")), "u", "pw", true},
		{"Basic " + enc("u:p:q"), "u", "p:q", true},
		{"Basic " + enc(" u : p "), "u", "p", true},
		{"Basic " + enc("u:"), "u", "", true},
		{"Basic " + enc("u"), "", "", false},
		{"Basic", "", "", false},
		{"Basic ", "", "", false},
		{"Basicx" + enc("u:p"), "", "", false},
		{"Bearer " + enc("u:p"), "", "", false},
		{"Basic " + enc("u:p") + " ", "", "", false},
		{"Basic %%%", "", "", false},
	} {
		u, p, ok := parseBasic(tc.h)
		if u != tc.user || p != tc.pass || ok != tc.ok {
			t.Errorf("parseBasic(%q) = %q %q %v, want %q %q %v", tc.h, u, p, ok, tc.user, tc.pass, tc.ok)
		}
	}
}
