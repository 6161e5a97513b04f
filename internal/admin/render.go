package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/stargate-edge/stargate/internal/store"
)

// apiError is an error with the exact status and body to send.
type apiError struct {
	status int
	body   any
	plain  string // sent as text/plain when set (APISIX's page_size message)
	cause  error  // logged, never sent
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d: %v", e.status, e.cause)
	}
	b, _ := json.Marshal(e.body)
	return fmt.Sprintf("%d: %s", e.status, b)
}

func (e *apiError) Unwrap() error { return e.cause }

// errMsg is the usual {"error_msg": ...} error.
func errMsg(status int, format string, args ...any) *apiError {
	return &apiError{status: status, body: map[string]any{"error_msg": fmt.Sprintf(format, args...)}}
}

func badRequest(format string, args ...any) *apiError {
	return errMsg(http.StatusBadRequest, format, args...)
}

// notFound is APISIX's body for a missing key; its field is "message".
func notFound() *apiError {
	return &apiError{status: http.StatusNotFound, body: map[string]any{"message": "Key not found"}}
}

// storeError maps a store failure: missing keys are 404, a lost
// compare-and-swap is APISIX's 503 "value changed before overwritten", and
// an unreachable store is 503 too (APISIX never answers 409).
func storeError(err error) *apiError {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound()
	case errors.Is(err, store.ErrConflict):
		return &apiError{status: http.StatusServiceUnavailable, body: map[string]any{"error_msg": "value changed before overwritten"}, cause: err}
	default:
		return &apiError{status: http.StatusServiceUnavailable, body: map[string]any{"error_msg": "store unavailable"}, cause: err}
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		s.log.Error("admin: encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error_msg":"internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// renderError is the single place errors become responses.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.status >= 500 {
			s.log.Error("admin: request failed", "method", r.Method, "path", r.URL.Path, "status", ae.status, "err", err)
		}
		if ae.plain != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(ae.status)
			_, _ = w.Write([]byte(ae.plain))
			return
		}
		s.writeJSON(w, ae.status, ae.body)
		return
	}
	s.log.Error("admin: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	s.writeJSON(w, http.StatusInternalServerError, map[string]any{"error_msg": "internal server error"})
}
