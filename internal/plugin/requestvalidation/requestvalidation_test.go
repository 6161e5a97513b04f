package requestvalidation_test

import (
	"strconv"
	"strings"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

const bodySchema = `{"type":"object","required":["required_payload"],"properties":{` +
	`"required_payload":{"type":"string"},"boolean_payload":{"type":"boolean"},` +
	`"timeouts":{"type":"integer","minimum":1,"maximum":254,"default":3},` +
	`"req_headers":{"type":"array","minItems":1,"items":{"type":"string"}}}}`

func page(title string) string {
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>openresty</center>\r\n" +
		"<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p></body>\r\n</html>\r\n"
}

func TestRequestValidation(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Route("body", "/body", up, `{"request-validation":{"body_schema":`+bodySchema+`}}`)
	e.Route("header", "/header", up, `{"request-validation":{"header_schema":{"type":"object",`+
		`"required":["required_payload","Content-Type"],"properties":{"required_payload":{"type":"string","enum":["a","b"]}}}}}`)
	e.Route("hmsg", "/hmsg", up, `{"request-validation":{"header_schema":{"type":"object","properties":{"test":{"type":"string",`+
		`"enum":["a","b","c"]}},"required":["test"]},"rejected_msg":"customize reject message for header_schema.required"}}`)
	e.Route("bmsg", "/bmsg", up, `{"request-validation":{"body_schema":{"type":"object","properties":{"test":{"type":"string",`+
		`"enum":["a","b","c"]}},"required":["test"]},"rejected_msg":"customize reject message for body_schema.required"}}`)
	e.Route("bcode", "/bcode", up, `{"request-validation":{"body_schema":{"type":"object","required":["test"]},"rejected_code":505}}`)
	e.Route("form", "/form", up, `{"request-validation":{"body_schema":{"type":"object","required":["required_payload"],`+
		`"properties":{"required_payload":{"type":"string"}}}}}`)
	e.Route("dup", "/dup", up, `{"request-validation":{"body_schema":{"type":"object","required":["required_payload"],`+
		`"properties":{"required_payload":{"type":"string"}}},"rejected_code":400,"rejected_msg":"duplicated content-type"}}`)
	e.Route("array", "/array", up, `{"request-validation":{"body_schema":{"type":"array","items":{"type":"integer"}}}}`)

	json := []string{"Content-Type", "application/json"}
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	formBody := strings.Repeat("a=b&", 101) + "required_payload=101-hello"
	for _, tc := range []struct {
		desc, method, path, body string
		hdr                      []string
		status                   int
		want                     string // rejection body, or the body the upstream saw
		wantPrefix               bool
	}{
		{"body: required missing", "POST", "/body", `{"boolean-payload": true}`, json, 400,
			`property "required_payload" is required`, false},
		{"body: wrong type", "POST", "/body", `{"required_payload": 1}`, json, 400,
			`property "required_payload" validation failed: wrong type: expected string, got number`, false},
		{"body: out of range", "POST", "/body", `{"required_payload":"x","timeouts":300}`, json, 400,
			`property "timeouts" validation failed: expected 300 to be smaller than 254`, false},
		{"body: valid, defaults filled in", "POST", "/body", `{"boolean-payload": true,"required_payload": "hello"}`, json, 200,
			`{"boolean-payload":true,"required_payload":"hello","timeouts":3}`, false},
		{"body: the checked JSON is what goes upstream", "POST", "/body",
			`{"required_payload":"a","required_payload":"<b>&","timeouts":1.0e2}`, json, 200,
			`{"required_payload":"<b>&","timeouts":1.0e2}`, false},
		{"body: not JSON", "POST", "/body", `{"a":`, json, 400, `Expected `, true},
		{"body: none", "GET", "/body", "", nil, 400, page("400 Bad Request"), false},
		{"body: JSON is the default type", "POST", "/body", `{"required_payload":"x"}`, nil, 200,
			`{"required_payload":"x","timeouts":3}`, false},
		{"body: top-level array", "POST", "/array", `[1,2,"x"]`, json, 400,
			`failed to validate item 3: wrong type: expected integer, got string`, false},
		{"body: top-level array ok", "POST", "/array", `[1, 2]`, json, 200, `[1,2]`, false},
		{"header: missing", "GET", "/header", "", json, 400, `property "required_payload" is required`, false},
		{"header: names are case-insensitive", "GET", "/header", "", []string{"Required_Payload", "a"}, 400,
			`property "Content-Type" is required`, false},
		{"header: bad value", "GET", "/header", "", append([]string{"required_payload", "z"}, json...), 400,
			`property "required_payload" validation failed: matches none of the enum values`, false},
		{"header: valid", "GET", "/header", "", append([]string{"required_payload", "a"}, json...), 200, "", false},
		{"header: rejected_msg", "GET", "/hmsg", "", nil, 400, "customize reject message for header_schema.required", false},
		{"header: rejected_msg, bad value", "GET", "/hmsg", "", []string{"test", "abc"}, 400,
			"customize reject message for header_schema.required", false},
		{"header: rejected_msg route passes", "GET", "/hmsg", "", []string{"test", "a"}, 200, "", false},
		{"body: rejected_msg, empty body", "GET", "/bmsg", "", nil, 400, "customize reject message for body_schema.required", false},
		{"body: rejected_msg, bad value", "POST", "/bmsg", `{"test":"abc"}`, nil, 400,
			"customize reject message for body_schema.required", false},
		{"body: rejected_msg route passes", "POST", "/bmsg", `{"test":"a"}`, nil, 200, `{"test":"a"}`, false},
		{"rejected_code, empty body", "GET", "/bcode", "", nil, 505, page("505 HTTP Version Not Supported"), false},
		{"rejected_code, bad body", "POST", "/bcode", `{}`, nil, 505, `property "test" is required`, false},
		{"form body", "POST", "/form", formBody, form, 200, formBody, false},
		{"form body, charset and mixed case", "POST", "/form", formBody,
			[]string{"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=utf-8"}, 200, formBody, false},
		{"form body missing the field", "POST", "/form", "a=b&c", form, 400, `property "required_payload" is required`, false},
		{"form body, repeated key", "POST", "/form", "required_payload=a&required_payload=b", form, 400,
			`property "required_payload" validation failed: wrong type: expected string, got array`, false},
		{"form body, key without value", "POST", "/form", "required_payload", form, 400,
			`property "required_payload" validation failed: wrong type: expected string, got boolean`, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.Do(tc.method, tc.path, tc.body, tc.hdr...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%q)", r.Status, tc.status, r.Body)
			}
			if tc.status == 200 {
				if tc.want != "" {
					if got := r.Seen(t).Body; got != tc.want {
						t.Errorf("upstream saw %q, want %q", got, tc.want)
					}
				}
				return
			}
			if got := r.Body; got != tc.want && !(tc.wantPrefix && strings.HasPrefix(got, tc.want)) {
				t.Errorf("body %q, want %q", got, tc.want)
			}
			if strings.HasPrefix(tc.want, "<html>") && r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}

	t.Run("duplicated Content-Type", func(t *testing.T) {
		for _, order := range [][2]string{
			{"application/x-www-form-urlencoded", "application/json"},
			{"application/json", "application/x-www-form-urlencoded"},
		} {
			body := `{"required_payload": "hello"}`
			r := e.Raw("POST /dup HTTP/1.1\nHost: x\nConnection: close\nContent-Type: " + order[0] +
				"\nContent-Type: " + order[1] + "\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body)
			if r.Status != 400 || r.Body != "duplicated content-type" {
				t.Errorf("%v: %d %q", order, r.Status, r.Body)
			}
		}
	})

	t.Run("chunked body", func(t *testing.T) {
		r := e.Raw("POST /body HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\n" +
			"Transfer-Encoding: chunked\n\n10\n{\"required_paylo\n9\nad\":\"ok\"}\n0\n\n")
		if r.Status != 200 {
			t.Fatalf("%d %q", r.Status, r.Body)
		}
		s := r.Seen(t)
		if s.Body != `{"required_payload":"ok","timeouts":3}` || s.Header("Content-Length") != "38" {
			t.Errorf("upstream saw %q, Content-Length %q", s.Body, s.Header("Content-Length"))
		}
	})
}
