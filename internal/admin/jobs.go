package admin

import (
	"errors"
	"net/http"

	"github.com/stargate-edge/stargate/internal/jobs"
)

// The jobs API.
//
//	GET    /jobs         newest first; status, type, page, page_size
//	GET    /jobs/{id}
//	DELETE /jobs/{id}    not while running (400)

func (s *Server) serveJobs(w http.ResponseWriter, r *http.Request, segs []string) error {
	if err := needOperator(r.Context()); err != nil {
		return err
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	switch {
	case len(segs) == 0:
		if method != http.MethodGet {
			return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for jobs", r.Method)
		}
		return s.listJobs(w, r)
	case len(segs) > 1 || segs[0] == "":
		return errMsg(http.StatusNotFound, "not found")
	}
	id := segs[0]
	switch method {
	case http.MethodGet:
		j, err := jobs.Get(r.Context(), s.st, id)
		if err != nil {
			return storeError(err)
		}
		s.writeJSON(w, http.StatusOK, j)
		return nil
	case http.MethodDelete:
		err := jobs.Delete(r.Context(), s.st, id)
		switch {
		case errors.Is(err, jobs.ErrRunning):
			return badRequest("job %s is running: it can be deleted once it has completed or failed", id)
		case err != nil:
			return storeError(err)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"message": "The job was removed"})
		return nil
	}
	return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for a job", r.Method)
}

type jobSummary struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status, typ := q.Get("status"), q.Get("type")
	switch status {
	case "", jobs.StatusWaiting, jobs.StatusRunning, jobs.StatusCompleted, jobs.StatusFailed:
	default:
		return badRequest("status must be waiting, running, completed or failed")
	}
	switch typ {
	case "", jobs.TypePurge, jobs.TypeWarm:
	default:
		return badRequest("type must be cache_purge or cache_warm")
	}
	page, size, err := entryPaging(q)
	if err != nil {
		return err
	}
	all, err := jobs.List(r.Context(), s.st)
	if err != nil {
		return storeError(err)
	}
	var matched []jobSummary
	for _, j := range all {
		if (status == "" || j.Status == status) && (typ == "" || j.Type == typ) {
			matched = append(matched, jobSummary{ID: j.ID, Type: j.Type, Status: j.Status, CreatedAt: j.CreatedAt})
		}
	}
	out := []jobSummary{}
	for i := (page - 1) * size; i < len(matched) && len(out) < size; i++ {
		out = append(out, matched[i])
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"total": len(matched), "jobs": out})
	return nil
}
