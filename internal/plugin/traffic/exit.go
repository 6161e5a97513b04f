package traffic

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// statusLines are nginx's texts for its special response pages
// (ngx_http_special_response.c).
var statusLines = map[int]string{
	301: "301 Moved Permanently",
	302: "302 Found",
	303: "303 See Other",
	307: "307 Temporary Redirect",
	308: "308 Permanent Redirect",
	400: "400 Bad Request",
	401: "401 Authorization Required",
	402: "402 Payment Required",
	403: "403 Forbidden",
	404: "404 Not Found",
	405: "405 Not Allowed",
	406: "406 Not Acceptable",
	408: "408 Request Time-out",
	409: "409 Conflict",
	410: "410 Gone",
	411: "411 Length Required",
	412: "412 Precondition Failed",
	413: "413 Request Entity Too Large",
	414: "414 Request-URI Too Large",
	415: "415 Unsupported Media Type",
	416: "416 Requested Range Not Satisfiable",
	421: "421 Misdirected Request",
	429: "429 Too Many Requests",
	494: "400 Request Header Or Cookie Too Large",
	495: "400 The SSL certificate error",
	496: "400 No required SSL certificate was sent",
	497: "400 The plain HTTP request was sent to HTTPS port",
	500: "500 Internal Server Error",
	501: "501 Not Implemented",
	502: "502 Bad Gateway",
	503: "503 Service Temporarily Unavailable",
	504: "504 Gateway Time-out",
	505: "505 HTTP Version Not Supported",
	507: "507 Insufficient Storage",
}

var pages = func() map[int][]byte {
	m := make(map[int][]byte, len(statusLines))
	for code, line := range statusLines {
		m[code] = []byte("<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n" +
			"<center><h1>" + line + "</h1></center>\r\n<hr><center>openresty</center>\r\n" +
			`<p><em>Powered by <a href="https://apisix.apache.org/">APISIX</a>.</em></p></body>` + "\r\n</html>\r\n")
	}
	return m
}()

// HTMLType is the Content-Type of the error pages.
const HTMLType = "text/html; charset=utf-8"

// ErrorPage is the body APISIX (nginx) sends when a plugin returns only a
// status code: the HTML page of a known error status, nil otherwise.
func ErrorPage(status int) []byte { return pages[status] }

// MessageBody is APISIX's `{ error_msg = msg }` as core.response.exit
// encodes it: JSON without HTML escaping, with a trailing newline.
func MessageBody(msg string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error_msg": msg})
	return b.Bytes()
}

var contentType = []string{HTMLType}

// Exit ends the request as a plugin's `return status, body` does in
// APISIX; a nil body means nginx's page for the status (and its
// Content-Type unless `_meta.error_response` replaced the page).
func Exit(c *plugin.Ctx, status int, body []byte) {
	if body != nil {
		c.Exit(status, body)
		return
	}
	page := ErrorPage(status)
	if page == nil {
		page = []byte{}
	}
	c.Exit(status, page)
	if _, _, sent := c.Exited(); len(page) > 0 && len(sent) > 0 && &sent[0] == &page[0] {
		if c.RespHeader == nil {
			c.RespHeader = make(map[string][]string)
		}
		c.RespHeader["Content-Type"] = contentType
	}
}

// FormatNumber writes a number as Lua's tostring does ("%.14g").
func FormatNumber(f float64) string {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}
