package proxy

import (
	"net/netip"
	"testing"
)

func TestRouteHost(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":      "example.com",
		"Example.COM:8080": "example.com",
		"example.com.":     "example.com",
		"example.com.:80":  "example.com",
		"[::1]:8080":       "::1",
		"[::1]":            "::1",
		"::1":              "::1",
		"1.2.3.4:80":       "1.2.3.4",
		"":                 "",
	} {
		if got := routeHost(in); got != want {
			t.Errorf("routeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemoteIP(t *testing.T) {
	for _, ra := range []string{"127.0.0.1:5555", "[::1]:80", "[fe80::1%lo]:80", "[::ffff:1.2.3.4]:9"} {
		ap, err := netip.ParseAddrPort(ra)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := remoteIP(ra, ap), ap.Addr().String(); got != want {
			t.Errorf("remoteIP(%q) = %q, want %q", ra, got, want)
		}
	}
	if got := testing.AllocsPerRun(100, func() {
		ap := netip.MustParseAddrPort("127.0.0.1:5555")
		_ = remoteIP("127.0.0.1:5555", ap)
	}); got != 0 {
		t.Errorf("remoteIP allocates %v times", got)
	}
}
