package realip_test

import (
	"testing"
)

func TestRealIP(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.route("xff", "/xff", up, `{"real-ip":{"source":"http_x_forwarded_for"}}`)
	e.route("trusted", "/trusted", up, `{"real-ip":{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.0/24"]}}`)
	e.route("untrusted", "/untrusted", up, `{"real-ip":{"source":"http_x_forwarded_for","trusted_addresses":["10.0.0.0/8","::1"]}}`)
	e.route("rec", "/rec", up, `{"real-ip":{"source":"http_x_forwarded_for","recursive":true,"trusted_addresses":["127.0.0.1","10.0.0.0/8"]}}`)
	e.route("norec", "/norec", up, `{"real-ip":{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.1","10.0.0.0/8"]}}`)
	e.route("header", "/header", up, `{"real-ip":{"source":"http_x_real_ip"}}`)
	e.route("arg", "/arg", up, `{"real-ip":{"source":"arg_realip"}}`)
	e.route("restricted", "/restricted", up, `{"real-ip":{"source":"http_x_forwarded_for"},"ip-restriction":{"blacklist":["1.2.3.0/24"]}}`)

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
			r := e.get(tc.target, tc.hdr...)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			s := r.saw(t)
			if got := s.Header.Get("X-Real-Ip"); got != tc.realIP {
				t.Errorf("X-Real-IP %q, want %q", got, tc.realIP)
			}
			if got := s.Header.Get("X-Forwarded-For"); got != tc.xff {
				t.Errorf("X-Forwarded-For %q, want %q", got, tc.xff)
			}
		})
	}

	t.Run("later plugins see the real address", func(t *testing.T) {
		r := e.get("/restricted", "X-Forwarded-For", "1.2.3.4")
		if r.status != 403 || r.body != `{"message":"Your IP address is not allowed"}`+"\n" {
			t.Errorf("%d %q", r.status, r.body)
		}
		if r := e.get("/restricted", "X-Forwarded-For", "4.3.2.1"); r.status != 200 {
			t.Errorf("%d %q", r.status, r.body)
		}
	})
}
