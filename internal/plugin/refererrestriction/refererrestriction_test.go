package refererrestriction_test

import (
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestRefererRestriction(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Route("white", "/white", up, `{"referer-restriction":{"whitelist":["*.xx.com","yy.com","[::1]"]}}`)
	e.Route("bypass", "/bypass", up, `{"referer-restriction":{"whitelist":["yy.com"],"bypass_missing":true,"message":"go away"}}`)
	e.Route("black", "/black", up, `{"referer-restriction":{"blacklist":["*.xx.com","bad.com"]}}`)
	e.Route("star", "/star", up, `{"referer-restriction":{"whitelist":["*"]}}`)

	const denied = `{"message":"Your referer host is not allowed"}` + "\n"
	const custom = `{"message":"go away"}` + "\n"
	for _, tc := range []struct {
		desc, path, referer string // referer "": none sent
		status              int
		body                string
	}{
		{"wildcard subdomain", "/white", "http://www.xx.com/page", 200, ""},
		{"wildcard deeper subdomain", "/white", "https://a.b.xx.com", 200, ""},
		{"wildcard does not match the bare domain", "/white", "http://xx.com/", 403, denied},
		{"exact host", "/white", "https://yy.com/x?y=1", 200, ""},
		{"exact host with port", "/white", "http://yy.com:8080/", 200, ""},
		{"schemaless", "/white", "//yy.com/a", 200, ""},
		{"IPv6 literal", "/white", "http://[::1]:9080/", 200, ""},
		{"other host", "/white", "http://zz.com/", 403, denied},
		{"suffix is not a subdomain match", "/white", "http://eviyy.com/", 403, denied},
		{"hosts compare case-sensitively", "/white", "http://YY.com/", 403, denied},
		{"no scheme is malformed", "/white", "yy.com", 403, denied},
		{"other scheme is malformed", "/white", "ftp://yy.com/", 403, denied},
		{"missing", "/white", "", 403, denied},
		{"missing with bypass", "/bypass", "", 200, ""},
		{"malformed with bypass", "/bypass", "not a url", 200, ""},
		{"custom message", "/bypass", "http://zz.com", 403, custom},
		{"blacklist wildcard hit", "/black", "http://a.xx.com", 403, denied},
		{"blacklist exact hit", "/black", "https://bad.com/x", 403, denied},
		{"blacklist miss", "/black", "http://good.com", 200, ""},
		{"blacklist, missing", "/black", "", 403, denied},
		{"star allows all", "/star", "http://anything.example", 200, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var hdr []string
			if tc.referer != "" {
				hdr = []string{"Referer", tc.referer}
			}
			r := e.Get(tc.path, hdr...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.Status, tc.status, r.Body)
			}
			if tc.status == 200 {
				if got := r.Seen(t).Header("Referer"); got != tc.referer {
					t.Errorf("upstream saw Referer %q", got)
				}
				return
			}
			if r.Body != tc.body || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("rejection %q (%s), want %q", r.Body, r.Header.Get("Content-Type"), tc.body)
			}
		})
	}
}
