package realip_test

import (
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestRealIP(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Route("xff", "/xff", up, `{"real-ip":{"source":"http_x_forwarded_for"}}`)
	e.Route("trusted", "/trusted", up, `{"real-ip":{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.0/24"]}}`)
	e.Route("untrusted", "/untrusted", up, `{"real-ip":{"source":"http_x_forwarded_for","trusted_addresses":["10.0.0.0/8","::1"]}}`)
	e.Route("rec", "/rec", up, `{"real-ip":{"source":"http_x_forwarded_for","recursive":true,"trusted_addresses":["127.0.0.1","10.0.0.0/8"]}}`)
	e.Route("norec", "/norec", up, `{"real-ip":{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.1","10.0.0.0/8"]}}`)
	e.Route("header", "/header", up, `{"real-ip":{"source":"http_x_real_ip"}}`)
	e.Route("arg", "/arg", up, `{"real-ip":{"source":"arg_realip"}}`)
	e.Route("restricted", "/restricted", up, `{"real-ip":{"source":"http_x_forwarded_for"},"ip-restriction":{"blacklist":["1.2.3.0/24"]}}`)

	for _, tc := range []struct {
		desc, target string
		hdr          []string
		realIP       string // what the upstream sees as X-Real-IP
		xff          string // and as X-Forwarded-For
	}{
		{"single address", "/xff", []string{"X-Forwarded-For", "1.2.3.4"}, "1.2.3.4", "1.2.3.4, 1.2.3.4"},
		{"last of a list", "/xff", []string{"X-Forwarded-For", "10.0.0.1,  1.2.3.4"}, "1.2.3.4", "10.0.0.1,  1.2.3.4, 1.2.3.4"},
		{"last header of several", "/xff", []string{"X-Forwarded-For", "9.9.9.9", "X-Forwarded-For", "10.0.0.1, 5.5.5.5"}, "5.5.5.5",
			"9.9.9.9, 10.0.0.1, 5.5.5.5, 5.5.5.5"},
		{"IPv6", "/xff", []string{"X-Forwarded-For", "2001:db8::1"}, "2001:db8::1", "2001:db8::1, 2001:db8::1"},
		{"with a port", "/xff", []string{"X-Forwarded-For", "1.2.3.4:5678"}, "1.2.3.4", "1.2.3.4:5678, 1.2.3.4"},
		{"bracketed IPv6 with a port", "/xff", []string{"X-Forwarded-For", "[2001:db8::2]:80"}, "2001:db8::2", "[2001:db8::2]:80, 2001:db8::2"},
		{"bad port", "/xff", []string{"X-Forwarded-For", "1.2.3.4:70000"}, "127.0.0.1", "1.2.3.4:70000, 127.0.0.1"},
		{"not an address", "/xff", []string{"X-Forwarded-For", "unknown"}, "127.0.0.1", "unknown, 127.0.0.1"},
		{"no header", "/xff", nil, "127.0.0.1", "127.0.0.1"},
		{"trusted peer", "/trusted", []string{"X-Forwarded-For", "1.2.3.4"}, "1.2.3.4", "1.2.3.4, 1.2.3.4"},
		{"untrusted peer", "/untrusted", []string{"X-Forwarded-For", "1.2.3.4"}, "127.0.0.1", "1.2.3.4, 127.0.0.1"},
		{"recursive skips trusted hops", "/rec", []string{"X-Forwarded-For", "5.6.7.8, 6.6.6.6, 10.0.0.2, 10.0.0.3"}, "6.6.6.6",
			"5.6.7.8, 6.6.6.6, 10.0.0.2, 10.0.0.3, 6.6.6.6"},
		{"recursive, all trusted", "/rec", []string{"X-Forwarded-For", "10.1.1.1, 10.0.0.2"}, "10.1.1.1", "10.1.1.1, 10.0.0.2, 10.1.1.1"},
		{"not recursive", "/norec", []string{"X-Forwarded-For", "5.6.7.8, 10.0.0.3"}, "10.0.0.3", "5.6.7.8, 10.0.0.3, 10.0.0.3"},
		{"other header", "/header", []string{"X-Real-IP", "9.8.7.6"}, "9.8.7.6", "9.8.7.6"},
		{"query argument", "/arg?realip=[::1]:8080", nil, "::1", "::1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.Get(tc.target, tc.hdr...)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			s := r.Seen(t)
			if got := s.Header("X-Real-Ip"); got != tc.realIP {
				t.Errorf("X-Real-IP %q, want %q", got, tc.realIP)
			}
			if got := s.Header("X-Forwarded-For"); got != tc.xff {
				t.Errorf("X-Forwarded-For %q, want %q", got, tc.xff)
			}
		})
	}

	t.Run("later plugins see the real address", func(t *testing.T) {
		r := e.Get("/restricted", "X-Forwarded-For", "1.2.3.4")
		if r.Status != 403 || r.Body != `{"message":"Your IP address is not allowed"}`+"\n" {
			t.Errorf("%d %q", r.Status, r.Body)
		}
		if r := e.Get("/restricted", "X-Forwarded-For", "4.3.2.1"); r.Status != 200 {
			t.Errorf("%d %q", r.Status, r.Body)
		}
	})
}
