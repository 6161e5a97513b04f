package plugin

// When an APISIX plugin ends a request with a status and no body, nginx
// answers with its built-in page for that status, which APISIX signs with
// a "Powered by APISIX" line. Exit(status, nil) does the same, so clients
// that scrape these pages see what they saw under APISIX. Statuses nginx
// has no page for get an empty body.

var pageTitles = map[int]string{
	301: "301 Moved Permanently", 302: "302 Found", 303: "303 See Other",
	307: "307 Temporary Redirect", 308: "308 Permanent Redirect",
	400: "400 Bad Request", 401: "401 Authorization Required", 402: "402 Payment Required",
	403: "403 Forbidden", 404: "404 Not Found", 405: "405 Not Allowed",
	406: "406 Not Acceptable", 408: "408 Request Time-out", 409: "409 Conflict",
	410: "410 Gone", 411: "411 Length Required", 412: "412 Precondition Failed",
	413: "413 Request Entity Too Large", 414: "414 Request-URI Too Large",
	415: "415 Unsupported Media Type", 416: "416 Requested Range Not Satisfiable",
	421: "421 Misdirected Request", 429: "429 Too Many Requests",
	500: "500 Internal Server Error", 501: "501 Not Implemented", 502: "502 Bad Gateway",
	503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out",
	505: "505 HTTP Version Not Supported", 507: "507 Insufficient Storage",
}

var pages = func() map[int][]byte {
	m := make(map[int][]byte, len(pageTitles))
	for code, title := range pageTitles {
		m[code] = []byte("<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n" +
			"<center><h1>" + title + "</h1></center>\r\n<hr><center>openresty</center>\r\n" +
			"<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p></body>\r\n</html>\r\n")
	}
	return m
}()

// ErrorPage is nginx's page for a status, nil when nginx sends none.
func ErrorPage(status int) []byte { return pages[status] }
