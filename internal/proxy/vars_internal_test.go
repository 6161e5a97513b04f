package proxy

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
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

// TestForwardedValuesMatchOutbound: plugin.ForwardedValues (what the
// cache keys Vary variants on) is what outbound actually sends.
func TestForwardedValuesMatchOutbound(t *testing.T) {
	for _, c := range []struct {
		desc, prior, remote, scheme string
	}{
		{"no prior hop", "", "10.0.0.9", "http"},
		{"a prior hop", "192.0.2.1", "10.0.0.9", "https"},
		{"two prior fields", "192.0.2.1|192.0.2.2", "::1", "http"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "http://site.example/x", nil)
			r.Host = "site.example:8080"
			if c.prior != "" {
				r.Header["X-Forwarded-For"] = strings.Split(c.prior, "|")
			}
			rv := &reqVars{r: r, host: "site.example", remote: c.remote, scheme: c.scheme}
			pc := &plugin.Ctx{Req: r, Vars: rv}
			up := &upstream.Upstream{}
			out, _, _ := (&Handler{}).outbound(r, up, &upstream.Node{Addr: "127.0.0.1:1"}, rv, nil, nil)
			got := plugin.ForwardedValues(pc)
			for i, f := range plugin.ForwardedFields {
				if v := out.Header[f]; len(v) != 1 || v[0] != got[i] {
					t.Errorf("%s: outbound sends %q, ForwardedValues says %q", f, v, got[i])
				}
			}
		})
	}
}
