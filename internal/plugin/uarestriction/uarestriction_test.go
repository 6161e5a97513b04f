package uarestriction_test

import (
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestUARestriction(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Route("deny", "/deny", up, `{"ua-restriction":{"denylist":["my-bot1","(Baiduspider)/(\\d+)\\.(\\d+)"]}}`)
	e.Route("allow", "/allow", up, `{"ua-restriction":{"allowlist":["my-bot1","(Baiduspider)/(\\d+)\\.(\\d+)"],"bypass_missing":true,"message":"Do you want to do something bad?"}}`)
	e.Route("bypass", "/bypass", up, `{"ua-restriction":{"denylist":["curl"],"bypass_missing":true}}`)

	const denied = `{"message":"Not allowed"}` + "\n"
	const custom = `{"message":"Do you want to do something bad?"}` + "\n"
	for _, tc := range []struct {
		desc, path string
		uas        []string // nil: no User-Agent header
		status     int
		body       string
	}{
		{"denylist hit", "/deny", []string{"my-bot1"}, 403, denied},
		{"denylist regex hit", "/deny", []string{"Baiduspider/3.0"}, 403, denied},
		{"denylist, one of several values", "/deny", []string{"foo", "my-bot1"}, 403, denied},
		{"denylist, all values denied", "/deny", []string{"my-bot1", "Baiduspider/1.0"}, 403, denied},
		{"denylist miss", "/deny", []string{"foo/bar"}, 200, ""},
		{"denylist, several misses", "/deny", []string{"foo", "bar"}, 200, ""},
		{"missing, no bypass", "/deny", nil, 403, denied},
		{"allowlist hit", "/allow", []string{"my-bot1"}, 200, ""},
		{"allowlist regex hit", "/allow", []string{"Baiduspider/1.0"}, 200, ""},
		{"allowlist, one of several values", "/allow", []string{"foo", "my-bot1"}, 200, ""},
		{"allowlist miss", "/allow", []string{"foo/bar"}, 403, custom},
		{"allowlist, missing with bypass", "/allow", nil, 200, ""},
		{"denylist, missing with bypass", "/bypass", nil, 200, ""},
		{"denylist, substring match", "/bypass", []string{"curl/8.0"}, 403, denied},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var r edgetest.Result
			switch len(tc.uas) {
			case 0:
				r = e.Get(tc.path, "User-Agent", "<none>")
			case 1:
				r = e.Get(tc.path, "User-Agent", tc.uas[0])
			default: // Go's client sends one User-Agent at most
				req := "GET " + tc.path + " HTTP/1.1\nHost: x\nConnection: close\n"
				for _, ua := range tc.uas {
					req += "User-Agent: " + ua + "\n"
				}
				r = e.Raw(req + "\n")
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.Status, tc.status, r.Body)
			}
			if tc.status != 200 {
				if r.Body != tc.body {
					t.Errorf("body %q, want %q", r.Body, tc.body)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				return
			}
			if got := r.Seen(t).Path; got != tc.path {
				t.Errorf("upstream saw path %q", got)
			}
		})
	}
}
