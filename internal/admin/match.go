package admin

import (
	"net/http"
)

// serveMatch answers GET /debug/match?method=&host=&uri=&remote_addr=:
// which route would serve that request, with its merged service, plugins
// and upstream (APISIX users ask for this, #6368).
func (s *Server) serveMatch(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for debug match", r.Method)
	}
	if s.opts.Matcher == nil {
		return errMsg(http.StatusNotFound, "not found")
	}
	q := r.URL.Query()
	method := q.Get("method")
	if method == "" {
		method = http.MethodGet
	}
	uri := q.Get("uri")
	if uri == "" || uri[0] != '/' {
		return badRequest("invalid argument uri: must start with /")
	}
	remote := q.Get("remote_addr")
	if remote == "" {
		remote = "127.0.0.1"
	}
	res, ok := s.opts.Matcher.Match(method, q.Get("host"), uri, remote)
	if !ok {
		if res == nil {
			res = map[string]any{"error_msg": "404 Route Not Found"}
		}
		s.writeJSON(w, http.StatusNotFound, res)
		return nil
	}
	s.writeJSON(w, http.StatusOK, res)
	return nil
}
