package realip

import (
	"net/netip"
	"testing"
)

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]struct {
		ip   string
		port int
		ok   bool
	}{
		"1.2.3.4": {"1.2.3.4", -1, true}, "1.2.3.4:80": {"1.2.3.4", 80, true}, "::1": {"::1", -1, true},
		"[::1]": {"::1", -1, true}, "[::1]:8080": {"::1", 8080, true}, "1.2.3.4:x": {"", 0, false},
		"host": {"", 0, false}, "[::1]x": {"", 0, false}, "fe80::1%eth0": {"", 0, false}, "": {"", 0, false},
	} {
		ip, port, ok := parseAddr(in)
		if ok != want.ok || ok && (ip != want.ip || port != want.port) {
			t.Errorf("%q: %q %d %v", in, ip, port, ok)
		}
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4:5", "[::1]:1", "[", "::ffff:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, _, ok := parseAddr(s)
		if ok {
			if _, err := netip.ParseAddr(ip); err != nil {
				t.Fatalf("%q gave %q", s, ip)
			}
		}
	})
}
