package redirect_test

import (
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func page(title string) string {
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>openresty</center>\r\n" +
		"<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p></body>\r\n</html>\r\n"
}

func TestRedirect(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Route("vars", "/vars/*", up, `{"redirect":{"uri":"/new${uri}?from=$arg_from&host=$host&none=$nope","ret_code":301}}`)
	e.Route("lit", "/lit", up, `{"redirect":{"uri":"/lit/\\$host/$/x\\y"}}`)
	e.Route("append", "/append", up, `{"redirect":{"uri":"/target","append_query_string":true}}`)
	e.Route("append2", "/append2", up, `{"redirect":{"uri":"/target?a=b","append_query_string":true,"ret_code":307}}`)
	e.Route("regex", "/re/*", up, `{"redirect":{"regex_uri":["^/re/(\\w+)/(.*)","/dst/$2/$1"],"ret_code":303}}`)
	e.Route("enc", "/enc/*", up, `{"redirect":{"regex_uri":["^/enc/(.*)","/dst/$1?k=a b"],"encode_uri":true}}`)
	e.Route("https", "/https", up, `{"redirect":{"http_to_https":true}}`)
	e.Route("code200", "/ok", up, `{"redirect":{"uri":"/elsewhere","ret_code":200}}`)

	for _, tc := range []struct {
		desc, method, target string
		hdr                  []string
		status               int
		location             string // "": no redirect
		body                 string
	}{
		{"variables", "GET", "/vars/a?from=me", []string{"Host", "Example.COM:8080"}, 301,
			"/new/vars/a?from=me&host=example.com&none=", page("301 Moved Permanently")},
		{"escaped dollar stays literal", "GET", "/lit", nil, 302, `/lit/\$host/$/xy`, page("302 Found")},
		{"append query string", "GET", "/append?x=1&y=2", nil, 302, "/target?x=1&y=2", page("302 Found")},
		{"append, no query", "GET", "/append", nil, 302, "/target", page("302 Found")},
		{"append to a query", "GET", "/append2?x=1", nil, 307, "/target?a=b&x=1", page("307 Temporary Redirect")},
		{"regex_uri", "GET", "/re/abc/def/g", nil, 303, "/dst/def/g/abc", page("303 See Other")},
		{"regex_uri without a match proxies", "GET", "/re/", nil, 200, "", ""},
		{"encode_uri", "GET", "/enc/a%20b%C3%A9", nil, 302, "/dst/a%20b%C3%A9?k=a b", page("302 Found")},
		{"http_to_https GET", "GET", "/https?q=1", []string{"Host", "api.example.com"}, 301,
			"https://api.example.com/https?q=1", page("301 Moved Permanently")},
		{"http_to_https HEAD", "HEAD", "/https", []string{"Host", "api.example.com"}, 301,
			"https://api.example.com/https", ""},
		{"http_to_https POST", "POST", "/https?q=1", []string{"Host", "api.example.com"}, 308,
			"https://api.example.com/https?q=1", page("308 Permanent Redirect")},
		{"http_to_https behind a TLS proxy", "GET", "/https", []string{"X-Forwarded-Proto", "https"}, 200, "", ""},
		{"ret_code without a page", "GET", "/ok", nil, 200, "/elsewhere", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.Do(tc.method, tc.target, "", tc.hdr...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%q)", r.Status, tc.status, r.Body)
			}
			if got := r.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.location == "" {
				r.Seen(t)
				return
			}
			if r.Body != tc.body {
				t.Errorf("body %q, want %q", r.Body, tc.body)
			}
			if tc.body != "" && r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}
}
