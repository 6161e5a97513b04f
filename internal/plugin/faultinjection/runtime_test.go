package faultinjection_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/plugin/traffic"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestAbort(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	tests := []struct {
		desc   string
		conf   string
		hdr    []string
		status int
		body   string
		header [2]string
		ctype  string
	}{
		{
			desc:   "body and headers with variables",
			conf:   `{"abort":{"http_status":403,"body":"Fault Injection! $remote_addr\n","headers":{"X-Fault":"for ${http_x_user}","X-Num":7}}}`,
			hdr:    []string{"X-User", "jack"},
			status: 403, body: "Fault Injection! 127.0.0.1\n", header: [2]string{"X-Fault", "for jack"},
		},
		{
			desc:   "numeric header value",
			conf:   `{"abort":{"http_status":403,"body":"x","headers":{"X-Num":7}}}`,
			status: 403, body: "x", header: [2]string{"X-Num", "7"},
		},
		{
			desc:   "no body: nginx's page",
			conf:   `{"abort":{"http_status":502}}`,
			status: 502, body: string(plugin.ErrorPage(502)), ctype: traffic.HTMLType,
		},
		{
			desc:   "empty body",
			conf:   `{"abort":{"http_status":500,"body":""}}`,
			status: 500, body: "",
		},
		{
			desc:   "percentage 100",
			conf:   `{"abort":{"http_status":429,"body":"no","percentage":100}}`,
			status: 429, body: "no",
		},
		{
			desc:   "percentage 0: never",
			conf:   `{"abort":{"http_status":429,"body":"no","percentage":0}}`,
			status: 200,
		},
		{
			desc:   "vars: one of the expressions matches",
			conf:   `{"abort":{"http_status":401,"body":"vars","vars":[[["arg_name","==","jack"]],[["http_x_user","==","rose"]]]}}`,
			hdr:    []string{"X-User", "rose"},
			status: 401, body: "vars",
		},
		{
			desc:   "vars: none matches",
			conf:   `{"abort":{"http_status":401,"body":"vars","vars":[[["arg_name","==","jack"]]]}}`,
			hdr:    []string{"X-User", "rose"},
			status: 200,
		},
		{
			desc:   "vars: an empty list matches nothing",
			conf:   `{"abort":{"http_status":401,"body":"vars","vars":[]}}`,
			status: 200,
		},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			uri := fmt.Sprintf("/f/%d", i)
			e.Put(fmt.Sprintf("/routes/f%d", i), fmt.Sprintf(`{"uri":%q,"plugins":{"fault-injection":%s},"upstream":%s}`, uri, tc.conf, up.Upstream()))
			hits := up.Hits()
			r := e.Get(uri, tc.hdr...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%q)", r.Status, tc.status, r.Body)
			}
			if tc.status == 200 {
				if up.Hits() != hits+1 {
					t.Error("upstream not called")
				}
				return
			}
			if up.Hits() != hits {
				t.Error("upstream called on abort")
			}
			if r.Body != tc.body {
				t.Errorf("body %q, want %q", r.Body, tc.body)
			}
			if tc.header[0] != "" && r.Header.Get(tc.header[0]) != tc.header[1] {
				t.Errorf("%s: %q, want %q", tc.header[0], r.Header.Get(tc.header[0]), tc.header[1])
			}
			if tc.ctype != "" && r.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestPercentage(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/p", fmt.Sprintf(`{"uri":"/p","plugins":{"fault-injection":{"abort":{"http_status":503,"body":"x","percentage":50}}},"upstream":%s}`, up.Upstream()))
	aborted := 0
	const n = 200
	for range n {
		if e.Get("/p").Status == 503 {
			aborted++
		}
	}
	// Binomial(200, 0.5): sd ≈ 7; this range is more than 5 sd wide.
	if aborted < 60 || aborted > 140 {
		t.Errorf("%d of %d aborted at 50%%", aborted, n)
	}
}

func TestDelay(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/d", fmt.Sprintf(`{"uri":"/d","plugins":{"fault-injection":{"delay":{"duration":0.8,"vars":[[["arg_slow","==","1"]]]},
		"abort":{"http_status":418,"body":"after delay","vars":[[["arg_abort","==","1"]]]}}},"upstream":%s}`, up.Upstream()))
	if r := e.Get("/d?slow=1"); r.Status != 200 || r.Took < 800*time.Millisecond {
		t.Errorf("delayed: %d after %v", r.Status, r.Took)
	}
	if r := e.Get("/d"); r.Status != 200 || r.Took > 600*time.Millisecond {
		t.Errorf("not delayed: %d after %v", r.Status, r.Took)
	}
	// Delay first, then abort.
	if r := e.Get("/d?slow=1&abort=1"); r.Status != 418 || r.Body != "after delay" || r.Took < 800*time.Millisecond {
		t.Errorf("delay then abort: %d %q after %v", r.Status, r.Body, r.Took)
	}
}

func TestBadVarsRejectedAtWrite(t *testing.T) {
	e := edgetest.New(t)
	code, body := e.Admin("PUT", "/routes/1", `{"uri":"/v","upstream":{"nodes":{"127.0.0.1:1":1}},"plugins":{"fault-injection":{"abort":{"http_status":403,"vars":[[["arg_x","bad-op","1"]]]}}}}`)
	if code != 400 || !strings.Contains(body, "fault-injection") || !strings.Contains(body, "bad-op") {
		t.Errorf("%d %s", code, body)
	}
}
