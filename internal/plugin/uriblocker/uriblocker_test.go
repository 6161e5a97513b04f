package uriblocker_test

import (
	"strings"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// page403 is nginx's error page as APISIX sends it when a plugin exits
// with a status and no body.
const page403 = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n" +
	"<center><h1>403 Forbidden</h1></center>\r\n<hr><center>openresty</center>\r\n" +
	"<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p></body>\r\n</html>\r\n"

func TestURIBlocker(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Route("one", "/one", up, `{"uri-blocker":{"block_rules":["aa"]}}`)
	e.Route("many", "/many", up, `{"uri-blocker":{"block_rules":["aa","bb","c\\d+"]}}`)
	e.Route("sql", "/sql", up, `{"uri-blocker":{"block_rules":["select.+(from|limit)","(?:(union(.*?)select))"]}}`)
	e.Route("msg", "/msg", up, `{"uri-blocker":{"block_rules":["aa"],"rejected_msg":"access is not allowed"}}`)
	e.Route("ci", "/ci", up, `{"uri-blocker":{"block_rules":["AA"],"rejected_msg":"access is not allowed","case_insensitive":true}}`)
	e.Route("cs", "/cs", up, `{"uri-blocker":{"block_rules":["AA"]}}`)
	e.Route("code", "/code", up, `{"uri-blocker":{"block_rules":["secret"],"rejected_code":404}}`)
	e.Route("anchor", "/*", up, `{"uri-blocker":{"block_rules":["^/internal/"]}}`)

	const msg = `{"error_msg":"access is not allowed"}` + "\n"
	for _, tc := range []struct {
		desc, target string
		status       int
		body         string
	}{
		{"hit in the query", "/one?aa=1", 403, page403},
		{"miss", "/one?bb=2", 200, ""},
		{"second rule", "/many?x=bb", 403, page403},
		{"second rule as a key", "/many?bb=2", 403, page403},
		{"regex rule", "/many?c1=2", 403, page403},
		{"no rule", "/many?cc=2", 200, ""},
		{"sql injection", "/sql?name=;select%20from%20sys", 403, page403},
		{"sql injection, second rule", "/sql?name=;union%20select%20", 403, page403},
		{"sql, harmless", "/sql?cc=2", 200, ""},
		{"rejected_msg", "/msg?aa=1", 403, msg},
		{"case insensitive", "/ci?aa=1", 403, msg},
		{"case sensitive by default", "/cs?aa=1", 200, ""},
		{"case sensitive hit", "/cs?AA=1", 403, page403},
		{"rejected_code", "/code?q=secret", 404, "<html>\r\n<head><title>404 Not Found</title></head>"},
		{"anchored rule", "/internal/x?aa=1", 403, page403},
		{"dot segment cannot bypass", "/./internal/x?aa=1", 403, page403},
		{"double slash cannot bypass", "//internal/x", 403, page403},
		{"dot-dot cannot bypass", "/public/../internal/x", 403, page403},
		{"anchored rule, other path", "/public/x", 200, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.Raw("GET " + tc.target + " HTTP/1.1\nHost: x\nConnection: close\n\n")
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.Status, tc.status, r.Body)
			}
			if tc.status == 200 {
				r.Seen(t)
				return
			}
			if !strings.HasPrefix(r.Body, tc.body) {
				t.Errorf("body %q, want %q", r.Body, tc.body)
			}
			wantCT := "text/html; charset=utf-8"
			if strings.HasPrefix(tc.body, "{") {
				wantCT = "application/json"
			}
			if ct := r.Header.Get("Content-Type"); ct != wantCT {
				t.Errorf("Content-Type %q, want %q", ct, wantCT)
			}
		})
	}
}

func TestURIBlockerValidation(t *testing.T) {
	e := edgetest.New(t)
	for _, tc := range []struct{ desc, conf, want string }{
		{"bad regex", `{"block_rules":[".+("]}`, `pcre_compile() failed: missing closing ) in \".+(\"`},
		{"bad second regex", `{"block_rules":["^a","^b("]}`, `missing closing ) in \"^b(\"`},
		{"empty message", `{"block_rules":["^a"],"rejected_msg":""}`, `property \"rejected_msg\" validation failed: string too short, expected at least 1, got 0`},
		{"message type", `{"block_rules":["^a"],"rejected_msg":true}`, `property \"rejected_msg\" validation failed: wrong type: expected string, got boolean`},
		{"no rules", `{}`, `property \"block_rules\" is required`},
		{"duplicate rules", `{"block_rules":["a","a"]}`, `expected unique items`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			code, body := e.Admin("PUT", "/routes/bad", `{"uri":"/x","plugins":{"uri-blocker":`+tc.conf+`}}`)
			if code != 400 || !strings.Contains(body, "failed to check the configuration of plugin uri-blocker err: ") ||
				!strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want 400 with %s", code, body, tc.want)
			}
		})
	}
}
