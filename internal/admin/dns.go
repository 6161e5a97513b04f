package admin

import "net/http"

// serveDNS answers /dns/... (zones and records); see the DNS issue.
func (s *Server) serveDNS(w http.ResponseWriter, r *http.Request, segs []string) error {
	return errMsg(http.StatusNotFound, "not found")
}
